"""Does the relative training budget cost a student time? This tree's `grade` beside another's.

    python bench/bench_budget.py BASELINE_TREE [--runs 5] [--slow-runs 3]

BASELINE_TREE is a copy of the grader from before the change (for instance
`git archive <commit> | tar -x -C /tmp/base`). Both graders grade the reference, alternating run
by run so that a busy patch of the machine hurts both alike: `grade chapter 1` (start-up and a
quick chapter) and `grade chapter 7` (the training), with this tree's calibration already in its
cache, as on every grading but a machine's first. Printed: the median wall time and the median
CPU time (the grade process and everything it started) of each, and their ratios; then the
one-off cost of a first grading, which times the reference (a cold cache of its own).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(tree: Path, args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process tree) of `python -m grader ARGS` run from `tree`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "grader", *args], cwd=tree, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"grade {' '.join(args)} failed in {tree}: {done.stderr.strip()[-500:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def side_by_side(baseline: Path, args: list[str], runs: int, env: dict[str, str]) -> None:
    old, new = [], []
    for _ in range(runs):
        old.append(timed(baseline, args, env))
        new.append(timed(ROOT, args, env))
    (old_wall, old_cpu), (new_wall, new_cpu) = ([statistics.median(x) for x in zip(*s)] for s in (old, new))
    print(f"{'grade ' + ' '.join(args[:2]):<20}{old_wall:>10.3f}{new_wall:>10.3f}{new_wall / old_wall:>8.3f}"
          f"{old_cpu:>10.3f}{new_cpu:>10.3f}{new_cpu / old_cpu:>8.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("baseline", type=Path, help="a copy of the grader before the change")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--slow-runs", type=int, default=3)
    args = parser.parse_args()
    reports = tempfile.mkdtemp(prefix="bench-budget-")
    cache = tempfile.mkdtemp(prefix="bench-budget-cache-")
    env = {**os.environ, "XDG_CACHE_HOME": cache, "NO_COLOR": "1"}
    common = ["--submission", str(ROOT / "reference"), "--report-dir", reports, "--sandbox", "auto"]
    baseline = args.baseline.resolve()
    print(f"baseline {baseline}, this tree {ROOT}; {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    print(f"{'':<20}{'wall: old':>10}{'new':>10}{'ratio':>8}{'CPU: old':>10}{'new':>10}{'ratio':>8}")
    first_wall, first_cpu = timed(ROOT, ["chapter", "7", *common, "--course", str(ROOT / "course.yaml")], env)
    side_by_side(baseline, ["chapter", "1", *common], args.runs, env)
    side_by_side(baseline, ["chapter", "7", *common], args.slow_runs, env)
    cold = {**env, "XDG_CACHE_HOME": tempfile.mkdtemp(prefix="bench-budget-cold-")}
    cold_wall, cold_cpu = timed(ROOT, ["chapter", "1", *common], cold)  # no relative budget: nothing timed
    print(f"first grading of chapter 7 on this machine (cold cache, the reference timed): {first_wall:.3f} s wall, "
          f"{first_cpu:.3f} s CPU; chapter 1 with a cold cache: {cold_wall:.3f} s")
    print(f"load at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
