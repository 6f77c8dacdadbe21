"""A bank mistake's chapter, run in the judge's own process behind the worker's interface.

The mistakes are the instructor's code, so the judge may run them itself (no sandbox, no process
to start); but the hidden tests must see exactly what a worker would have shown them, or a
student's failure could never equal a mistake's. So the chapter is served by the worker's own
request handler (grader/sandbox/worker.py: its encoder, its decoder, its description of an
exception) and read back by the judge's own Session (grader/remote.py): copies of plain data,
handles for objects, the same call labels and the same messages. Only the transport differs.
"""

from __future__ import annotations

import contextlib
import io
import json
import linecache
import random
import signal
import sys
import threading
import types
from pathlib import Path
from typing import Any, Callable, Iterator

from ..remote import Remote, Session, StudentFault
from ..sandbox import worker as worker_side
from ..sandbox.channel import Capture, WorkerGone, WorkerSpec, WorkerTimeout


def load_chapter(source: str, *, file: str, module: str, reference: Path, label: str) -> types.ModuleType:
    """Execute a chapter's source as a fresh module that is not registered in sys.modules.

    Its `__file__` points into the reference folder, so the chapter's own
    `sys.path.insert(0, dirname(__file__))` and `importlib.import_module("01_...")` find the
    reference's earlier chapters, as isolated grading does; sys.path is restored afterwards.
    Tracebacks name the file `<label>/<file>`: the worker keeps only frames of the student's file,
    by its base name, and linecache can still show the mistake's own lines.
    """
    filename = f"<{label}>/{file}"
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    code = compile(source, filename, "exec", dont_inherit=True)
    chapter = types.ModuleType(module)
    chapter.__file__ = str(reference / file)
    saved = list(sys.path)
    try:
        exec(code, chapter.__dict__)
    finally:
        sys.path[:] = saved
    return chapter


class _Expired(BaseException):
    """A local request ran past its time; raised by SIGALRM inside the mistake's code."""


@contextlib.contextmanager
def _alarm(seconds: float) -> Iterator[types.SimpleNamespace]:
    """Interrupt the block after `seconds` (main thread only: elsewhere signals cannot be used,
    and the chapter's total time limit, checked between requests, is the only bound)."""
    state = types.SimpleNamespace(armed=True, fired=False)
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield state
        return

    def expire(signum: int, frame: Any) -> None:
        if state.armed:
            state.fired = True
            raise _Expired()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.001))
    try:
        yield state
    finally:
        state.armed = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class _InProcessWorker(worker_side.Worker):
    """The worker's request handler, importing the chapter from source instead of from a file."""

    def __init__(self, load: Callable[[], types.ModuleType], student_files: tuple[str, ...]):
        super().__init__(student_files)
        self._load = load

    def perform(self, request: dict) -> Any:
        if request["op"] == "import":
            return self._load()
        return super().perform(request)


class LocalChannel:
    """Stands where a Channel to a worker process would: one request, one answer, as JSON."""

    def __init__(self, handler: _InProcessWorker, stdout: Capture, stderr: Capture):
        self.handler, self.stdout, self.stderr = handler, stdout, stderr
        self.alive = True
        self.cleanup_seconds = 0.0
        # A worker has its own global random generator; the mistake's code must neither see nor
        # move the judge's (its Layer constructors call random.seed).
        self._random = random.Random().getstate()

    def request(self, message: dict, timeout: float) -> dict:
        if not self.alive:
            raise WorkerGone("the in-process chapter was stopped")
        wire = json.loads(json.dumps(message))
        out, err = io.StringIO(), io.StringIO()
        judge_random = random.getstate()
        random.setstate(self._random)
        expired = False
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), _alarm(timeout) as alarm:
                response = self.handler.answer(wire)
            expired = alarm.fired
        except _Expired:
            expired = True
        finally:
            self._random = random.getstate()
            random.setstate(judge_random)
            self.stdout.add(out.getvalue().encode("utf-8", "replace"))
            self.stderr.add(err.getvalue().encode("utf-8", "replace"))
        if expired:
            self.kill()
            raise WorkerTimeout()
        raised = response.get("raised")
        if isinstance(raised, dict) and raised.get("type") == "KeyboardInterrupt":
            raise KeyboardInterrupt  # the person at the keyboard, not the mistake's code
        return json.loads(json.dumps(response, allow_nan=False))

    def kill(self) -> None:
        self.alive = False
        self.handler = None  # what the chapter created goes with it, as with a worker's death


class LocalSession(Session):
    """The judge's Session, talking to an in-process chapter instead of a worker process.

    Everything a hidden test uses (calls, attributes, keep/fetch, training, output marks, the
    last call's label) is Session's own code; only starting the "worker" differs. `budget` is the
    chapter's total time, as `chapter_timeout` is for a worker.
    """

    def __init__(self, load: Callable[[], types.ModuleType], *, module: str, file: str,
                 request_timeout: float, budget: float):
        spec = WorkerSpec(workdir=Path("/dev/null/in-process"), student_files=(file,), tier="process", cpu_seconds=0,
                          memory_bytes=0)
        super().__init__(spec, module, request_timeout=request_timeout, chapter_timeout=budget,
                         output_bytes=64 << 10)
        self._load = load

    def prestart(self) -> None:
        """Nothing to launch ahead: the chapter runs in this process. (Session.prestart would start a
        real worker on this stand-in's placeholder folder, the current directory, which a worker
        takes over and empties when it ends.)"""

    def _start(self) -> None:
        # As Session._start, with the in-process channel; a restart re-imports the chapter.
        if self.channel is not None:
            self.restarts += 1
        self.generation += 1
        self.channel = LocalChannel(_InProcessWorker(self._load, self.spec.student_files),
                                    self.stdout, self.stderr)
        try:
            handle = self._send({"op": "import", "module": self.module}, f"import {self.module}")
        except StudentFault as fault:
            self._import_fault = fault
            raise
        self._module = Remote(self, handle._handle, "module", label="")
