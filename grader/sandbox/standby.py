"""Workers started and confined ahead of need, for a judge that grades again and again (`grade
watch`): when a file is saved, its chapter's worker is already running, sandboxed, and waiting
for its files, which then arrive over the request pipe.

A standby worker has run nothing but the worker's own code: it is a fresh interpreter (started
like any other worker, never forked from the judge) that has confined itself and waits. Each is
used by one session only and then killed with it, so no worker is ever reused across gradings.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from dataclasses import replace
from pathlib import Path

from .channel import Capture, Channel, WorkerSpec


class Standby:
    """A pool of waiting workers, one kind per launch key (WorkerSpec.launch_key)."""

    def __init__(self) -> None:
        self._root = Path(tempfile.mkdtemp(prefix="grade-standby-"))
        self._waiting: dict[tuple, list[Channel]] = {}
        self._specs: dict[tuple, WorkerSpec] = {}
        self._wanted: Counter[tuple] = Counter()   # how many of each kind one grading has needed
        self._taken: list[Channel] = []
        self._count = 0

    def take(self, spec: WorkerSpec) -> Channel | None:
        """A waiting worker that can serve `spec`, now the caller's alone; None when there is none
        (the caller starts one itself, and the next refill() keeps one more of its kind)."""
        key = spec.launch_key
        waiting = self._waiting.get(key)
        while waiting:
            channel = waiting.pop()
            if channel.alive and channel.process.poll() is None:
                self._taken.append(channel)
                return channel
            channel.kill()
        self._specs[key] = spec
        self._wanted[key] += 1
        return None

    def refill(self) -> None:
        """Start the workers the gradings so far will want next time, and forget the folders of
        the ones used since."""
        for channel in self._taken:
            if not channel.alive:
                shutil.rmtree(channel.workdir, ignore_errors=True)
        self._taken = [c for c in self._taken if c.alive]
        for key, wanted in self._wanted.items():
            waiting = self._waiting.setdefault(key, [])
            while len(waiting) < wanted:
                waiting.append(self._start(self._specs[key]))

    def _start(self, spec: WorkerSpec) -> Channel:
        self._count += 1
        folder = self._root / f"worker-{self._count}"
        folder.mkdir()
        # The same launch (launch_key), none of the grading's files or modules: those come later.
        blank = replace(spec, workdir=folder, student_files=(), sealed=(), files=())
        return Channel(blank, Capture(0), Capture(0))

    def close(self) -> None:
        """Kill every waiting worker and remove their folders."""
        for waiting in self._waiting.values():
            for channel in waiting:
                channel.kill()
        self._waiting.clear()
        shutil.rmtree(self._root, ignore_errors=True)
