"""Clearing up after a worker: the processes it left behind and, on the process tier, the files
it left in its folder and in the machine's shared temporary folders.

The bwrap tier needs little of this (its PID namespace and tmpfs vanish with it); the process
sweep is done there too, because it costs little and the grader should not depend on one
mechanism.
"""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import threading
import uuid
from pathlib import Path
from typing import Callable, Iterator

from .identity import SandboxUser

# Where any user may create files (the process tier cannot hide them); swept by owner.
SHARED_FOLDERS = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")


# setresuid(2) by system call number: glibc's wrapper changes every thread of the process, the
# system call only the thread that makes it (credentials are per thread on Linux).
SETRESUID = {"x86_64": 117, "aarch64": 147}


def kill_user(user: SandboxUser) -> None:
    """SIGKILL every process of the sandbox user, wherever it is (new session, double fork).

    kill(-1) sent *as that user* reaches exactly its processes, in one pass the kernel makes
    atomic with respect to fork: a process being killed can no longer create children. It is sent
    from a short-lived thread that alone becomes the user (real, effective and saved ids, so it
    keeps no capability and can never become root again) and then ends; forking a child of the
    judge for it cost several milliseconds per worker. Where that is not possible, a child does it.
    """
    if not _kill_from_thread(user):
        _kill_from_child(user)


def _kill_as() -> None:
    """kill(-1) twice, as whoever this thread is now (the first pass may race a fork)."""
    for _ in range(2):
        try:
            os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:
            break


def _kill_from_thread(user: SandboxUser) -> bool:
    number = SETRESUID.get(os.uname().machine)
    if number is None:
        return False
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return False
    done: list[bool] = []

    def as_user() -> None:
        # Only this thread's credentials change; if the switch fails, nothing is sent.
        if libc.syscall(number, user.uid, user.uid, user.uid) != 0 or os.geteuid() != user.uid:
            return
        _kill_as()
        done.append(True)

    thread = threading.Thread(target=as_user, name="sandbox-sweep")
    thread.start()
    thread.join()
    return bool(done)


def _kill_from_child(user: SandboxUser) -> None:
    pid = os.fork()
    if pid == 0:  # the child only makes system calls, then leaves without cleanup
        try:
            os.setgroups([])
            os.setresgid(user.gid, user.gid, user.gid)
            os.setresuid(user.uid, user.uid, user.uid)
            _kill_as()
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def _stat_fields(pid: str) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rfind(")") + 2:].split()  # after "pid (comm) ", which may hold spaces


def kill_session(session: int) -> None:
    """SIGKILL what is left in the worker's session (a process that called setsid() escapes this;
    the user sweep above, or bubblewrap's PID namespace, catches it)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(entry.name)
        if fields and len(fields) > 3 and fields[3] == str(session):  # state ppid pgrp session
            try:
                os.kill(int(entry.name), signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def remove_files_of(user: SandboxUser) -> list[str]:
    """Delete what the sandbox user created at the top of the shared folders; returns the paths."""
    removed = []
    for folder in SHARED_FOLDERS:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.stat(follow_symlinks=False).st_uid != user.uid:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)
                removed.append(entry.path)
            except OSError:
                continue
    return removed


def clear_folder(folder: Path, keep: frozenset[str]) -> None:
    """Delete everything in `folder` but the regular files named in `keep`, however deep it goes.

    A worker may nest folders thousands of levels deep, past any recursive delete (Python's
    shutil.rmtree among them) and past PATH_MAX, and make them unreadable. So nothing here
    recurses or builds long paths: emptying a subfolder moves *its* subfolders up into `folder`,
    to be emptied in turn; each folder is opened once.
    """
    top = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    names = (f".swept-{uuid.uuid4().hex}-{n}" for n in itertools.count())
    try:
        pending = []
        for entry in os.scandir(top):
            if entry.is_dir(follow_symlinks=False):
                pending.append(entry.name)
            elif not (entry.name in keep and entry.is_file(follow_symlinks=False)):
                _quietly(os.unlink, entry.name, dir_fd=top)
        while pending:
            pending += _empty_one_level(top, pending.pop(), names)
    finally:
        os.close(top)


def _empty_one_level(top: int, name: str, names: Iterator[str]) -> list[str]:
    """Move the subfolders of `name` up into `top` (returning their new names), delete its files
    and then it."""
    try:
        inner = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=top)
    except PermissionError:  # its owner made it unreadable (root would not have been stopped)
        if not _quietly(os.chmod, name, 0o700, dir_fd=top):
            return []
        return _empty_one_level(top, name, names)
    except OSError:
        return []
    moved = []
    try:
        for entry in list(os.scandir(inner)):
            if entry.is_dir(follow_symlinks=False):
                new_name = next(names)
                if _quietly(os.rename, entry.name, new_name, src_dir_fd=inner, dst_dir_fd=top):
                    moved.append(new_name)
            else:
                _quietly(os.unlink, entry.name, dir_fd=inner)
    finally:
        os.close(inner)
    _quietly(os.rmdir, name, dir_fd=top)
    return moved


def _quietly(action: Callable[..., object], *args: object, **kwargs: object) -> bool:
    try:
        action(*args, **kwargs)
        return True
    except OSError:
        return False
