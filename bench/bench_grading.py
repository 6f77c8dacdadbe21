"""How long a student waits for `grade`, next to the bare cost of the same work, in one run.

    python bench/bench_grading.py [--runs N]

Prints, per chapter, the median wall time of `grade chapter N` on the reference (a real
subprocess, report included) beside a bare Python start-up; for chapter 7, beside a plain
process that trains and evaluates the same classifier; and `grade all` beside a plain pytest
suite in the tutorial's style, which trains the classifier three times.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BARE_TRAINING = (
    "import sys, importlib; sys.path.insert(0, 'reference'); "
    "c = importlib.import_module('07_final_project').LetterClassifier(); "
    "c.train(epochs=500, verbose=False); print(c.evaluate()[0])"
)


def wall(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def median(command: list[str], runs: int) -> float:
    return statistics.median(wall(command) for _ in range(runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement (median is kept)")
    parser.add_argument("--slow-runs", type=int, default=3, help="runs for the multi-second measurements")
    args = parser.parse_args()
    reports = tempfile.mkdtemp(prefix="bench-reports-")
    grade = [sys.executable, "-m", "grader"]
    common = ["--submission", "reference", "--report-dir", reports]

    print(f"{'measurement':<34}{'grade (s)':>11}{'bare (s)':>11}{'ratio':>8}  goal")
    bare_start = median([sys.executable, "-c", "pass"], args.runs)
    for number in range(1, 7):
        seconds = median([*grade, "chapter", str(number), *common], args.runs)
        verdict = "ok" if seconds <= 0.5 else "MISSED"
        print(f"{f'grade chapter {number}':<34}{seconds:>11.3f}{bare_start:>11.3f}{seconds / bare_start:>8.2f}"
              f"  <= 0.5 s: {verdict}")
    train = median([sys.executable, "-c", BARE_TRAINING], args.slow_runs)
    seven = median([*grade, "chapter", "7", *common], args.slow_runs)
    limit = 1.15 * train + 0.5
    print(f"{'grade chapter 7':<34}{seven:>11.3f}{train:>11.3f}{seven / train:>8.2f}"
          f"  <= 1.15 x bare + 0.5 = {limit:.2f} s: {'ok' if seven <= limit else 'MISSED'}")
    everything = median([*grade, "all", *common], args.slow_runs)
    suite = median([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                    str(ROOT / "bench" / "tutorial_style")], args.slow_runs)
    print(f"{'grade all vs tutorial-style pytest':<34}{everything:>11.3f}{suite:>11.3f}{everything / suite:>8.2f}"
          f"  faster than the suite: {'ok' if everything < suite else 'MISSED'}")


if __name__ == "__main__":
    main()
