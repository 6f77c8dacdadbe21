"""Warm judges: a fork server that has paid the judge's start-up once (the interpreter, pytest,
Jinja2 and the templates, the hidden tests, the sandbox probes, optionally a course and its
reference) and forks a fresh judge from that state for every grading.

`python -m grader.warm` is the server. Its standard input and output are its control channel,
one JSON object per line:

    -> {"id": 1, "module": "grader", "argv": [...], "cwd": ..., "env": {...},
        "stdin": path | null, "stdout": path, "stderr": path}
    <- {"id": 1, "pid": 4242}                 the judge is running
    <- {"id": 1, "exit": 0}                   it ended (a negative number: killed by that signal)

Each judge is a forked child in a session of its own that runs `module` as `python -m module
argv` would, with that environment, folder and standard streams, and dies with the server. So a
warm judge is a drop-in for a `python -m grader ...` subprocess: same isolation between
gradings (one process each, never reused; student code still runs only in its sandboxed
workers), minus the start-up. `WarmServer` is the client end.

Forking is done by the server's single thread: a fork from a process with other threads could
copy a lock that some other thread held.
"""

from __future__ import annotations

import ctypes
import gc
import importlib
import json
import os
import runpy
import select
import signal
import subprocess
import sys
import threading
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

if TYPE_CHECKING:
    from .course import Course

COURSE_ENV = "GRADE_WARM_COURSE"   # a course.yaml the server pre-loads, reference included
PR_SET_PDEATHSIG = 1
PRELOAD = ("pytest", "yaml", "jinja2", "click", "grader.cli", "grader.grading", "grader.runner", "grader.plugin",
           "grader.prepared", "grader.diagnosis", "grader.report.writer", "grader.report.html", "grader.report.text",
           "grader.release.source", "grader.batch.judge")
_preloaded: Course | None = None   # the course of COURSE_ENV, once preload() has loaded it


# --- the server -------------------------------------------------------------------------------

def preload() -> None:
    """Everything a grading would otherwise load first: modules, compiled templates, the hidden
    test modules (by the names pytest imports them under), the sandbox probes, and the course."""
    for name in PRELOAD:
        importlib.import_module(name)
    from .course import HIDDEN_DIR, load_course
    from .report.html import environment
    from .sandbox.tiers import tier_problem

    for template in ("chapter.html", "index.html"):
        environment().get_template(template)
    for path in sorted(HIDDEN_DIR.glob("test_*.py")):
        importlib.import_module(f"grader.hidden.{path.stem}")
    for tier in ("bwrap", "process"):
        tier_problem(tier)  # cached for every judge forked from here
    if os.environ.get(COURSE_ENV):
        from .reference import LiveReference

        global _preloaded
        course = load_course(Path(os.environ[COURSE_ENV]))
        reference = LiveReference(course)
        for chapter in course.chapters:
            reference.load(chapter.number)
            reference.sealed(chapter.number)
        _preloaded = course


def preloaded_course() -> Course | None:
    """The course this server pre-loaded (COURSE_ENV), its reference imported and sealed, or None.
    A judge forked from here that grades this very course skips loading it again."""
    return _preloaded


def _die_with_parent() -> None:
    try:
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: the client's own timeouts still bound its judges


def _run_judge(request: dict[str, Any]) -> int:
    """In the forked child: become the judge `request` describes and run it. Returns its exit code."""
    streams = [os.open(request.get("stdin") or os.devnull, os.O_RDONLY),
               os.open(request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
               os.open(request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)]
    return become_judge(request, streams)


def become_judge(request: dict[str, Any], streams: list[int]) -> int:
    """In a forked child: take `streams` as standard input, output and error, the request's folder,
    environment and arguments, and run `python -m module argv`. Returns its exit code."""
    os.setsid()
    _die_with_parent()
    for fd, stream in enumerate(streams):
        if stream != fd:
            os.dup2(stream, fd)
            os.close(stream)
    sys.stdin = open(0, encoding="utf-8", closefd=False)
    sys.stdout = open(1, "w", encoding="utf-8", errors="replace", closefd=False, buffering=1)
    sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False, buffering=1)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    import tempfile
    tempfile.tempdir = None  # TMPDIR may have changed
    sys.argv = [request["module"], *request["argv"]]
    try:
        runpy.run_module(request["module"], run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
        if not isinstance(done.code, (int, type(None))):
            print(done.code, file=sys.stderr)
    except BaseException:
        traceback.print_exc()
        code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except OSError:
            pass
    return code


def _send(message: dict[str, Any]) -> None:
    os.write(1, (json.dumps(message) + "\n").encode())


def serve() -> None:
    """Read judge requests on stdin until it closes; fork one judge per request, each with the
    hidden tests' pytest session configured and collected already (grader/prepared.py)."""
    from .prepared import serve as prepared

    _die_with_parent()
    sys.stdout = sys.stderr  # file descriptor 1 is the control channel: nothing else may write there
    preload()
    prepared(_serve_requests)


def _serve_requests() -> None:
    wakeup_r, wakeup_w = os.pipe()
    os.set_blocking(wakeup_w, False)
    signal.set_wakeup_fd(wakeup_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    running: dict[int, Any] = {}  # pid -> request id
    pending = b""
    # Everything loaded so far lives as long as the server: its objects move out of the collector's
    # reach, so a judge's garbage collections look at its own objects only (a full collection of
    # the inherited ones took ~24 ms of every grading), and its pages stay shared with the server.
    gc.collect()
    gc.freeze()
    _send({"ready": os.getpid()})
    while True:
        readable, _, _ = select.select([0, wakeup_r], [], [])
        if wakeup_r in readable:
            os.read(wakeup_r, 4096)
            _reap(running)
        if 0 in readable:
            chunk = os.read(0, 65536)
            if not chunk:
                return  # the client is gone; every judge dies with this process
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                request = json.loads(line)
                pid = os.fork()
                if pid == 0:
                    signal.set_wakeup_fd(-1)
                    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                    os.close(wakeup_r)
                    os.close(wakeup_w)
                    os._exit(_run_judge(request))
                running[pid] = request["id"]
                _send({"id": request["id"], "pid": pid})
        _reap(running)


def ended_children() -> Iterator[tuple[int, int]]:
    """(pid, exit code) of every child of this process that has ended, without waiting."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        yield pid, os.waitstatus_to_exitcode(status)


def _reap(running: dict[int, Any]) -> None:
    for pid, code in ended_children():
        if pid in running:
            _send({"id": running.pop(pid), "exit": code})


# --- the client -------------------------------------------------------------------------------

class WarmServer:
    """A fork server of judges, started from this interpreter with `env` (PYTHONPATH picks which
    grader it runs)."""

    def __init__(self, env: dict[str, str] | None = None, cwd: Path | None = None):
        self.process = subprocess.Popen([sys.executable, "-m", "grader.warm"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, env=env, cwd=cwd, start_new_session=True)
        self._lock = threading.Lock()
        self._ids = iter(range(1, 1 << 62))
        self._judges: dict[int, WarmJudge] = {}
        ready = self._read()
        if ready is None or "ready" not in ready:
            self.process.kill()
            raise RuntimeError("the warm judge server did not start (see its error output above)")
        self.pid = ready["ready"]
        threading.Thread(target=self._listen, name="warm-judges", daemon=True).start()

    def _read(self) -> dict[str, Any] | None:
        line = self.process.stdout.readline()
        return json.loads(line) if line else None

    def _listen(self) -> None:
        while (message := self._read()) is not None:
            with self._lock:
                judge = self._judges.pop(message["id"], None) if "exit" in message else self._judges.get(message["id"])
            if judge is not None:
                judge._update(message)
        for judge in list(self._judges.values()):  # the server died: so did its judges
            judge._update({"exit": -signal.SIGKILL})

    def start(self, module: str, argv: list[str], *, cwd: Path, env: dict[str, str], stdout: Path, stderr: Path,
              stdin: Path | None = None) -> WarmJudge:
        """Run `python -m module argv` as a judge forked from the server; returns once it runs."""
        judge = WarmJudge()
        with self._lock:
            ident = next(self._ids)
            self._judges[ident] = judge
            request = {"id": ident, "module": module, "argv": argv, "cwd": str(cwd), "env": env,
                       "stdin": str(stdin) if stdin else None, "stdout": str(stdout), "stderr": str(stderr)}
            self.process.stdin.write((json.dumps(request) + "\n").encode())
            self.process.stdin.flush()
        judge._started.wait()
        return judge

    def close(self) -> None:
        try:
            self.process.stdin.close()
        except OSError:
            pass
        self.process.wait()


class WarmJudge:
    """One judge forked by a WarmServer: a process in a session of its own, like a Popen."""

    def __init__(self) -> None:
        self.pid = 0
        self.returncode: int | None = None
        self._started = threading.Event()
        self._ended = threading.Event()

    def _update(self, message: dict[str, Any]) -> None:
        if "pid" in message:
            self.pid = message["pid"]
            self._started.set()
        if "exit" in message:
            self.returncode = message["exit"]
            self._started.set()
            self._ended.set()

    def wait(self, timeout: float | None = None) -> int:
        if not self._ended.wait(timeout):
            raise subprocess.TimeoutExpired(f"judge {self.pid}", timeout)
        return self.returncode

    def poll(self) -> int | None:
        return self.returncode

    def kill(self) -> None:
        if self.pid and self.returncode is None:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


_servers: dict[str, WarmServer] = {}
_servers_lock = threading.Lock()


def shared_server(env: dict[str, str] | None = None) -> WarmServer:
    """This process's warm server for the grader and course `env` names (one per PYTHONPATH and
    COURSE_ENV), started on first use."""
    path = (env or os.environ).get("PYTHONPATH", "")
    key = f"{path}\0{(env or os.environ).get(COURSE_ENV, '')}"
    # `python -m` looks in its current folder first: start it where that grader is.
    folder = Path(path.split(os.pathsep)[0]) if path else None
    with _servers_lock:
        server = _servers.get(key)
        if server is None or server.process.poll() is not None:
            server = _servers[key] = WarmServer(env, cwd=folder)
        return server


def run(module: str, argv: list[str], *, cwd: Path, env: dict[str, str], timeout: float) -> tuple[int, str, str]:
    """`python -m module argv` as a warm judge: (exit code, stdout, stderr), as subprocess.run
    with capture_output would give them. After `timeout` seconds the judge is killed (code -1)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="grade-warm-") as folder:
        out, err = Path(folder) / "stdout", Path(folder) / "stderr"
        judge = shared_server(env).start(module, argv, cwd=cwd, env=env, stdout=out, stderr=err)
        try:
            code = judge.wait(timeout)
        except subprocess.TimeoutExpired:
            judge.kill()
            judge.wait()
            return -1, "", f"no result within {timeout:g} s"
        return code, out.read_text(errors="replace"), err.read_text(errors="replace")


if __name__ == "__main__":
    serve()
