"""Does the relative training budget cost a student time? This tree's `grade` beside another's.

    python bench/bench_budget.py BASELINE_TREE [--runs 5] [--slow-runs 3] [--sandbox process]

BASELINE_TREE is a copy of the grader from before the change (for instance
`git archive <commit> | tar -x -C /tmp/base`). Both graders grade the reference, alternating run
by run so that a busy patch of the machine hurts both alike: `grade chapter 1` (start-up and a
quick chapter) and `grade chapter 7` (the training), with this tree's calibration already in its
cache, as on every grading but a machine's first. Printed: the median wall time and the median
CPU time of each, and their ratios; then the one-off cost of timing the reference, which a
machine's first grading of chapter 7 pays (a cold cache of its own).

The CPU time is the grade process's and its waited-for children's (RUSAGE_CHILDREN): with
`--sandbox process` that includes the worker; under bubblewrap the worker is a grandchild killed
with its sandbox, so its CPU time is not counted there and only the wall times compare.
"""

from __future__ import annotations

import argparse
import json
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
    parser.add_argument("--sandbox", default="auto")
    args = parser.parse_args()
    reports = tempfile.mkdtemp(prefix="bench-budget-")
    cache = tempfile.mkdtemp(prefix="bench-budget-cache-")
    env = {**os.environ, "XDG_CACHE_HOME": cache, "NO_COLOR": "1"}
    common = ["--submission", str(ROOT / "reference"), "--report-dir", reports, "--sandbox", args.sandbox]
    baseline = args.baseline.resolve()
    print(f"baseline {baseline}, this tree {ROOT}; {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    print(f"{'':<20}{'wall: old':>10}{'new':>10}{'ratio':>8}{'CPU: old':>10}{'new':>10}{'ratio':>8}")
    calibration = subprocess.run([sys.executable, "-c", CALIBRATE, args.sandbox], cwd=ROOT, env=env,
                                 capture_output=True, text=True, check=True)
    side_by_side(baseline, ["chapter", "1", *common], args.runs, env)
    side_by_side(baseline, ["chapter", "7", *common], args.slow_runs, env)
    timing = json.loads(calibration.stdout)
    print(f"timing the reference once (a machine's first grading of chapter 7): {timing['wall']:.3f} s wall; "
          f"the reference's training {timing['reference_cpu']:.2f} s of CPU, tier {timing['tier']}")
    print(f"load at the end {os.getloadavg()[0]:.1f}")


CALIBRATE = """
import json, sys, time
from pathlib import Path
from grader.calibration import calibrate
from grader.course import load_course
from grader.sandbox.tiers import resolve_tier
tier = resolve_tier(sys.argv[1])[0]
course = load_course(Path('course.yaml'))
start = time.perf_counter()
calibration = calibrate(course, [7], tier)[7]
print(json.dumps({"wall": time.perf_counter() - start, "reference_cpu": calibration.reference_cpu, "tier": tier}))
"""


if __name__ == "__main__":
    main()
