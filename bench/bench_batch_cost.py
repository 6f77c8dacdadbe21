"""What one more submission costs in `grade batch --jobs 1`, as a ratio to the yardstick, measured
alternately in one run (optionally beside another commit's grader, also alternating).

    python bench/bench_batch_cost.py [--students N] [--large M] [--rounds R] [--against REV]

Each round runs, in turn: the yardstick (a bare `python -m pytest` of one empty test, plugin
autoload off), a batch of N students holding chapters 1-6 (copies of the reference) and a batch of
M (2N unless given), with this tree's grader and, given --against, with REV's (checked out in a
temporary git worktree). Prints medians over the rounds: seconds per student of the batch of N (its
start-up and class reports included), seconds per further student ((M batch - N batch) / (M - N):
a larger M divides the two batches' noise by more students), each divided by the median
yardstick, and the load average before and after. Goal (issue 14): <= 1.5x.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from bench_against import class_of  # noqa: E402  (this folder is on sys.path when run as a script)


def wall(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):
        sys.exit(f"bench: {' '.join(command[:4])} failed: {done.stderr.strip()[-500:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=8)
    parser.add_argument("--large", type=int, default=None, help="students of the larger batch (default 2N)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--against", metavar="REV", default=None)
    args = parser.parse_args()
    large = args.large or 2 * args.students
    if large <= args.students:
        parser.error("--large must be more than --students")
    load_before = open("/proc/loadavg").read().split()[:3]
    with tempfile.TemporaryDirectory(prefix="bench-batch-cost-") as name:
        scratch = Path(name)
        trees = {"this": ROOT}
        if args.against:
            other = scratch / "against"
            subprocess.run(["git", "worktree", "add", "--detach", str(other), args.against], cwd=ROOT, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            trees[args.against] = other
        try:
            empty = scratch / "test_empty.py"
            empty.write_text("def test_empty():\n    pass\n")
            yard_env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
            yardstick = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(empty)]
            classes = {n: class_of(n, scratch / f"class-{n}") for n in (args.students, large)}
            yards: list[float] = []
            times: dict[tuple[str, int], list[float]] = {}
            for round_ in range(args.rounds):
                order = list(trees.items()) if round_ % 2 == 0 else list(reversed(trees.items()))
                for label, tree in order:
                    env = {**os.environ, "PYTHONPATH": str(tree), "NO_COLOR": "1"}
                    for n, folder in classes.items():
                        yards.append(wall(yardstick, scratch, yard_env))
                        reports = scratch / f"reports-{label}-{n}"
                        shutil.rmtree(reports, ignore_errors=True)
                        times.setdefault((label, n), []).append(wall(
                            [sys.executable, "-m", "grader", "batch", str(folder), "--report-dir", str(reports),
                             "--jobs", "1", "--no-resume", "--course", str(tree / "course.yaml")], tree, env))
            yards.append(wall(yardstick, scratch, yard_env))
        finally:
            if args.against:
                subprocess.run(["git", "worktree", "remove", "--force", str(scratch / "against")], cwd=ROOT,
                               check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    yard = statistics.median(yards)
    n = args.students
    print(f"yardstick: median {yard:.3f} s over {len(yards)} runs; load average {' '.join(load_before)} before, "
          f"{' '.join(open('/proc/loadavg').read().split()[:3])} after")
    for label in trees:
        small = statistics.median(times[(label, n)])
        big = statistics.median(times[(label, large)])
        per, further = small / n, (big - small) / (large - n)
        print(f"{label:>10}: batch of {n} {small:.2f} s, of {large} {big:.2f} s; per student {per:.3f} s "
              f"({per / yard:.2f}x), each further student {further:.3f} s ({further / yard:.2f}x); "
              f"per student of the {large} {big / large:.3f} s ({big / large / yard:.2f}x)")


if __name__ == "__main__":
    main()
