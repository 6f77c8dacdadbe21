"""How fast a student hears back, as ratios to a yardstick measured in the same run.

    python bench/bench_feedback.py [--runs N] [--skip-oneshot] [--skip-watch] [--skip-batch] [--bytecode]

The yardstick is a bare `python -m pytest` of one empty test with plugin autoload off: the least
any pytest-based grader pays per run on this machine. Measured beside it, alternating run by run
so that the machine's load falls on both alike:

- one-shot `grade chapter N` on the reference (a real subprocess, report included), N = 1..6,
  plain and answered by the resident judge (grader/resident.py) a student's terminal uses;
- `grade watch`: from saving a chapter file to the new results.json (chapters 1..6);
- `grade batch --jobs 1` of submissions holding chapters 1..6: seconds per submission, and the
  seconds each further submission adds (a batch twice as large, less the first, per extra one).

Goals: one-shot <= 1.5x, watch <= 0.5x, batch <= 1.5x per submission.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GRADE = [sys.executable, "-m", "grader"]
FIRST_SIX = range(1, 7)


def wall(command: list[str], **kwargs) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs)
    return time.perf_counter() - start


class Yardstick:
    """A bare pytest run of one empty test, timed whenever asked (so it sits beside each figure)."""

    def __init__(self, scratch: Path):
        self.test = scratch / "test_empty.py"
        self.test.write_text("def test_empty():\n    pass\n")
        self.times: list[float] = []

    def run(self) -> float:
        seconds = wall([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(self.test)],
                       env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
        self.times.append(seconds)
        return seconds


def one_shot(yardstick: Yardstick, runs: int, reports: Path) -> dict[int, tuple[float, float]]:
    """chapter -> (median seconds of `grade chapter N`, median of the yardstick beside it)."""
    found = {}
    for number in FIRST_SIX:
        mine, theirs = [], []
        for _ in range(runs):
            theirs.append(yardstick.run())
            mine.append(wall([*GRADE, "chapter", str(number), "--submission", "reference",
                              "--report-dir", str(reports)]))
        found[number] = (statistics.median(mine), statistics.median(theirs))
    return found


def resident(yardstick: Yardstick, runs: int, reports: Path, scratch: Path) -> dict[int, tuple[float, float]]:
    """As one_shot, answered by the resident judge (a first run starts it; it is then stopped)."""
    runtime = scratch / "runtime"
    runtime.mkdir()
    env = {**os.environ, "GRADE_RESIDENT": "1", "XDG_RUNTIME_DIR": str(runtime)}
    command = [str(Path(sys.executable).parent / "grade"), "chapter", "1", "--submission", "reference",
               "--report-dir", str(reports)]
    wall(command, env=env)
    _wait_for(lambda: list(runtime.glob("*/judge-*.sock")), 60)
    found = {}
    try:
        for number in FIRST_SIX:
            command[2] = str(number)
            mine, theirs = [], []
            for _ in range(runs):
                theirs.append(yardstick.run())
                mine.append(wall(command, env=env))
            found[number] = (statistics.median(mine), statistics.median(theirs))
    finally:
        subprocess.run(["pkill", "-f", "grader.resident serve"], check=False)
    return found


def watch_latency(yardstick: Yardstick, runs: int, scratch: Path) -> dict[int, tuple[float, float]]:
    """chapter -> (median seconds from a save to the new results.json, median yardstick)."""
    submission = scratch / "watched"
    shutil.copytree(ROOT / "reference", submission)
    reports = scratch / "watch-reports"
    results = reports / "results.json"
    process = subprocess.Popen([*GRADE, "watch", *map(str, FIRST_SIX), "--submission", str(submission),
                                "--report-dir", str(reports)], cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, env={**os.environ, "NO_COLOR": "1"})
    try:
        _wait_for(lambda: results.is_file(), 60)
        found = {}
        for number in FIRST_SIX:
            chapter = next(submission.glob(f"{number:02d}_*.py"))
            mine, theirs = [], []
            for run in range(runs):
                theirs.append(yardstick.run())
                time.sleep(0.3)  # let the watcher settle after the yardstick's burst
                before = results.stat().st_mtime_ns
                start = time.perf_counter()
                chapter.write_text(chapter.read_text() + f"\n# edit {run}\n")
                _wait_for(lambda: results.stat().st_mtime_ns != before, 30)
                mine.append(time.perf_counter() - start)
            found[number] = (statistics.median(mine), statistics.median(theirs))
        return found
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


def batch_seconds(students: int, scratch: Path) -> float:
    """Wall seconds of `grade batch --jobs 1` of `students` submissions holding chapters 1-6."""
    classroom = scratch / f"class-{students}"
    for i in range(students):
        folder = classroom / f"student-{i:02d}"
        folder.mkdir(parents=True)
        for number in FIRST_SIX:
            chapter = next((ROOT / "reference").glob(f"{number:02d}_*.py"))
            shutil.copyfile(chapter, folder / chapter.name)
    return wall([*GRADE, "batch", str(classroom), "--report-dir", str(scratch / f"batch-reports-{students}"),
                 "--jobs", "1", "--no-resume"])


def batch_cost(yardstick: Yardstick, students: int, scratch: Path) -> tuple[float, float, float]:
    """(seconds per submission of a batch of `students`, seconds each further submission adds
    (a batch of twice as many, less the first, per extra submission: the batch's own start-up and
    class reports left out), median yardstick)."""
    theirs = [yardstick.run() for _ in range(3)]
    small = batch_seconds(students, scratch)
    theirs += [yardstick.run() for _ in range(3)]
    large = batch_seconds(2 * students, scratch)
    theirs += [yardstick.run() for _ in range(3)]
    return small / students, (large - small) / students, statistics.median(theirs)


def _wait_for(condition, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            sys.exit("bench: timed out waiting for grade")
        time.sleep(0.005)


def line(label: str, mine: float, theirs: float, goal: float) -> str:
    ratio = mine / theirs
    return (f"{label:<28}{mine:>9.3f}{theirs:>12.3f}{ratio:>8.2f}   <= {goal:g}x: "
            f"{'met' if ratio <= goal else 'MISSED'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (the median is kept)")
    parser.add_argument("--students", type=int, default=8, help="submissions in the batch measurement")
    parser.add_argument("--skip-oneshot", action="store_true", help="skip one-shot and resident `grade chapter`")
    parser.add_argument("--skip-watch", action="store_true")
    parser.add_argument("--skip-batch", action="store_true")
    parser.add_argument("--bytecode", action="store_true",
                        help="let both sides keep compiled bytecode (in a private cache folder), as an installed "
                             "grader has it, even where PYTHONDONTWRITEBYTECODE is set")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-feedback-") as folder:
        scratch = Path(folder)
        yardstick = Yardstick(scratch)
        if args.bytecode:
            os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
            os.environ["PYTHONPYCACHEPREFIX"] = str(scratch / "pycache")
            yardstick.run()   # both compile once, here, outside any figure
            wall([*GRADE, "chapter", "1", "--submission", "reference", "--report-dir", str(scratch / "reports")])
            yardstick.times.clear()
        print(f"{'measurement':<28}{'grade (s)':>9}{'yardstick':>12}{'ratio':>8}   goal")
        if not args.skip_oneshot:
            for number, (mine, theirs) in one_shot(yardstick, args.runs, scratch / "reports").items():
                print(line(f"grade chapter {number}", mine, theirs, 1.5), flush=True)
            for number, (mine, theirs) in resident(yardstick, args.runs, scratch / "reports", scratch).items():
                print(line(f"resident: grade chapter {number}", mine, theirs, 1.5), flush=True)
        if not args.skip_watch:
            ratios = []
            for number, (mine, theirs) in watch_latency(yardstick, args.runs, scratch).items():
                print(line(f"watch: save -> results, ch{number}", mine, theirs, 0.5), flush=True)
                ratios.append(mine / theirs)
            middle = statistics.median(ratios)
            print(f"{'watch: median of ch1-6':<28}{'':>21}{middle:>8.2f}   <= 0.5x: {'met' if middle <= 0.5 else 'MISSED'}")
        if not args.skip_batch:
            mine, further, theirs = batch_cost(yardstick, args.students, scratch)
            print(line(f"batch --jobs 1, per student", mine, theirs, 1.5), flush=True)
            print(line(f"  each further student", further, theirs, 1.5), flush=True)
        print(f"yardstick: median {statistics.median(yardstick.times):.3f} s over {len(yardstick.times)} runs")


if __name__ == "__main__":
    main()
