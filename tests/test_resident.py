"""The resident judge (grader/resident.py): a student's `grade chapter N` is answered by a warm
judge of their own, over a private socket, with the same output, files and exit code as a plain
run; nobody else can reach it, an unsafe folder is never used, and it leaves when idle."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from polling import wait_for
from submissions import assemble

ROOT = Path(__file__).resolve().parent.parent
GRADE = str(Path(sys.executable).parent / "grade")


@pytest.fixture
def runtime():
    folder = Path(tempfile.mkdtemp(prefix="gr-", dir="/tmp"))  # short: a socket's path has ~107 bytes
    yield folder
    for pid_line in subprocess.run(["pgrep", "-f", f"grader.resident serve"], capture_output=True,
                                   text=True).stdout.split():
        try:  # only this test's servers: their environment names this runtime folder
            if str(folder).encode() in Path(f"/proc/{pid_line}/environ").read_bytes():
                os.kill(int(pid_line), signal.SIGTERM)
        except OSError:
            pass
    shutil.rmtree(folder, ignore_errors=True)


def grade(runtime: Path, *args: str, switch: str | None = "1", idle: str = "60") -> subprocess.CompletedProcess:
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "NO_COLOR": "1", "GRADE_RESIDENT_IDLE": idle}
    env.pop("GRADE_RESIDENT", None)
    if switch is not None:
        env["GRADE_RESIDENT"] = switch
    return subprocess.run([GRADE, *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120,
                          stdin=subprocess.DEVNULL)


def served(runtime: Path) -> list[str]:
    return [line for log in runtime.glob("grade-resident-*/judge-*.log") for line in log.read_text().splitlines()
            if ": grade " in line]


def scores(report_dir: Path) -> dict[str, tuple[float, str]]:
    results = json.loads((report_dir / "results.json").read_text())
    return {c["id"]: (c["score"], c["status"]) for ch in results["chapters"] for c in ch["criteria"]}


def test_a_second_run_is_answered_by_the_resident_judge_exactly_as_the_first(runtime, tmp_path):
    buggy = assemble("buggy-ch2-sigmoid-derivative-takes-z", tmp_path / "sub")
    first = grade(runtime, "chapter", "2", "--submission", str(buggy), "--report-dir", str(tmp_path / "a"))
    assert first.returncode == 1 and served(runtime) == []  # ran here, then started the server
    wait_for(lambda: list(runtime.glob("grade-resident-*/judge-*.sock")), 60, "the resident judge's socket")
    second = grade(runtime, "chapter", "2", "--submission", str(buggy), "--report-dir", str(tmp_path / "b"))
    assert second.returncode == 1, second.stdout + second.stderr
    assert len(served(runtime)) == 1 and "grade chapter 2 --submission" in served(runtime)[0]
    assert scores(tmp_path / "a") == scores(tmp_path / "b")
    assert scores(tmp_path / "b")["ch2-sigmoid-derivative"][1] == "failed"
    strip = lambda text: [line for line in text.splitlines() if " · seed " not in line and "results:" not in line
                          and "scorecard:" not in line]
    assert strip(second.stdout) == strip(first.stdout)  # the judge wrote to this command's own stdout
    folder = next(runtime.glob("grade-resident-*"))
    assert folder.stat().st_mode & 0o777 == 0o700


def test_other_users_cannot_reach_it(runtime, tmp_path):
    if os.getuid() != 0:
        pytest.skip("needs root to try as another user")
    grade(runtime, "chapter", "1", "--submission", "reference", "--report-dir", str(tmp_path / "a"))
    path = wait_for(lambda: list(runtime.glob("grade-resident-*/judge-*.sock")), 60, "the socket")[0]
    pid = os.fork()
    if pid == 0:  # as nobody: the private folder stops the connection
        try:
            os.setgid(65534)
            os.setuid(65534)
            with socket.socket(socket.AF_UNIX) as attempt:
                attempt.connect(str(path))
            os._exit(1)
        except PermissionError:
            os._exit(0)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_a_folder_open_to_others_is_never_used(runtime, tmp_path):
    folder = runtime / f"grade-resident-{os.getuid()}"
    folder.mkdir(mode=0o777)
    folder.chmod(0o777)
    done = grade(runtime, "chapter", "1", "--submission", "reference", "--report-dir", str(tmp_path / "a"))
    assert done.returncode == 0
    time.sleep(1)
    assert list(folder.iterdir()) == []  # no socket, no log: no server started there


def test_it_is_off_without_a_terminal_and_leaves_when_idle(runtime, tmp_path):
    done = grade(runtime, "chapter", "1", "--submission", "reference", "--report-dir", str(tmp_path / "a"),
                 switch=None)
    assert done.returncode == 0
    time.sleep(0.5)
    assert not list(runtime.iterdir())  # not a terminal: a plain run, as in CI and batches
    grade(runtime, "chapter", "1", "--submission", "reference", "--report-dir", str(tmp_path / "b"), idle="1")
    sockets = wait_for(lambda: list(runtime.glob("grade-resident-*/judge-*.sock")), 60, "the socket")
    wait_for(lambda: not sockets[0].exists(), 20, "the idle server to leave")


def test_a_socket_left_by_a_killed_server_is_taken_over(tmp_path):
    from grader.resident import _listen

    path = Path(tempfile.mkdtemp(prefix="gr-", dir="/tmp")) / "judge.sock"
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(path))  # bound, never listening, then gone: what SIGKILL leaves behind
    stale.close()
    listener = _listen(path)
    assert listener is not None
    assert _listen(path) is None  # while it serves, a second server backs off
    listener.close()
    shutil.rmtree(path.parent)
