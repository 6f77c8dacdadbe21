"""What `run_autograder` runs inside Gradescope: find the student's chapter files in
$AUTOGRADER_ROOT/submission, grade them with `grade all` in a child process, and write
$AUTOGRADER_ROOT/results/results.json in Gradescope's format, always.

The chapter files may sit at the top of the upload, in one folder (at any depth up to DEPTH), or
in one .zip the student uploaded, which is unpacked with the batch's safe unzip (no links, no
paths out, size and ratio caps). When nothing can be graded (no chapter files, a refused zip, the
grader failing) the results say why, with every criterion at 0 so the assignment's total stays.

Gradescope's containers usually cannot run bubblewrap: `auto` then falls back to the process
tier, and the results' summary says which tier graded and why.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..course import Course, load_course
from ..errors import GraderError
from ..scorecard import write_atomically

DEPTH = 3                      # folders below the upload searched for chapter files
SKIPPED = ("__MACOSX",)        # what zip tools add beside a student's folder
MARGIN = 60.0                  # the grader's own start-up and reports, beyond the chapters' limits


@dataclass(frozen=True)
class Found:
    folder: Path
    where: str                 # for the student: where the graded files were found


@dataclass(frozen=True)
class Unusable:
    reason: str


def _chapter_folders(top: Path, names: set[str]) -> dict[Path, int]:
    """Every folder down to DEPTH holding chapter files, with how many it holds (links not followed)."""
    found: dict[Path, int] = {}
    level = [top]
    for _ in range(DEPTH + 1):
        following = []
        for folder in level:
            try:
                entries = sorted(folder.iterdir())
            except OSError:
                continue
            count = sum(e.name in names and not e.is_symlink() for e in entries)
            if count:
                found[folder] = count
            following += [e for e in entries if e.is_dir() and not e.is_symlink()
                          and not e.name.startswith(".") and e.name not in SKIPPED]
        level = following
    return found


def chapter_folder(top: Path, course: Course) -> Path | Unusable | None:
    """The one folder with the most chapter files; None when there is none."""
    found = _chapter_folders(top, {ch.file for ch in course.chapters})
    if not found:
        return None
    most = max(found.values())
    best = [folder for folder, count in found.items() if count == most]
    if len(best) > 1:
        names = ", ".join(str(folder.relative_to(top)) or "." for folder in best)
        return Unusable(f"your upload has chapter files in several folders ({names}); upload one set of them")
    return best[0]


def find_submission(submission: Path, course: Course, scratch: Path) -> Found | Unusable:
    from ..batch.unzip import ZipRefused, safe_unzip   # the batch's safe unzip, loaded when needed
    expected = ", ".join(ch.file for ch in course.chapters)
    if not submission.is_dir():
        return Unusable(f"there is no submission folder ({submission})")
    folder = chapter_folder(submission, course)
    if isinstance(folder, Unusable):
        return folder
    if folder is not None:
        inside = folder.relative_to(submission).as_posix()
        return Found(folder, "your upload" if inside == "." else f"the folder {inside}/ of your upload")
    archives = sorted(p for p in submission.rglob("*.zip") if p.is_file() and not p.is_symlink()
                      and len(p.relative_to(submission).parts) <= DEPTH + 1)
    if len(archives) > 1:
        return Unusable(f"your upload has {len(archives)} .zip files and no chapter files; upload one of them")
    if archives:
        archive = archives[0]
        try:
            unzipped = safe_unzip(archive, scratch / "unzipped")
        except ZipRefused as refused:
            return Unusable(f"{archive.name} was not unpacked: it {refused.reason}")
        folder = chapter_folder(unzipped.folder, course)
        if isinstance(folder, Unusable):
            return folder
        if folder is None:
            return Unusable(f"{archive.name} holds none of the chapter files ({expected})")
        inside = folder.relative_to(unzipped.folder).as_posix()
        return Found(folder, archive.name + ("" if inside == "." else f", folder {inside}/"))
    return Unusable(f"no chapter files were found in your upload; the grader looks for {expected} "
                    f"at its top, in a folder, or in one .zip")


def not_graded(course: Course, reason: str, seconds: float) -> dict[str, Any]:
    """Results that say why nothing was graded, each criterion at 0 of its points."""
    tests = [{"name": f"Chapter {ch.number} · {c.title}", "number": f"{ch.number}.{i}", "score": 0,
              "max_score": c.points, "status": "failed", "visibility": "visible",
              "output": f"not graded: {reason}", "tags": [c.id]}
             for ch in course.chapters for i, c in enumerate(ch.criteria, start=1)]
    return {"score": 0, "execution_time": round(seconds), "output": f"Not graded: {reason}",
            "visibility": "visible", "stdout_visibility": "hidden", "tests": tests}


def grade_found(found: Found, course: Course, scratch: Path, sandbox: str) -> dict[str, Any] | str:
    """Gradescope's results for the found files, or why the grader gave none."""
    reports = scratch / "reports"
    command = [sys.executable, "-m", "grader", "all", "--course", str(course.path), "--submission",
               str(found.folder), "--report-dir", str(reports), "--format", "gradescope", "--sandbox", sandbox]
    limit = sum(ch.limits.chapter_timeout for ch in course.chapters) + MARGIN
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=limit, stdin=subprocess.DEVNULL,
                              env={**os.environ, "NO_COLOR": "1"})
    except subprocess.TimeoutExpired:
        return f"the grader did not finish within {limit:g} s"
    print(done.stdout, end="")          # Gradescope keeps it for the instructor (results/stdout)
    print(done.stderr, end="", file=sys.stderr)
    path = reports / "gradescope.json"
    if done.returncode not in (0, 1) or not path.is_file():
        last = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        return f"the grader could not grade it ({last})"
    results = json.loads(path.read_text(encoding="utf-8"))
    results["output"] = f"Graded the chapter files found in {found.where}.\n{results['output']}"
    return results


def run(root: Path, sandbox: str = "auto") -> dict[str, Any]:
    started = time.monotonic()
    course = load_course(root / "source" / "course.yaml")
    scratch = root / "work"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    found = find_submission(root / "submission", course, scratch)
    if isinstance(found, Unusable):
        return not_graded(course, found.reason, time.monotonic() - started)
    results = grade_found(found, course, scratch, sandbox)
    if isinstance(results, str):
        return not_graded(course, results, time.monotonic() - started)
    return results


def broken(why: str) -> dict[str, Any]:
    return {"score": 0, "output": f"The autograder could not run: {why}. Please tell your instructor.",
            "stdout_visibility": "hidden", "tests": []}


def main() -> int:
    root = Path(os.environ.get("AUTOGRADER_ROOT", "/autograder"))
    target = root / "results" / "results.json"
    try:
        results = run(root, os.environ.get("GRADE_SANDBOX", "auto"))
    except (GraderError, OSError) as error:    # the bundle itself is broken: say so where it is read
        results = broken(str(error))
    except Exception as error:                  # a bug of ours: still a results.json, never silence
        traceback.print_exc()
        results = broken(f"internal error {type(error).__name__}: {error}")
    write_atomically(target, json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"results: {target} ({results['score']} points)")
    return 0   # Gradescope reads results.json whatever the exit code; a non-zero one only adds noise


if __name__ == "__main__":
    sys.exit(main())
