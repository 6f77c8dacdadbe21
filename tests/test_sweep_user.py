"""Killing what a worker left behind as its sandbox user (grader/sandbox/sweep.py: kill_user): from a
thread that alone takes the user's ids, every process of that user dies, wherever it went, and
the judge keeps its own ids."""

from __future__ import annotations

import os
import subprocess
import threading
import time

import pytest

from grader.sandbox import sweep
from grader.sandbox.identity import SandboxUser, allocate_user

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="sandbox users exist only when the grader runs as root")


def start_as(user: SandboxUser) -> subprocess.Popen:
    """A process of `user` in a session of its own (as a worker's leftover would be)."""
    return subprocess.Popen(["/bin/sleep", "60"], user=user.uid, group=user.gid,
                            extra_groups=[], start_new_session=True, stdin=subprocess.DEVNULL)


def wait_dead(process: subprocess.Popen) -> int | None:
    try:
        return process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        return None


def test_every_process_of_the_user_dies_and_the_judge_keeps_its_ids():
    user, other = allocate_user(), allocate_user()
    assert user is not None and other is not None and user.uid != other.uid
    mine, bystander = [start_as(user), start_as(user)], start_as(other)
    try:
        time.sleep(0.2)
        sweep.kill_user(user)
        assert [wait_dead(p) for p in mine] == [-9, -9]
        assert bystander.poll() is None           # another user's process is untouched
        assert (os.getuid(), os.geteuid(), os.getresuid()) == (0, 0, (0, 0, 0))
        # the thread that became the user is gone (other tests of the suite may leave threads of their own)
        assert [t for t in threading.enumerate() if t.name == "sandbox-sweep"] == []
    finally:
        bystander.kill()
        bystander.wait()


def test_without_the_system_call_a_child_does_it(monkeypatch):
    user = allocate_user()
    monkeypatch.setattr(sweep, "SETRESUID", {})
    process = start_as(user)
    time.sleep(0.2)
    sweep.kill_user(user)
    assert wait_dead(process) == -9
    assert os.geteuid() == 0
