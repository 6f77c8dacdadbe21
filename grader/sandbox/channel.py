"""The judge's end of one worker process: JSON lines over a dedicated pipe, a wall-clock deadline
on every request, and the student's stdout/stderr drained into capped buffers.

A single select() loop does everything, so a worker that floods its output, stops reading its
requests or never answers can block the judge for no longer than the deadline.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from .tiers import worker_command

MAX_RESPONSE = 64 << 20  # bytes in one answer line; a bigger one is treated as a crash


class WorkerGone(Exception):
    """The worker died (or was killed) before answering."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class WorkerTimeout(Exception):
    """The worker did not answer within the deadline; it has been killed."""


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
class WorkerSpec:
    """Everything needed to start a worker for one chapter."""

    workdir: Path
    student_files: tuple[str, ...]
    tier: str
    cpu_seconds: int
    memory_bytes: int
    file_bytes: int = 16 << 20
    open_files: int = 64


def _scrubbed_env(workdir: Path) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "HOME": str(workdir), "LANG": "C.UTF-8", "TMPDIR": str(workdir)}


class Channel:
    """One live worker process."""

    def __init__(self, spec: WorkerSpec, stdout: Capture, stderr: Capture):
        self.stdout, self.stderr = stdout, stderr
        request_r, self._request_w = os.pipe()
        self._response_r, response_w = os.pipe()
        config = json.dumps({
            "request_fd": request_r, "response_fd": response_w, "workdir": str(spec.workdir),
            "student_files": list(spec.student_files),
            "limits": {"cpu_seconds": spec.cpu_seconds, "memory_bytes": spec.memory_bytes,
                       "file_bytes": spec.file_bytes, "open_files": spec.open_files},
        })
        try:
            self.process = subprocess.Popen(
                worker_command(spec.tier, spec.workdir, config),
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                pass_fds=(request_r, response_w), start_new_session=True,
                env=_scrubbed_env(spec.workdir), cwd=spec.workdir,
            )
        finally:
            os.close(request_r)
            os.close(response_w)
        for fd in (self._request_w, self._response_r, self.process.stdout.fileno(), self.process.stderr.fileno()):
            os.set_blocking(fd, False)
        self._pending = b""
        self._streams = {self.process.stdout.fileno(): stdout, self.process.stderr.fileno(): stderr}
        self.alive = True

    def request(self, message: dict, timeout: float) -> dict:
        """Send one request and wait at most `timeout` seconds for its answer."""
        if not self.alive:
            raise WorkerGone("the worker is no longer running")
        deadline = time.monotonic() + max(0.0, timeout)
        outgoing = memoryview(json.dumps(message, allow_nan=False, separators=(",", ":")).encode() + b"\n")
        while True:
            if b"\n" in self._pending:
                line, self._pending = self._pending.split(b"\n", 1)
                self._drain_streams()
                try:
                    return json.loads(line)
                except (ValueError, RecursionError):
                    self.kill()
                    raise WorkerGone("the worker sent a malformed answer") from None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.kill()
                raise WorkerTimeout()
            readers = [self._response_r, *self._open_streams()]
            writers = [self._request_w] if outgoing else []
            ready_r, ready_w, _ = select.select(readers, writers, [], remaining)
            if ready_w:
                try:
                    outgoing = outgoing[os.write(self._request_w, outgoing):]
                except BrokenPipeError:
                    outgoing = memoryview(b"")
            for fd in ready_r:
                if fd == self._response_r:
                    self._read_response()
                else:
                    self._read_stream(fd)

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
        for fd in list(self._streams):
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
            raise WorkerGone(_describe_exit(status))
        self._pending += chunk
        if len(self._pending) > MAX_RESPONSE:
            self.kill()
            raise WorkerGone("the answer was larger than the grader accepts")

    def _reap(self) -> int | None:
        try:
            status = self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            status = None
        self.kill()
        return status

    def kill(self) -> None:
        """Kill the worker's whole process group and release the pipes."""
        if not self.alive:
            return
        self.alive = False
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for fd in list(self._streams):
            self._read_stream(fd)
        for fd in (self._request_w, self._response_r):
            try:
                os.close(fd)
            except OSError:
                pass
        self.process.stdout.close()
        self.process.stderr.close()


def _describe_exit(status: int | None) -> str:
    if status is None:
        return "the worker stopped answering"
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
