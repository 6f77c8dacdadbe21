"""How far a batch has got: a bar with counts and an ETA redrawn in place on a terminal, one plain
line per finished submission otherwise (a CI log, a file). Written to standard error, so
standard output keeps only the summary."""

from __future__ import annotations

import sys
import threading
import time
from typing import Callable, TextIO

from .records import StudentRecord

BAR_CELLS = 24
REDRAW_SECONDS = 1.0   # the bar's clock keeps moving while a long submission is graded


def eta_seconds(elapsed: float, finished: int, remaining: int) -> float | None:
    """Time left at the pace so far (None until something was graded)."""
    if finished <= 0 or remaining <= 0:
        return None if remaining > 0 else 0.0
    return elapsed / finished * remaining


def clock_text(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def bar_line(done: int, total: int, counts: dict[str, int], eta: float | None) -> str:
    filled = BAR_CELLS * done // total if total else BAR_CELLS
    extras = " · ".join(f"{n} {word}" for word, n in counts.items() if n)
    return (f"grading [{'#' * filled}{'.' * (BAR_CELLS - filled)}] {done}/{total}"
            + (f" · {extras}" if extras else "") + f" · ETA {clock_text(eta)}")


def outcome_text(record: StudentRecord) -> str:
    if record.results is not None:
        score = f"{record.results['score']}/{record.results['max_score']}"
        return f"{score} (unchanged since the last run)" if record.reused else f"{score} in {record.seconds:.1f} s"
    return f"{'refused' if record.status == 'refused' else 'not graded'}: {record.reason}"


class Progress:
    def __init__(self, stream: TextIO | None = None, tty: bool | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.clock = clock
        self.total = self.done = self.graded = 0
        self.counts = {"reused": 0, "refused": 0, "not graded": 0}
        self.started = clock()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def start(self, total: int) -> None:
        self.total, self.started = total, self.clock()
        self._draw()
        if self.tty:
            self._ticker = threading.Thread(target=self._tick, name="progress", daemon=True)
            self._ticker.start()

    def _tick(self) -> None:
        while not self._stop.wait(REDRAW_SECONDS):
            self._draw()

    def add(self, record: StudentRecord) -> None:
        with self._lock:
            self._add(record)

    def _add(self, record: StudentRecord) -> None:
        self.done += 1
        if record.reused:
            self.counts["reused"] += 1
        elif record.status == "refused":
            self.counts["refused"] += 1
        elif record.status == "error":
            self.counts["not graded"] += 1
        if record.seconds:
            self.graded += 1
        line = f"[{self.done:>{len(str(self.total))}}/{self.total}] {record.student}: {outcome_text(record)}"
        if not self.tty:
            self._write(line + "\n")
        elif record.results is None:   # on a terminal only what needs attention gets a line
            self._write("\r\x1b[K" + line + "\n")
        self._draw_unlocked()

    def _draw(self) -> None:
        with self._lock:
            self._draw_unlocked()

    def _draw_unlocked(self) -> None:
        if self.tty:
            remaining = self.total - self.done
            eta = eta_seconds(self.clock() - self.started, self.graded, remaining)
            self._write("\r\x1b[K" + bar_line(self.done, self.total, self.counts, eta))

    def stop(self) -> None:
        """Stop redrawing and clear the bar (also when the batch ends in an error)."""
        if self._stop.is_set():
            return
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        if self.tty:
            self._write("\r\x1b[K")

    def finish(self) -> None:
        self.stop()
        elapsed = self.clock() - self.started
        self._write(f"{self.total} entr{'ies' if self.total != 1 else 'y'} done in {clock_text(elapsed)}\n")

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()
