"""A worker slow to start (a loaded machine, a CI runner busy with other jobs) is never charged to
the student: no student code runs before the worker has answered its first request, so that request
gets a start's time (grader/remote.py: Session._send), and a worker that never answers it is the
grader's failure, not a timeout of the student's code. Likewise the time spent killing a worker,
sweeping up the files it left and starting the next one comes back to the chapter (Session._start)."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from grader import remote
from grader.errors import SandboxError
from grader.remote import Session, StudentModule, StudentTimeout
from grader.sandbox import channel
from grader.sandbox.channel import WorkerSpec

CHAPTER = b"def double(x):\n    return 2 * x\n"
REQUEST_TIMEOUT = 0.3


def session_of(folder, code: bytes, chapter_timeout: float = 60) -> Session:
    """A chapter session on the process tier whose file is `code`, with a short request timeout."""
    folder.mkdir()
    spec = WorkerSpec(workdir=folder, student_files=("chapter.py",), tier="process", cpu_seconds=30,
                      memory_bytes=512 << 20, files=(("chapter.py", code),))
    return Session(spec, "chapter", request_timeout=REQUEST_TIMEOUT, chapter_timeout=chapter_timeout,
                   output_bytes=4096)


@pytest.fixture
def stalled(tmp_path):
    """A session whose worker has been launched and then stopped (SIGSTOP) before it could answer."""
    session = session_of(tmp_path / "worker", CHAPTER)
    session.prestart()
    pid = session._ready.process.pid
    os.kill(pid, signal.SIGSTOP)
    try:
        yield session, pid
    finally:
        session.close()


def test_a_worker_that_starts_late_still_grades_the_student(stalled):
    session, pid = stalled
    stall = 4 * REQUEST_TIMEOUT
    threading.Timer(stall, os.kill, (pid, signal.SIGCONT)).start()
    started = time.monotonic()
    assert StudentModule(session).double(21) == 42
    assert time.monotonic() - started >= stall   # it waited past the student's request timeout


def test_a_worker_that_never_starts_is_the_graders_failure(stalled, monkeypatch):
    session, _ = stalled
    monkeypatch.setattr(remote, "PROBE_TIMEOUT", 1.0)
    with pytest.raises(SandboxError, match="did not start within 1 s") as raised:
        StudentModule(session).double(21)
    assert not isinstance(raised.value, StudentTimeout)


def test_the_students_own_code_still_has_the_request_timeout(tmp_path):
    session = session_of(tmp_path / "worker", b"import time\ndef double(x):\n    time.sleep(5)\n    return 2 * x\n")
    try:
        with pytest.raises(StudentTimeout, match="did not finish within 0.3 s"):
            StudentModule(session).double(21)
    finally:
        session.close()


def test_sweeping_up_after_a_killed_worker_is_not_charged_to_the_student(tmp_path, monkeypatch):
    """As the hostile fixture that leaves 15,000 folders does on a loaded runner: the sweep after
    its timeout outlasts the chapter's time limit. The next test must still run."""
    sweep, slept = channel.clear_folder, []

    def slow_sweep(*args, **kwargs):
        time.sleep(1.5)
        slept.append(1.5)
        sweep(*args, **kwargs)

    monkeypatch.setattr(channel, "clear_folder", slow_sweep)
    code = CHAPTER + b"def hang():\n    while True:\n        pass\n"
    session = session_of(tmp_path / "worker", code, chapter_timeout=1.0)
    try:
        session.begin()
        module = StudentModule(session)
        with pytest.raises(StudentTimeout, match="did not finish within 0.3 s"):
            module.hang()
        assert slept, "the killed worker's folder was not swept"
        assert module.double(21) == 42  # not "the chapter's time limit (1 s) was used up before ..."
        assert session.restarts == 1
        # The student's own time still runs out: each hang costs 0.3 s of the chapter's 1 s.
        monkeypatch.setattr(channel, "clear_folder", sweep)
        messages = []
        while len(messages) < 6 and "used up" not in "".join(messages):
            with pytest.raises(StudentTimeout) as late:
                module.hang()
            messages.append(str(late.value))
        assert "time limit (1 s) was used up" in messages[-1], messages
    finally:
        session.close()
