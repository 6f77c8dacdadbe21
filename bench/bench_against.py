"""This tree's `grade` next to another commit's, side by side in one run: no slower than before?

    python bench/bench_against.py REV [--runs N] [--slow-runs N] [--sandbox TIER]

Checks REV out into a temporary git worktree, then times `grade chapter N` on the reference
(a real subprocess, report included) with each tree in turn, alternating run by run so that
whatever else the machine does falls on both alike. Prints the medians and the ratio
this tree / REV per chapter (1 to 6, and chapter 7, which trains the classifier); a ratio above
1 is a slowdown.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(tree: Path, chapter: int, reports: str, sandbox: str) -> float:
    """One `grade chapter` run of `tree`'s grader on `tree`'s course and reference."""
    command = [sys.executable, "-m", "grader", "chapter", str(chapter), "--course", str(tree / "course.yaml"),
               "--submission", str(tree / "reference"), "--report-dir", reports, "--sandbox", sandbox]
    env = {**os.environ, "PYTHONPATH": str(tree)}
    start = time.perf_counter()
    done = subprocess.run(command, cwd=tree, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"bench: grade chapter {chapter} failed in {tree}: {done.stderr.strip()[-500:]}")
    return seconds


def compare(trees: dict[str, Path], chapter: int, runs: int, sandbox: str) -> dict[str, float]:
    times: dict[str, list[float]] = {name: [] for name in trees}
    with tempfile.TemporaryDirectory(prefix="bench-against-") as reports:
        for _ in range(runs):
            for name, tree in trees.items():
                times[name].append(timed(tree, chapter, reports, sandbox))
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev", help="the commit to compare with (e.g. HEAD~3, a tag, a hash)")
    parser.add_argument("--runs", type=int, default=5, help="runs per chapter 1-6 and tree (median kept)")
    parser.add_argument("--slow-runs", type=int, default=3, help="runs of chapter 7 per tree")
    parser.add_argument("--sandbox", default="auto", help="the sandbox tier both trees use")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-rev-") as scratch:
        base = Path(scratch) / "tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(base), args.rev],
                       check=True)
        try:
            trees = {"this tree": ROOT, args.rev: base}
            print(f"{'grade chapter':<15}{'this tree (s)':>15}{args.rev + ' (s)':>18}{'ratio':>8}")
            for chapter in range(1, 8):
                medians = compare(trees, chapter, args.runs if chapter < 7 else args.slow_runs, args.sandbox)
                mine, theirs = medians["this tree"], medians[args.rev]
                print(f"{chapter:<15}{mine:>15.3f}{theirs:>18.3f}{mine / theirs:>8.2f}")
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)], check=False)


if __name__ == "__main__":
    main()
