"""The judge's end of one worker process: JSON lines over a dedicated pipe, a wall-clock deadline
on every request, and the student's stdout/stderr drained into capped buffers.

A single select() loop does everything, so a worker that floods its output, stops reading its
requests or never answers can block the judge for no longer than the deadline. Everything read
from the worker is bounded: an answer line (MAX_RESPONSE), each captured stream (its Capture's
cap). Killing a worker kills its process group, then sweeps for anything it left behind.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .cputime import CpuWatch
from .identity import SandboxUser, allocate_user
from .sweep import clear_folder, kill_session, kill_user, remove_files_of
from .tiers import plan_launch

# Bytes in one answer line; a bigger one is treated as a crash. Real answers are a few kilobytes
# (the largest, a chapter-7 network's weights, about 100 KB); the worker refuses to encode more
# than 6 MiB. What json.loads builds from a line is bounded too: 8 MiB of "[[],[],...]" would be
# 2.8 million lists (200 MB, twice that once decoded), so a line may open at most MAX_CONTAINERS
# lists and objects (the worker sends at most 200,000 values) and holds at most ~2 million numbers.
MAX_RESPONSE = 8 << 20
MAX_CONTAINERS = 250_000
PROBE_TIMEOUT = 20.0


class WorkerGone(Exception):
    """The worker died (or was killed) before answering."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class WorkerTimeout(Exception):
    """The worker did not answer within the deadline; it has been killed."""

    def __init__(self, cpu: float | None = None):
        super().__init__()
        self.cpu = cpu  # CPU seconds the request had used, when it was being measured


class WorkerOverCpu(WorkerTimeout):
    """The worker used more CPU time than the request allowed; it has been killed."""


@dataclass
class Capture:
    """Bytes a worker wrote to one of its standard streams, kept up to a cap."""

    cap: int
    data: bytearray = field(default_factory=bytearray)
    seen: int = 0

    def add(self, chunk: bytes) -> None:
        self.seen += len(chunk)
        room = self.cap - len(self.data)
        if room > 0:
            self.data += chunk[:room]

    @property
    def truncated(self) -> bool:
        return self.seen > len(self.data)


@dataclass(frozen=True)
class SealedModule:
    """A module the worker installs before any student code runs: compiled code (marshal bytes of
    this interpreter) with no file behind it. How earlier reference chapters reach a worker."""

    module: str     # the name it is imported by
    file: str       # the file name a chapter of that name would have (its `__file__` is there)
    code: bytes


@dataclass(frozen=True)
class WorkerSpec:
    """Everything needed to start a worker for one chapter."""

    workdir: Path
    student_files: tuple[str, ...]
    tier: str
    cpu_seconds: int
    memory_bytes: int
    sealed: tuple[SealedModule, ...] = ()  # installed, in this order, before the chapter is imported
    files: tuple[tuple[str, bytes], ...] = ()  # written into its folder by the worker, before that
    file_bytes: int = 16 << 20     # largest file it may write
    open_files: int = 64
    disk_bytes: int = 64 << 20     # bwrap tier: size of the tmpfs that is its only writable folder

    @property
    def launch_key(self) -> tuple:
        """What a worker's launch depends on: two specs with the same key can use the same kind of
        worker, started before its files and modules are known (grader/sandbox/standby.py)."""
        return (self.tier, self.cpu_seconds, self.memory_bytes, self.file_bytes, self.open_files, self.disk_bytes)


def _scrubbed_env(workdir: str) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "HOME": workdir, "LANG": "C.UTF-8", "TMPDIR": workdir}


class Channel:
    """One live worker process."""

    pipelined = True  # answers a chain of requests step by step (remote.Chain)

    def __init__(self, spec: WorkerSpec, stdout: Capture, stderr: Capture, *, probe: bool = False):
        self.stdout, self.stderr = stdout, stderr
        self.tier, self.workdir = spec.tier, spec.workdir
        # What its folder holds before any student code runs; the rest is the worker's to lose.
        self.original_files = frozenset(p.name for p in spec.workdir.iterdir() if p.is_file())
        self.user: SandboxUser | None = allocate_user()
        launch = plan_launch(spec.tier, spec.workdir, self.user, spec.disk_bytes)
        request_r, self._request_w = os.pipe()
        self._response_r, response_w = os.pipe()
        config = json.dumps({
            "request_fd": request_r, "response_fd": response_w, "workdir": launch.workdir,
            "student_files": list(spec.student_files), "probe": probe,
            "user": {"uid": self.user.uid, "gid": self.user.gid} if self.user else None,
            "reach_through_descriptors": launch.reach_through_descriptors, "tmpfs": launch.tmpfs,
            "limits": {"cpu_seconds": spec.cpu_seconds, "memory_bytes": spec.memory_bytes,
                       "file_bytes": spec.file_bytes, "open_files": spec.open_files,
                       "processes": launch.processes},
        })
        try:
            self.process = subprocess.Popen(
                [*launch.argv, config],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                pass_fds=(request_r, response_w), start_new_session=True,
                env=_scrubbed_env(launch.workdir), cwd=spec.workdir,
            )
        except BaseException:
            os.close(self._request_w)
            os.close(self._response_r)
            raise
        finally:
            os.close(request_r)
            os.close(response_w)
        for fd in (self._request_w, self._response_r, self.process.stdout.fileno(), self.process.stderr.fileno()):
            os.set_blocking(fd, False)
        self._pending = bytearray()
        self._scanned = 0  # how much of _pending is known to hold no newline
        self._ahead = b""  # what the pipe did not yet take of a request sent ahead
        self._streams = {self.process.stdout.fileno(): stdout, self.process.stderr.fileno(): stderr}
        self.alive = True
        self.last_cpu: float | None = None  # CPU seconds of the last request that was measured
        self.cleanup_seconds = 0.0  # how long kill() took: the grader's time, not the student's

    def adopt(self, stdout: Capture, stderr: Capture) -> None:
        """Capture the worker's output into these buffers from now on: a worker started ahead of
        need passes to the session that uses it (nothing of the student's has run before)."""
        self.stdout, self.stderr = stdout, stderr
        out = self.process.stdout.fileno()
        self._streams = {fd: (stdout if fd == out else stderr) for fd in self._streams}

    def request(self, message: dict, timeout: float, cpu_limit: float | None = None) -> dict:
        """Send one request and wait at most `timeout` seconds for its answer (and, given
        `cpu_limit`, let the worker use at most that many seconds of CPU on it)."""
        if not self.alive:
            raise WorkerGone("the worker is no longer running")
        outgoing = json.dumps(message, allow_nan=False, separators=(",", ":")).encode() + b"\n"
        return self.receive(timeout, outgoing, cpu_limit)

    def send_ahead(self, message: dict) -> None:
        """Send a request now and take its answer later (receive): what the pipe does not take at
        once goes out with the next receive, so this never waits for the worker."""
        outgoing = json.dumps(message, allow_nan=False, separators=(",", ":")).encode() + b"\n"
        self._ahead = bytes(self._write(memoryview(self._ahead + outgoing)))

    def receive(self, timeout: float, outgoing: bytes = b"", cpu_limit: float | None = None) -> dict:
        """Write `outgoing`, then wait at most `timeout` seconds for the next answer line."""
        deadline = time.monotonic() + max(0.0, timeout)
        if self._ahead:  # the rest of a request sent ahead goes first
            outgoing, self._ahead = self._ahead + outgoing, b""
        unsent = self._write(memoryview(outgoing))  # most requests fit the pipe: no select() before
        watch = CpuWatch(self.process.pid, cpu_limit) if cpu_limit is not None else None
        while True:
            line = self._next_line()
            if line is not None:
                self._drain_streams()
                self.last_cpu = watch.used() if watch else None
                return self._parse(line)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                used = watch.used() if watch else None
                self.kill()
                raise WorkerTimeout(used)
            if watch and watch.exceeded():
                self.kill()
                raise WorkerOverCpu(watch.last)
            readers = [self._response_r, *self._open_streams()]
            writers = [self._request_w] if unsent else []
            wait = min(remaining, watch.until_next_look()) if watch else remaining
            ready_r, ready_w, _ = select.select(readers, writers, [], wait)
            if ready_w:
                unsent = self._write(unsent)
            for fd in ready_r:
                if fd == self._response_r:
                    self._read_response()
                else:
                    self._read_stream(fd)

    def _write(self, unsent: memoryview) -> memoryview:
        """Write what the request pipe takes now; the rest, to be written when select() says so."""
        if not unsent:
            return unsent
        try:
            return unsent[os.write(self._request_w, unsent):]
        except BlockingIOError:
            return unsent
        except BrokenPipeError:  # the worker is gone: the response pipe's end says why
            return memoryview(b"")

    def _parse(self, line: bytes) -> dict:
        """One answer line as JSON, refusing lines that would cost the judge much memory."""
        if line.count(b"[") + line.count(b"{") > MAX_CONTAINERS:
            self.kill()
            raise WorkerGone("the answer holds more values than the grader accepts")
        try:
            return json.loads(line)
        except (ValueError, RecursionError):  # ValueError includes integers of over 4300 digits
            self.kill()
            raise WorkerGone("the worker sent a malformed answer") from None

    def _next_line(self) -> bytes | None:
        """The first complete answer line, searching only bytes not searched before."""
        end = self._pending.find(b"\n", self._scanned)
        if end < 0:
            self._scanned = len(self._pending)
            return None
        line = bytes(self._pending[:end])
        del self._pending[:end + 1]
        self._scanned = 0
        return line

    def _open_streams(self) -> list[int]:
        return list(self._streams)

    def _read_stream(self, fd: int) -> int:
        """Read what one stream has ready; the number of bytes read (0 at EOF or when empty)."""
        try:
            chunk = os.read(fd, 1 << 16)
        except BlockingIOError:
            return 0
        if not chunk:
            del self._streams[fd]  # closed: stop selecting on it
        if chunk:
            self._streams[fd].add(chunk)
        return len(chunk)

    def _drain_streams(self) -> None:
        # The worker flushes its prints before answering, so they already sit in the pipes.
        # Bounded, because a thread the student started may still be printing.
        if not self._streams:
            return
        # One select() instead of a read per stream: most answers come with nothing printed.
        ready, _, _ = select.select(list(self._streams), [], [], 0)
        for fd in ready:
            budget = 1 << 20
            while budget > 0 and fd in self._streams:
                read = self._read_stream(fd)
                if not read:
                    break
                budget -= read

    def _read_response(self) -> None:
        try:
            chunk = os.read(self._response_r, 1 << 20)
        except BlockingIOError:
            return
        if not chunk:
            status = self._reap()
            raise WorkerGone(_describe_exit(status, self.tier))
        self._pending += chunk
        if len(self._pending) > MAX_RESPONSE:
            self.kill()
            raise WorkerGone("the answer was larger than the grader accepts")

    def _reap(self) -> int | None:
        status = _wait(self.process, 2)
        self.kill()
        return status

    def kill(self) -> None:
        """Kill the worker's whole process group, sweep up what it left, release the pipes."""
        if not self.alive:
            return
        self.alive = False
        started = time.monotonic()
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        _wait(self.process, 5)
        self._sweep()
        for fd in list(self._streams):
            self._read_stream(fd)
        for fd in (self._request_w, self._response_r):
            try:
                os.close(fd)
            except OSError:
                pass
        self.process.stdout.close()
        self.process.stderr.close()
        self.cleanup_seconds = time.monotonic() - started

    def _sweep(self) -> None:
        """Processes that left the group (setsid, double fork), then, on the process tier, the files
        it left in its folder (which the runner's recursive clean-up could choke on) and in the
        shared folders. Under bwrap its folder was a tmpfs, gone with it."""
        if self.user is not None:
            kill_user(self.user)
        elif self.tier == "process":
            kill_session(self.process.pid)
        if self.tier == "process":
            clear_folder(self.workdir, self.original_files)
            if self.user is not None:
                remove_files_of(self.user)


def _wait(process: subprocess.Popen, timeout: float) -> int | None:
    """The process's exit status, once it has exited, or None after `timeout` seconds. Woken by
    the exit itself where the kernel has pidfds: Popen.wait(timeout) polls, sleeping 0.5 ms and
    more between looks, which cost every killed worker a millisecond or more."""
    try:
        pidfd = os.pidfd_open(process.pid)
    except (AttributeError, OSError):  # no pidfds here, or the process is already reaped
        pidfd = None
    if pidfd is not None:
        try:
            select.select([pidfd], [], [], timeout)
        finally:
            os.close(pidfd)
    try:
        return process.wait(timeout=0 if pidfd is not None else timeout)
    except subprocess.TimeoutExpired:
        return None


def probe_worker(tier: str) -> list[str] | str:
    """Start a worker under `tier` that confines itself and reports back: the protections it set up,
    or why it could not start (a string)."""
    with tempfile.TemporaryDirectory(prefix="grade-probe-") as folder:
        spec = WorkerSpec(workdir=Path(folder), student_files=(), tier=tier, cpu_seconds=10,
                          memory_bytes=512 << 20)
        stderr = Capture(4096)
        try:
            channel = Channel(spec, Capture(4096), stderr, probe=True)
        except OSError as error:
            return f"the worker could not be started ({error})"
        try:
            answer = channel.receive(PROBE_TIMEOUT)
        except (WorkerGone, WorkerTimeout) as error:
            channel.kill()
            said = stderr.data.decode(errors="replace").strip().splitlines()
            reason = said[-1] if said else (error.reason if isinstance(error, WorkerGone) else "no answer")
            return reason
        finally:
            channel.kill()
    notes = answer.get("probe") if isinstance(answer, dict) else None
    return [str(n) for n in notes] if isinstance(notes, list) else "the worker answered the probe strangely"


def _describe_exit(status: int | None, tier: str = "process") -> str:
    if status is None:
        return "the worker stopped answering"
    if tier == "bwrap" and 128 < status < 128 + 65:  # bubblewrap reports a signal as 128 + its number
        status = 128 - status
    if status < 0:
        try:
            name = signal.Signals(-status).name
        except ValueError:
            name = f"signal {-status}"
        hints = {"SIGXCPU": " (CPU time limit reached)", "SIGKILL": " (killed: out of time or memory)",
                 "SIGSEGV": " (the interpreter crashed, e.g. recursion too deep)",
                 "SIGXFSZ": " (file size limit reached)"}
        return f"the process was killed by {name}{hints.get(name, '')}"
    return f"the process exited with status {status} instead of answering"
