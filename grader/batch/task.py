"""One submission's task: run its judge in a process of its own (forked from a warm server,
grader/warm.py) under a wall-clock limit and return plain JSON. The local pool and Dask workers
run this same function, so both grade the same way; student code never runs in the process
calling it (it runs in the judge's sandboxed worker).
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import grader

from ..sandbox.identity import SandboxUser, privileged, uids_of
from ..sandbox.sweep import kill_user
from ..warm import COURSE_ENV, WarmJudge, shared_server
from .bundle import course_from_json
from .judge import PARENT_ENV

STDERR_TAIL = 2000    # characters of a failed judge's stderr kept for its reason
SCRATCH_PREFIX = "grade-batch-"

# The judges this process is waiting for, so an interrupted batch can stop them all.
_running: set[WarmJudge] = set()
_running_lock = threading.Lock()
_course_files: dict[str, Path] = {}   # a job course's digest -> its course.yaml, written once
_course_lock = threading.Lock()


def _descendants(root: int) -> list[int]:
    """The processes started, directly or not, by `root` (read before killing it: once it is gone
    its children are re-parented and no longer traceable)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        fields = text[text.rfind(")") + 2:].split()
        if len(fields) > 1 and fields[1].isdigit():
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _kill_tree(process: WarmJudge) -> None:
    """SIGKILL a judge, everything it started, and (as root) every sandbox user it handed out."""
    stray = _descendants(process.pid) if Path("/proc").is_dir() else []
    for pid_or_group, kill in ((process.pid, os.killpg), *((pid, os.kill) for pid in stray)):
        try:
            kill(pid_or_group, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    if privileged():
        # A worker that double-forked out of every group still runs as one of these users.
        for uid in uids_of(process.pid):
            kill_user(SandboxUser(uid, uid))


def kill_judge(process: WarmJudge) -> None:
    _kill_tree(process)
    process.wait()


def kill_running_judges() -> None:
    """Stop every judge this process is waiting for (an interrupted batch); their waiting threads
    then reap them and report the submissions as not graded."""
    with _running_lock:
        running = list(_running)
    for process in running:
        if process.poll() is None:
            _kill_tree(process)


def _server_environment() -> dict[str, str]:
    package_root = str(Path(grader.__file__).resolve().parent.parent)
    path = os.environ.get("PYTHONPATH")
    # The judges import the very grader this process runs, installed or not.
    return {**os.environ, "PYTHONPATH": package_root + (os.pathsep + path if path else "")}


def _course_environment(course: dict[str, Any]) -> dict[str, str]:
    """The warm server's environment for jobs of `course` (job JSON): the course written once per
    process into a folder of its own, which the server pre-loads, so its judges need not parse the
    rubric or import and seal the reference again (each compares the bytes before using it)."""
    key = hashlib.sha256(json.dumps(course, sort_keys=True).encode()).hexdigest()
    with _course_lock:
        path = _course_files.get(key)
        if path is None:
            # Named like a batch's scratch folder: a killed batch's copy is swept up on the next run.
            folder = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-course-"))
            atexit.register(shutil.rmtree, folder, ignore_errors=True)
            path = _course_files[key] = course_from_json(course).materialize(folder / "course").path
    return {**_server_environment(), COURSE_ENV: str(path)}


def _environment(scratch: Path, parent: int) -> dict[str, str]:
    return {**_server_environment(), PARENT_ENV: str(parent),
            # Whatever a killed judge leaves in its temporary folders goes with this scratch folder.
            "TMPDIR": str(scratch)}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale_scratch() -> None:
    """Remove the scratch folders of batches that were killed (SIGKILL leaves no time to clean):
    each is named for the process that made it, so a folder whose process is gone is stale."""
    root = Path(tempfile.gettempdir())
    for folder in root.glob(f"{SCRATCH_PREFIX}*-*"):
        owner = folder.name[len(SCRATCH_PREFIX):].split("-", 1)[0]
        if owner.isdigit() and not _alive(int(owner)):
            shutil.rmtree(folder, ignore_errors=True)


def _reason(code: int, stderr: bytes) -> str:
    lines = [line for line in stderr.decode("utf-8", errors="replace")[-STDERR_TAIL:].splitlines() if line.strip()]
    if lines:
        return lines[-1].removeprefix("grade: ")
    if code < 0:
        return f"the judge was killed by {signal.Signals(-code).name}"
    return f"the judge exited with status {code}"


def grade_task(job: dict[str, Any]) -> dict[str, Any]:
    """Grade one job (bundle.job_json) and return {student, status, files | reason, seconds, host}."""
    student, timeout = job["student"], float(job["timeout"])
    started = time.monotonic()
    answer: dict[str, Any] = {"student": student, "host": socket.gethostname(), "grader_version": grader.__version__}
    with tempfile.TemporaryDirectory(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-") as scratch_name:
        scratch = Path(scratch_name)
        os.chmod(scratch, 0o711)   # sandbox users may pass through to their own work folders
        out, job_file, errors = scratch / "out", scratch / "job.json", scratch / "judge.err"
        job_file.write_text(json.dumps(job), encoding="utf-8")
        # A judge forked from the warm server: a process of its own per submission, as before,
        # without paying the interpreter's and pytest's start-up again.
        server = shared_server(_course_environment(job["course"]))
        process = server.start("grader.batch.judge", [str(out)], cwd=scratch, env=_environment(scratch, server.pid),
                               stdin=job_file, stdout=Path(os.devnull), stderr=errors)
        with _running_lock:
            _running.add(process)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            kill_judge(process)
            return {**answer, "status": "error", "seconds": round(time.monotonic() - started, 3),
                    "reason": f"grading took longer than the limit of {timeout:g} s and was stopped"}
        finally:
            with _running_lock:
                _running.discard(process)
        if process.returncode != 0 or not (out / "results.json").is_file():
            return {**answer, "status": "error", "seconds": round(time.monotonic() - started, 3),
                    "reason": _reason(process.returncode, errors.read_bytes() if errors.is_file() else b"")}
        files = {path.name: path.read_text(encoding="utf-8") for path in sorted(out.iterdir()) if path.is_file()}
    return {**answer, "status": "graded", "files": files, "seconds": round(time.monotonic() - started, 3)}
