"""Batch grading throughput: a synthetic class of 24 graded with --jobs 1 and --jobs 2, in one run.

    python bench/bench_batch.py [--students-per-kind N] [--keep DIR]

The class: 2 correct and complete (chapter 7 trains the classifier), 10 correct chapters 1-6,
8 with one mistake each (chapters 1-6), 2 slow (every chapter burns about 0.4 s of CPU when
imported) and 2 hanging (one sleeps at import in chapter 3, one spins in chapter 2's sigmoid;
each criterion that runs into it costs the 5 s request limit). Prints, for both runs: wall time, throughput in submissions
per minute, the speed-up, and per-submission overhead: the judge's wall time per submission
minus the student code's own compute, measured bare (a plain Python process running the same
code: chapter 7's training, the slow imports; the time limits the hanging ones ran into). Scores must
be identical between the runs. Takes about 3 minutes on 2 cores (with --repeat N, N times that).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from batch_support import CHAPTER_FILES, student  # noqa: E402  (the tests' class builders)

MISTAKES = ["buggy-ch1-transpose-returns-rows", "buggy-ch2-sigmoid-derivative-takes-z",
            "buggy-ch3-caches-accumulate", "buggy-ch4-softmax-overflows",
            "buggy-ch5-bias-gradient-skips-activation", "buggy-ch5-input-gradient-not-transposed",
            "buggy-ch6-gradient-ascent", "missing-ch6-file"]
SLOW_IMPORT = "import time as _t\n_end = _t.process_time() + 0.4\nwhile _t.process_time() < _end:\n    pass\n"
REQUEST_LIMIT = 5.0   # course.yaml's request_timeout: what a hanging chapter costs
# The student code's own compute is measured in CPU seconds of a plain process running it: unlike
# its wall time, that does not grow when other programs share the machine.
BARE_TRAINING = ("import sys, importlib, time; sys.path.insert(0, sys.argv[1]); "
                 "t = time.process_time(); c = importlib.import_module('07_final_project').LetterClassifier(); "
                 "c.train(epochs=500, verbose=False); c.evaluate(); print(time.process_time() - t)")
BARE_IMPORTS = ("import sys, importlib, time; sys.path.insert(0, sys.argv[1]); t = time.process_time(); "
                "[importlib.import_module(n) for n in sys.argv[2:]]; print(time.process_time() - t)")


def build_class(into: Path, scale: int) -> dict[str, str]:
    """The synthetic class; returns each student's kind."""
    into.mkdir(parents=True)
    kinds: dict[str, str] = {}
    for i in range(2 * scale):
        kinds[student(into, f"full-{i:02d}", keep=(1, 2, 3, 4, 5, 6, 7)).name] = "full"
    for i in range(10 * scale):
        kinds[student(into, f"correct-{i:02d}").name] = "correct"
    for i, mistake in enumerate(MISTAKES * scale):
        kinds[student(into, f"buggy-{i:02d}", mistake).name] = "buggy"
    for i in range(2 * scale):
        folder = student(into, f"slow-{i:02d}")
        for chapter in CHAPTER_FILES[:6]:
            (folder / chapter).write_text(SLOW_IMPORT + (folder / chapter).read_text())
        kinds[folder.name] = "slow"
    for i in range(scale):
        folder = student(into, f"hanging-sleep-{i:02d}")
        path = folder / "03_forward_pass.py"
        path.write_text("import time\ntime.sleep(1000)\n" + path.read_text())
        kinds[folder.name] = "hanging"
        kinds[student(into, f"hanging-spin-{i:02d}", "unruly-endless-loop-in-ch2-sigmoid").name] = "hanging"
    return kinds


def bare_seconds(folder: Path, kind: str, results: dict) -> float:
    """The student code's own compute, run bare in a plain Python process; for a hanging one,
    the time limits it ran into (each criterion that timed out waited the request limit)."""
    if kind == "full":
        code, extra = BARE_TRAINING, []
    elif kind == "slow":
        code, extra = BARE_IMPORTS, [Path(c).stem for c in CHAPTER_FILES[:6]]
    elif kind == "hanging":
        timeouts = sum(c["status"] == "timeout" for ch in results["chapters"] for c in ch["criteria"])
        return REQUEST_LIMIT * timeouts
    else:
        return 0.0
    done = subprocess.run([sys.executable, "-c", code, str(folder), *extra], capture_output=True, text=True,
                          check=True, timeout=600)
    return float(done.stdout.strip().splitlines()[-1])


def wait_until_quiet(load: float, patience: float = 300.0) -> None:
    deadline = time.monotonic() + patience
    while os.getloadavg()[0] >= load and time.monotonic() < deadline:
        time.sleep(5)


def grade(submissions: Path, report: Path, jobs: int) -> float:
    """Grade the class from scratch; its wall time in seconds."""
    shutil.rmtree(report, ignore_errors=True)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "grader", "batch", str(submissions), "--report-dir", str(report),
                           "--jobs", str(jobs), "--no-resume"], cwd=ROOT, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, env={**os.environ, "NO_COLOR": "1"})
    if done.returncode not in (0, 1):
        sys.exit(f"grade batch failed:\n{done.stderr}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students-per-kind", type=int, default=1, help="scale the class (1: 24 students)")
    parser.add_argument("--keep", type=Path, default=None, help="keep the class and reports in this folder")
    parser.add_argument("--repeat", type=int, default=1,
                        help="grade N times with each --jobs, in the order 1 2 2 1 1 2 ... so that a change in "
                             "the machine's load affects both alike; the mean is reported")
    parser.add_argument("--quiet-below", type=float, default=None, metavar="LOAD",
                        help="before each run, wait (at most 5 minutes) until the 1-minute load average is below "
                             "LOAD: other programs on the machine take cores from the second job")
    args = parser.parse_args()
    bench_started = time.perf_counter()
    load_before = os.getloadavg()[0]
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-batch-"))
    submissions = work / "class"
    kinds = build_class(submissions, args.students_per_kind)
    print(f"class: {len(kinds)} submissions ({', '.join(f'{sum(k == kind for k in kinds.values())} {kind}' for kind in ('full', 'correct', 'buggy', 'slow', 'hanging'))}); "
          f"{os.cpu_count()} cores")

    order = [jobs for i in range(args.repeat) for jobs in ((1, 2) if i % 2 == 0 else (2, 1))]
    measured: dict[int, list[float]] = {1: [], 2: []}
    for jobs in order:
        if args.quiet_below is not None:
            wait_until_quiet(args.quiet_below)
        load = os.getloadavg()[0]
        measured[jobs].append(grade(submissions, work / f"jobs-{jobs}", jobs))
        print(f"  --jobs {jobs}: {measured[jobs][-1]:.1f} s (load average {load:.1f} when it started)")
    walls = {jobs: statistics.mean(runs) for jobs, runs in measured.items()}
    manifests = {jobs: json.loads((work / f"jobs-{jobs}" / "batch.json").read_text()) for jobs in walls}
    identical = manifests[1]["scores"] == manifests[2]["scores"]
    csv_identical = (work / "jobs-1" / "grades.csv").read_bytes() == (work / "jobs-2" / "grades.csv").read_bytes()

    bare = {name: bare_seconds(submissions / name, kind,
                               json.loads((work / "jobs-1" / name / "results.json").read_text()))
            for name, kind in kinds.items()}
    per_student = manifests[1]["run"]["students"]
    overhead = {name: per_student[name]["seconds"] - bare[name] for name in kinds}

    print(f"\n{'run':<10}{'wall (s)':>10}{'subs/min':>10}")
    for jobs, wall in walls.items():
        print(f"--jobs {jobs:<3}{wall:>10.1f}{len(kinds) / wall * 60:>10.1f}")
    speedup = walls[1] / walls[2]
    print(f"speed-up with 2 jobs: {speedup:.2f} (goal >= 1.7: {'ok' if speedup >= 1.7 else 'MISSED'})")
    print(f"scores identical between the runs: batch.json {identical}, grades.csv {csv_identical}")

    print(f"\nper submission, --jobs 1 (judge wall time, student code's own compute in CPU seconds measured "
          f"bare, overhead = the difference):")
    print(f"{'kind':<10}{'n':>3}{'judge (s)':>11}{'student (s)':>13}{'overhead (s)':>14}")
    for kind in ("full", "correct", "buggy", "slow", "hanging"):
        names = [n for n, k in kinds.items() if k == kind]
        print(f"{kind:<10}{len(names):>3}{statistics.mean(per_student[n]['seconds'] for n in names):>11.2f}"
              f"{statistics.mean(bare[n] for n in names):>13.2f}{statistics.mean(overhead[n] for n in names):>14.2f}")
    print(f"{'all':<10}{len(kinds):>3}{statistics.mean(s['seconds'] for n, s in per_student.items() if n in kinds):>11.2f}"
          f"{statistics.mean(bare.values()):>13.2f}{statistics.mean(overhead.values()):>14.2f}"
          f"   (median overhead {statistics.median(overhead.values()):.2f} s)")
    print(f"\nbench took {time.perf_counter() - bench_started:.0f} s; load average {load_before:.1f} before, "
          f"{os.getloadavg()[0]:.1f} after (other programs on the machine slow both runs and lower the speed-up)")
    print(f"class and reports in {work}")
    if not (identical and csv_identical):
        sys.exit("the two runs gave different scores")


if __name__ == "__main__":
    main()
