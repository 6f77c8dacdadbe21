"""`grade watch`: grade some chapters, then grade a chapter again each time a file it depends on
is saved, showing the latest result in place and what changed since the run before.

The watching process is a warm judge: it has imported everything and loaded the course and its
reference once, and grades each save in a fresh pytest session with fresh sandboxed workers (a
judge may be reused, a worker never is). It merges the chapters graded with the other chapters'
latest results and writes results.json and the scorecard, whose pages reload themselves while
watch runs. Ctrl-C ends the session under way, its workers killed, and then watch.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterable

from .course import Course
from .errors import GraderError
from .reference import ReferenceSource
from .scorecard import Scorecard

REFRESH_SECONDS = 1       # how often an open scorecard reloads itself while watch runs
CLEAR = "\x1b[H\x1b[2J"   # cursor home, clear screen: the latest result replaces the one before
MAX_CHANGES = 8           # criteria listed by name in "changed: ..."
# A save is graded once no further change came for this long: an editor's save is a burst of
# events within a few milliseconds, and every millisecond here is one the student waits.
STEP_MS = 5
ARMING_MS = 100  # how often an idle file watcher answers (see watch's loop)


@dataclass(frozen=True)
class Watched:
    """What `grade watch` grades: the chapters, and which of them a saved file sends back to grading."""

    chapters: tuple[int, ...]
    regrade: dict[str, tuple[int, ...]]   # file name -> the watched chapters that use it

    def affected(self, names: Iterable[str]) -> tuple[int, ...]:
        return tuple(sorted({n for name in names for n in self.regrade.get(name, ())}))


def watched(course: Course, chapters: Iterable[int], integrated: bool) -> Watched:
    """A chapter is graded again when its own file is saved, and, with `integrated`, when the file
    of an earlier chapter it imports is (isolated grading uses the reference's instead)."""
    numbers = tuple(sorted(set(chapters)))
    regrade: dict[str, set[int]] = {}
    for number in numbers:
        for used in ((number, *course.closure(number)) if integrated else (number,)):
            regrade.setdefault(course.chapter(used).file, set()).add(number)
    return Watched(numbers, {name: tuple(sorted(ns)) for name, ns in regrade.items()})


def merge(previous: Scorecard | None, latest: Scorecard, order: tuple[int, ...]) -> Scorecard:
    """The latest grading's chapters, with the other watched chapters as they were last graded."""
    if previous is None:
        return latest
    chapters = {ch.number: ch for ch in previous.chapters}
    chapters.update((ch.number, ch) for ch in latest.chapters)
    return replace(latest, chapters=tuple(chapters[n] for n in order if n in chapters))


def changes(previous: Scorecard | None, latest: Scorecard) -> list[str]:
    """"ch2-sigmoid: failed → passed", for every criterion whose status moved."""
    if previous is None:
        return []
    before = {c.id: c.status for ch in previous.chapters for c in ch.criteria}
    return [f"{c.id}: {before[c.id]} \u2192 {c.status}" for ch in latest.chapters for c in ch.criteria
            if c.id in before and before[c.id] != c.status]


# --- the loop ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class WatchOptions:
    submission: Path
    report_dir: Path
    integrated: bool = False
    sandbox: str = "auto"
    seed: int | None = None
    color: bool = False
    verbose: bool = False


def watch(course: Course, reference: ReferenceSource, chapters: Iterable[int], options: WatchOptions,
          show: Callable[[str], None], stop: object | None = None) -> Scorecard | None:
    """Grade `chapters`, then again on every save, until Ctrl-C (or `stop`, a threading.Event, is
    set). `show` receives the whole screen's text each time. Returns the last scorecard."""
    import watchfiles

    from .grading import grade
    from .prepared import serve
    from .sandbox.standby import Standby
    from .terminal import render_terminal
    from .report.writer import write_reports

    plan = watched(course, chapters, options.integrated)
    _warm_up(course, reference)
    card: Scorecard | None = None
    # Each grading's workers are started, confined and waiting before the save that needs them;
    # each is used by one grading only.
    standby = Standby()

    def run(numbers: tuple[int, ...], why: str) -> None:
        nonlocal card
        started = time.monotonic()
        try:
            latest = grade(course=course, reference=reference, submission=options.submission, chapters=list(numbers),
                           sandbox=options.sandbox, integrated=options.integrated, seed=options.seed,
                           standby=standby)
        except GraderError as error:
            show(_screen(options, plan, [f"grade: error: {error}"], None, why, started, render_terminal))
            return
        moved = changes(card, latest)
        card = merge(card, latest, plan.chapters)
        write_reports(card, options.report_dir, ("html",), refresh=REFRESH_SECONDS)
        show(_screen(options, plan, moved, card, why, started, render_terminal))
        standby.refill()

    def loop() -> None:
        names = set(plan.regrade)
        graded = _contents(options.submission, names)
        run(plan.chapters, "first run")
        armed = False
        # The file watcher starts after the first run (which must not wait for it), and only its
        # first answer says it is watching: a save made before then is found by comparing the
        # files with what the first run graded. So that this answer comes at once, an idle watcher
        # answers every ARMING_MS, changes or not (an empty batch, which grades nothing).
        for batch in watchfiles.watch(options.submission, watch_filter=lambda _, path: Path(path).name in names,
                                      debounce=400, step=STEP_MS, stop_event=stop, recursive=False,
                                      rust_timeout=ARMING_MS, yield_on_timeout=True):
            saved = {Path(path).name for _, path in batch}
            if not armed:
                armed = True
                now = _contents(options.submission, names)
                saved |= {name for name in names if now[name] != graded[name]}
            numbers = plan.affected(sorted(saved))
            if numbers:
                run(numbers, f"{', '.join(sorted(saved))} saved")

    try:
        serve(loop)  # every grading runs in one pytest session, collected before the first
    except KeyboardInterrupt:
        pass
    finally:
        standby.close()
        if card is not None:  # the pages stop reloading once nobody rewrites them
            write_reports(card, options.report_dir, ("html",))
    return card


def _contents(folder: Path, names: Iterable[str]) -> dict[str, bytes | None]:
    """The bytes of each watched file (None: missing or unreadable)."""
    found: dict[str, bytes | None] = {}
    for name in names:
        try:
            found[name] = (folder / name).read_bytes()
        except OSError:
            found[name] = None
    return found


def _warm_up(course: Course, reference: ReferenceSource) -> None:
    """Load now what every grading would otherwise load first."""
    from . import warm
    from .reference import LiveReference

    for name in warm.PRELOAD:
        __import__(name)
    if isinstance(reference, LiveReference):
        for chapter in course.chapters:
            reference.load(chapter.number)
            reference.sealed(chapter.number)


def _screen(options: WatchOptions, plan: Watched, moved: list[str], card: Scorecard | None, why: str,
            started: float, render: Callable[..., str]) -> str:
    chapters = " ".join(map(str, plan.chapters))
    lines = [f"grade watch · chapter{'s' if len(plan.chapters) > 1 else ''} {chapters} · {options.submission}"
             f"{' · integrated' if options.integrated else ''}",
             f"{time.strftime('%H:%M:%S')} · {why} · graded in {time.monotonic() - started:.2f} s"]
    if card is not None:
        shown = moved[:MAX_CHANGES] + ([f"and {len(moved) - MAX_CHANGES} more"] if len(moved) > MAX_CHANGES else [])
        lines.append("changed: " + ("; ".join(shown) if shown else "nothing since the last run"))
    else:
        lines += moved
    lines.append("")
    if card is not None:
        lines.append(render(card, color=options.color, verbose=options.verbose))
        lines.append(f"scorecard: {options.report_dir / 'index.html'} (reloads itself while this runs)")
    lines.append("watching for saves · Ctrl-C to stop")
    return "\n".join(lines)
