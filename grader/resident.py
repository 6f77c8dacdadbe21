"""The resident judge: `grade chapter N` on a student's terminal, answered in a fraction of the
start-up a fresh interpreter pays.

This module is the `grade` entry point. On an interactive terminal (and not in CI), `grade
chapter ...` and `grade all` first try a warm judge of the same user, listening on a private Unix
socket (as dmypy does): the client passes its command line, folder, environment and its three
standard streams (the descriptors themselves), the server forks a judge that runs the command
exactly as `grade` would, output straight to the terminal, and sends back the exit code. When no
server is listening, the command runs here as usual and then starts one in the background for
next time. `GRADE_RESIDENT=0` turns this off, `GRADE_RESIDENT=1` on even off a terminal.

Only the user who started it can reach it: its folder is private (0700, checked), and every
connection's peer credentials must be that user's. It serves one grader: its socket is named for
the interpreter and the grader's files (any change starts a new one), and it leaves after
`GRADE_RESIDENT_IDLE` seconds (default 900) without a request. Student code still never runs in a
judge: each forked judge starts its own sandboxed workers.

The client side imports only the standard library, so that asking costs next to nothing.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

SWITCH_ENV = "GRADE_RESIDENT"
IDLE_ENV = "GRADE_RESIDENT_IDLE"
SERVED = ("chapter", "all")           # the commands a resident judge answers
IDLE_SECONDS = 900.0
MAX_FOLDER = 80                       # characters, leaving room for "/judge-<key>.sock"
PACKAGE = Path(__file__).resolve().parent


# --- where the socket is --------------------------------------------------------------------------

def folder() -> Path:
    base = os.environ.get("XDG_RUNTIME_DIR") or os.environ.get("TMPDIR") or "/tmp"
    path = Path(base) / f"grade-resident-{os.getuid()}"
    # A Unix socket's path holds at most 107 bytes: a deep runtime folder falls back to /tmp.
    return path if len(str(path)) <= MAX_FOLDER else Path("/tmp") / path.name


def private_folder(create: bool) -> Path | None:
    """The user's socket folder, if it is theirs alone (created so when `create`)."""
    path = folder()
    if create:
        try:
            path.mkdir(mode=0o700, exist_ok=True)
        except OSError:
            return None
    try:
        info = path.lstat()
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        return None  # someone else's, or open to others: never trust it
    return path


def grader_key() -> str:
    """The interpreter and every file of the grader, by size and time: a changed grader (an edit,
    an upgrade) answers on a new socket, so an old server never grades with stale code."""
    digest = hashlib.sha256(f"{sys.executable}\0{PACKAGE}\0".encode())
    for path in sorted(PACKAGE.rglob("*")):
        if path.suffix in (".py", ".html", ".css", ".yaml") and "__pycache__" not in path.parts:
            info = path.stat()
            digest.update(f"{path.relative_to(PACKAGE)}\0{info.st_size}\0{info.st_mtime_ns}\0".encode())
    return digest.hexdigest()[:16]


def socket_path(base: Path, key: str) -> Path:
    return base / f"judge-{key}.sock"


# --- the client (the `grade` command) ----------------------------------------------------------

def wanted(argv: list[str]) -> bool:
    if not argv or argv[0] not in SERVED or not hasattr(socket, "send_fds"):
        return False
    switch = os.environ.get(SWITCH_ENV)
    if switch is not None:
        return switch == "1"
    return sys.stdin.isatty() and sys.stdout.isatty() and not os.environ.get("CI")


def ask(argv: list[str], base: Path, key: str) -> int | None:
    """Have the resident judge run `grade argv`; its exit code, or None when none answers."""
    try:
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.connect(str(socket_path(base, key)))
    except OSError:
        return None
    with client:
        request = {"module": "grader", "argv": argv, "cwd": os.getcwd(), "env": dict(os.environ)}
        try:
            socket.send_fds(client, [json.dumps(request).encode() + b"\n"], [0, 1, 2])
            answer = b""
            while not answer.endswith(b"\n"):
                chunk = client.recv(4096)
                if not chunk:
                    return None  # the server went away before the judge ran: run here instead
                answer += chunk
        except KeyboardInterrupt:
            return 130  # closing the connection tells the server to stop the judge
        except OSError:
            return None
    return int(json.loads(answer)["exit"])


def start_server(base: Path, key: str) -> None:
    """A resident judge for next time, detached from this command and its terminal."""
    subprocess.Popen([sys.executable, "-m", "grader.resident", "serve", key], stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=open(base / f"judge-{key}.log", "ab"),
                     start_new_session=True, close_fds=True)


def main() -> None:
    """The `grade` command: through the resident judge when there is one to ask."""
    argv = sys.argv[1:]
    if wanted(argv) and (base := private_folder(create=True)) is not None:
        key = grader_key()
        code = ask(argv, base, key)
        if code is not None:
            sys.exit(code)
        try:
            start_server(base, key)
        except OSError:
            pass  # no resident judge this time; the command itself is all that matters
    from .cli import main as cli_main
    cli_main()


# --- the server ------------------------------------------------------------------------------

def serve(key: str) -> None:
    import select
    import signal
    import time

    from . import warm
    from .prepared import serve as prepared

    base = private_folder(create=True)
    if base is None:
        sys.exit(f"grade: {folder()} is not private to this user; no resident judge")
    warm.preload()
    path = socket_path(base, key)
    listener = _listen(path)
    if listener is None:
        return  # another server for this grader got there first
    _log(f"resident judge {os.getpid()} listening on {path}")
    wakeup_r, wakeup_w = os.pipe()
    os.set_blocking(wakeup_w, False)
    signal.set_wakeup_fd(wakeup_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    idle = float(os.environ.get(IDLE_ENV, IDLE_SECONDS))
    judges: dict[int, socket.socket | None] = {}   # judge pid -> its client's connection (None: gone)
    last = time.monotonic()

    def loop() -> None:
        nonlocal last
        while judges or time.monotonic() - last < idle:
            waiting = [listener, wakeup_r, *filter(None, judges.values())]
            readable, _, _ = select.select(waiting, [], [], max(0.1, idle - (time.monotonic() - last)))
            if wakeup_r in readable:
                os.read(wakeup_r, 4096)
            _finish(judges)
            for connection in [c for c in readable if isinstance(c, socket.socket) and c is not listener]:
                _hang_up(judges, connection)       # the client left (Ctrl-C): stop its judge
            if listener in readable:
                last = time.monotonic()
                _accept(listener, judges, wakeup_r, wakeup_w)

    try:
        prepared(loop)  # each judge forked with the hidden tests' pytest session collected already
    finally:
        path.unlink(missing_ok=True)


def _listen(path: Path) -> socket.socket | None:
    """A listening socket at `path`; None when a live server already answers there. A socket
    file nobody answers on (its server was killed) is removed and taken over."""
    for _ in range(2):
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(str(path))
            listener.listen(8)
            return listener
        except FileExistsError:
            pass
        except OSError as error:
            if error.errno != errno.EADDRINUSE:
                _log(f"cannot listen on {path}: {error}")
                return None
        listener.close()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            try:
                probe.connect(str(path))
                return None
            except OSError:
                path.unlink(missing_ok=True)
    return None


def _accept(listener: socket.socket, judges: dict[int, socket.socket | None], *private: int) -> None:
    connection, _ = listener.accept()
    uid = _peer_uid(connection)
    if uid != os.getuid():
        connection.close()  # only its own user: never a judge for anyone else
        return
    try:
        connection.settimeout(10)
        data, fds, _, _ = socket.recv_fds(connection, 1 << 20, 3)
        while not data.endswith(b"\n"):
            more = connection.recv(1 << 20)
            if not more:
                raise OSError("the request ended early")
            data += more
        request = json.loads(data)
        if len(fds) != 3:
            raise OSError("three standard streams expected")
    except (OSError, ValueError):
        connection.close()
        return
    pid = os.fork()
    if pid == 0:
        import signal

        from .warm import become_judge

        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for fd in private:
            os.close(fd)
        for other in (listener, connection, *filter(None, judges.values())):
            other.close()
        os._exit(become_judge(request, fds))
    for fd in fds:
        os.close(fd)
    judges[pid] = connection
    _log(f"judge {pid}: grade {' '.join(request['argv'])} (in {request['cwd']})")


def _log(line: str) -> None:
    """One line of the server's log (its standard error: judge-KEY.log beside the socket)."""
    import time

    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}", file=sys.stderr, flush=True)


def _peer_uid(connection: socket.socket) -> int:
    import struct

    credentials = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return struct.unpack("3i", credentials)[1]


def _finish(judges: dict[int, socket.socket | None]) -> None:
    """Tell each client whose judge ended its exit code."""
    from .warm import ended_children

    for pid, code in ended_children():
        connection = judges.pop(pid, None)
        _log(f"judge {pid}: exit {code}")
        if connection is not None:
            try:
                connection.sendall(json.dumps({"exit": code}).encode() + b"\n")
            except OSError:
                pass
            connection.close()


def _hang_up(judges: dict[int, socket.socket | None], connection: socket.socket) -> None:
    import signal

    pid = next(p for p, c in judges.items() if c is connection)
    judges[pid] = None
    connection.close()
    try:
        os.killpg(pid, signal.SIGINT)  # as Ctrl-C would have: the judge stops its workers
    except ProcessLookupError:
        pass


if __name__ == "__main__" and sys.argv[1:2] == ["serve"]:
    serve(sys.argv[2])
