"""What the diagnosis costs a failing `grade chapter N`, side by side with another commit.

    python bench/bench_diagnosis.py REV [--runs N] [--chapters N ...]

Checks REV out into a temporary git worktree and builds failing submissions: for each chapter,
the first two mistakes of bench/independent-mistakes.yaml written into the reference chapter.
Each is graded with `grade chapter N --submission DIR` (a real subprocess, report included) by
REV's grader and by this tree's, alternating run by run, in three ways for this tree:

    cold    no stored rows (grader/mistakes/rows.py): every candidate needed is replayed
    warm    the rows left by grading every submission of the bench once (a class already graded)
    full    complete rows, as `grade selftest` leaves them

Prints the median wall time of each and its ratio to REV's. Both trees share one cache folder
(XDG_CACHE_HOME, a temporary one) so that chapter 7's training calibration is measured once.
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

import yaml

ROOT = Path(__file__).resolve().parent.parent


def submissions(folder: Path, chapters: list[int], per_chapter: int) -> list[tuple[int, str, Path]]:
    """(chapter, mistake id, folder) of each failing submission."""
    document = yaml.safe_load((ROOT / "bench" / "independent-mistakes.yaml").read_text(encoding="utf-8"))
    files = {int(p.name[:2]): p for p in (ROOT / "reference").glob("0[1-7]_*.py")}
    found = []
    for chapter in chapters:
        for entry in [e for e in document["mistakes"] if e["chapter"] == chapter][:per_chapter]:
            source = files[chapter].read_text(encoding="utf-8")
            for edit in entry["edits"]:
                source = source.replace(edit["old"], edit["new"])
            target = folder / entry["id"]
            target.mkdir(parents=True)
            (target / files[chapter].name).write_text(source, encoding="utf-8")
            found.append((chapter, entry["id"], target))
    return found


def grade(tree: Path, chapter: int, submission: Path, reports: Path, env: dict) -> float:
    command = [sys.executable, "-m", "grader", "chapter", str(chapter), "--course", str(tree / "course.yaml"),
               "--submission", str(submission), "--report-dir", str(reports)]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=tree, env={**env, "PYTHONPATH": str(tree)}, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):
        sys.exit(f"bench: grade chapter {chapter} failed in {tree}: {done.stderr.strip()[-500:]}")
    return seconds


def forget_rows(cache: Path) -> None:
    for path in (cache / "mlp-grader").glob("diagnosis-*.json"):
        path.unlink()


def full_rows(env: dict) -> None:
    """Complete rows of every candidate on the reference's sequence of tests (as `grade selftest`)."""
    code = ("from pathlib import Path; from grader.course import load_course; "
            "from grader.mistakes.measure import warm_rows; "
            f"warm_rows(load_course(Path({str(ROOT / 'course.yaml')!r})))")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**env, "PYTHONPATH": str(ROOT)}, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev", help="the commit to compare with")
    parser.add_argument("--runs", type=int, default=5, help="runs per submission, tree and way (median kept)")
    parser.add_argument("--chapters", type=int, nargs="+", default=[1, 2, 3, 4, 5, 6])
    parser.add_argument("--per-chapter", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-diagnosis-") as scratch:
        scratch_path = Path(scratch)
        base = scratch_path / "tree"
        # one cache folder per way, so that the ways can alternate run by run
        envs = {way: {**os.environ, "NO_COLOR": "1", "XDG_CACHE_HOME": str(scratch_path / f"cache-{way}")}
                for way in WAYS}
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(base), args.rev],
                       check=True)
        try:
            cases = submissions(scratch_path / "submissions", args.chapters, args.per_chapter)
            reports = scratch_path / "reports"
            for _chapter, _ident, folder in cases:  # a class already graded
                grade(ROOT, _chapter, folder, reports, envs["warm"])
            full_rows(envs["full"])
            times = {ident: {way: [] for way in WAYS} for _, ident, _ in cases}
            for _ in range(args.runs):
                for chapter, ident, folder in cases:
                    for way in WAYS:
                        if way == "cold":
                            forget_rows(Path(envs[way]["XDG_CACHE_HOME"]))
                        tree = base if way == "rev" else ROOT
                        times[ident][way].append(grade(tree, chapter, folder, reports, envs[way]))
            report(cases, times)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)], check=False)


WAYS = ("rev", "cold", "warm", "full")


def report(cases: list[tuple[int, str, Path]], times: dict[str, dict[str, list[float]]]) -> None:
    print(f"{'chapter':<8}{'mistake':<36}{'REV (s)':>9}{'cold':>8}{'ratio':>7}{'warm':>8}{'ratio':>7}"
          f"{'full':>8}{'ratio':>7}")
    ratios: dict[str, list[float]] = {"cold": [], "warm": [], "full": []}
    for chapter, ident, _folder in cases:
        rev = statistics.median(times[ident]["rev"])
        line = f"{chapter:<8}{ident:<36}{rev:>9.3f}"
        for way in ("cold", "warm", "full"):
            mine = statistics.median(times[ident][way])
            ratios[way].append(mine / rev)
            line += f"{mine:>8.3f}{mine / rev:>7.2f}"
        print(line, flush=True)
    print("median ratio: " + ", ".join(f"{way} {statistics.median(r):.2f}" for way, r in ratios.items()))


if __name__ == "__main__":
    main()
