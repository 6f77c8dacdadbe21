"""This tree's `grade` next to another commit's, side by side in one run: no slower than before?

    python bench/bench_against.py REV [--runs N] [--slow-runs N] [--sandbox TIER]
                                      [--batch N] [--selftest] [--repeat N] [--watch N] [--no-chapters]

Checks REV out into a temporary git worktree, then times `grade chapter N` on the reference
(a real subprocess, report included) with each tree in turn, alternating run by run so that
whatever else the machine does falls on both alike. Prints the medians and the ratio
this tree / REV per chapter (1 to 6, and chapter 7, which trains the classifier); a ratio above
1 is a slowdown. `--batch N` and `--selftest` also time `grade batch --jobs 1` of N students
(chapters 1-6 each) and `grade selftest`, once per tree (`--repeat N`: N times, alternating which
tree goes first). `--watch N` runs `grade watch 1 ... 6` of
both trees at once and saves each chapter N times, alternating between the trees: the seconds from
a save to the new results.json.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(tree: Path, chapter: int, reports: str, sandbox: str) -> tuple[float, float]:
    """One `grade chapter` run of `tree`'s grader on `tree`'s course and reference: its wall time,
    and the CPU time of it and every process it waited for (its workers), which other load on
    the machine disturbs far less."""
    command = [sys.executable, "-m", "grader", "chapter", str(chapter), "--course", str(tree / "course.yaml"),
               "--submission", str(tree / "reference"), "--report-dir", reports, "--sandbox", sandbox]
    env = {**os.environ, "PYTHONPATH": str(tree)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=tree, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"bench: grade chapter {chapter} failed in {tree}: {done.stderr.strip()[-500:]}")
    return seconds, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def compare(trees: dict[str, Path], chapter: int, runs: int, sandbox: str) -> dict[str, tuple[float, float]]:
    """tree -> (median wall seconds, median CPU seconds)."""
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in trees}
    with tempfile.TemporaryDirectory(prefix="bench-against-") as reports:
        for _ in range(runs):
            for name, tree in trees.items():
                times[name].append(timed(tree, chapter, reports, sandbox))
    return {name: (statistics.median(w for w, _ in values), statistics.median(c for _, c in values))
            for name, values in times.items()}


def timed_command(tree: Path, argv: list[str]) -> float:
    """One run of `grade argv` with `tree`'s grader, from `tree`."""
    env = {**os.environ, "PYTHONPATH": str(tree), "NO_COLOR": "1"}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "grader", *argv], cwd=tree, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):
        sys.exit(f"bench: grade {' '.join(argv)} failed in {tree}: {done.stderr.strip()[-500:]}")
    return seconds


def class_of(students: int, folder: Path) -> Path:
    """`students` submissions of the reference's chapters 1-6."""
    for i in range(students):
        student = folder / f"student-{i:02d}"
        student.mkdir(parents=True)
        for chapter in sorted((ROOT / "reference").glob("0[1-6]_*.py")):
            shutil.copyfile(chapter, student / chapter.name)
    return folder


def compare_commands(trees: dict[str, Path], students: int, selftest: bool, repeat: int = 1) -> None:
    """`grade batch --jobs 1` of a class and `grade selftest`, `repeat` times per tree, the trees
    one after the other, in turn first (other load on the machine falls on both alike); medians."""
    with tempfile.TemporaryDirectory(prefix="bench-against-") as scratch:
        commands = {}
        if students:
            classroom = class_of(students, Path(scratch) / "class")
            commands[f"batch of {students}, --jobs 1"] = lambda tree, name: [
                "batch", str(classroom), "--report-dir", str(Path(scratch) / f"b-{name}"), "--jobs", "1",
                "--no-resume"]
        if selftest:
            commands["selftest"] = lambda tree, name: ["selftest", "--report-dir", str(Path(scratch) / f"s-{name}")]
        for label, argv in commands.items():
            seconds: dict[str, list[float]] = {name: [] for name in trees}
            for turn in range(repeat):
                order = list(enumerate(trees.items()))
                for i, (name, tree) in (order if turn % 2 == 0 else order[::-1]):
                    seconds[name].append(timed_command(tree, argv(tree, i)))
            mine, theirs = (statistics.median(values) for values in seconds.values())
            runs = "" if repeat == 1 else "   (" + "; ".join(
                f"{name}: {', '.join(f'{v:.1f}' for v in values)}" for name, values in seconds.items()) + ")"
            print(f"{label:<26}{mine:>12.1f}{theirs:>18.1f}{mine / theirs:>8.2f}{runs}", flush=True)


class Watcher:
    """`grade watch 1 2 3 4 5 6` of one tree on its own copy of the reference."""

    def __init__(self, tree: Path, scratch: Path):
        self.submission = scratch / "submission"
        shutil.copytree(tree / "reference", self.submission)
        self.results = scratch / "reports" / "results.json"
        env = {**os.environ, "PYTHONPATH": str(tree), "NO_COLOR": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "grader", "watch", "1", "2", "3", "4", "5", "6", "--course", str(tree / "course.yaml"),
             "--submission", str(self.submission), "--report-dir", str(self.results.parent)],
            cwd=tree, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_for(self.results.is_file, 120)

    def save(self, chapter: int, run: int) -> float:
        """Seconds from saving chapter `chapter` to the new results.json."""
        path = next(self.submission.glob(f"{chapter:02d}_*.py"))
        before = self.results.stat().st_mtime_ns
        start = time.perf_counter()
        path.write_text(path.read_text() + f"\n# edit {run}\n")
        _wait_for(lambda: self.results.stat().st_mtime_ns != before, 60)
        return time.perf_counter() - start

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=60)


def _wait_for(condition, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            sys.exit("bench: timed out waiting for grade watch")
        time.sleep(0.005)


def compare_watch(trees: dict[str, Path], runs: int) -> None:
    """`grade watch` of both trees at once, saves alternating between them: seconds from a save to
    the new results.json, median per chapter."""
    with tempfile.TemporaryDirectory(prefix="bench-watch-") as scratch:
        watchers = {}
        try:
            for i, (name, tree) in enumerate(trees.items()):
                watchers[name] = Watcher(tree, Path(scratch) / str(i))
            print(f"{'watch: save -> results':<24}{'this tree (s)':>15}{'other (s)':>12}{'ratio':>8}")
            for chapter in range(1, 7):
                times: dict[str, list[float]] = {name: [] for name in watchers}
                for run in range(runs):
                    for name, watcher in watchers.items():
                        time.sleep(0.3)   # as a student between saves; the watcher settles
                        times[name].append(watcher.save(chapter, run))
                mine, theirs = (statistics.median(values) for values in times.values())
                print(f"{'chapter ' + str(chapter):<24}{mine:>15.3f}{theirs:>12.3f}{mine / theirs:>8.2f}", flush=True)
        finally:
            for watcher in watchers.values():
                watcher.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev", help="the commit to compare with (e.g. HEAD~3, a tag, a hash)")
    parser.add_argument("--runs", type=int, default=5, help="runs per chapter 1-6 and tree (median kept)")
    parser.add_argument("--slow-runs", type=int, default=3, help="runs of chapter 7 per tree")
    parser.add_argument("--sandbox", default="auto", help="the sandbox tier both trees use")
    parser.add_argument("--batch", type=int, default=0, metavar="N", help="also time `grade batch` of N students")
    parser.add_argument("--selftest", action="store_true", help="also time `grade selftest`")
    parser.add_argument("--no-chapters", action="store_true", help="skip the per-chapter timings")
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help="time --batch and --selftest N times per tree, alternating which goes first")
    parser.add_argument("--watch", type=int, default=0, metavar="N",
                        help="also time `grade watch`, N saves per chapter 1-6 and tree, alternating")
    parser.add_argument("--chapters", type=int, nargs="+", default=None, help="time only these chapters")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-rev-") as scratch:
        base = Path(scratch) / "tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(base), args.rev],
                       check=True)
        try:
            trees = {"this tree": ROOT, args.rev: base}
            print(f"{'grade chapter':<15}{'this tree (s)':>15}{args.rev + ' (s)':>18}{'ratio':>8}"
                  f"{'CPU this (s)':>14}{'CPU ' + args.rev:>16}{'ratio':>8}")
            for chapter in args.chapters or ([] if args.no_chapters else range(1, 8)):
                medians = compare(trees, chapter, args.runs if chapter < 7 else args.slow_runs, args.sandbox)
                (mine, mine_cpu), (theirs, theirs_cpu) = medians["this tree"], medians[args.rev]
                print(f"{chapter:<15}{mine:>15.3f}{theirs:>18.3f}{mine / theirs:>8.2f}"
                      f"{mine_cpu:>14.3f}{theirs_cpu:>16.3f}{mine_cpu / theirs_cpu:>8.2f}", flush=True)
            if args.batch or args.selftest:
                compare_commands(trees, args.batch, args.selftest, args.repeat)
            if args.watch:
                compare_watch(trees, args.watch)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)], check=False)


if __name__ == "__main__":
    main()
