"""`python -m grader.batch.judge OUT`: the judge of one batch submission, in a process of its own.

Reads one job (bundle.py's JSON) on standard input, grades every chapter exactly as `grade all`
does (student code runs in the sandboxed worker this process starts, never here), and writes
results.json and the HTML scorecard into the folder OUT. A process per submission keeps
submissions apart and lets the batch kill a judge that outlives its wall-clock limit.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import sys
import tempfile
import traceback
from dataclasses import replace
from pathlib import Path

from ..course import Course
from ..errors import CourseError, GraderError
from ..grading import grade
from ..release.source import source_for
from ..report import write_reports
from ..warm import preloaded_course
from .bundle import CourseFiles, job_from_json, write_bundle

PR_SET_PDEATHSIG = 1
PARENT_ENV = "GRADE_BATCH_PARENT"


def die_with_parent() -> None:
    """Ask Linux to kill this judge when the process that started it dies: a batch killed with
    SIGKILL must not leave judges grading for no one. (Its bwrap workers die with it in turn.)"""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return  # not Linux: the batch's own timeout still bounds the judge
    expected = os.environ.get(PARENT_ENV)
    if expected and os.getppid() != int(expected):
        os._exit(3)  # the parent died before the request above took effect


def _preloaded(files: CourseFiles) -> Course | None:
    """The warm server's pre-loaded course when it is this job's, byte for byte (rubric and
    reference): its reference is imported and sealed already."""
    course = preloaded_course()
    try:
        return course if course is not None and CourseFiles.of(course) == files else None
    except CourseError:  # its files changed or went away: load the job's own copy
        return None


def run(out: Path, job_text: str) -> None:
    job = job_from_json(json.loads(job_text))
    with tempfile.TemporaryDirectory(prefix="grade-job-") as scratch:
        course = _preloaded(job.course) or job.course.materialize(Path(scratch) / "course")
        submission = Path(scratch) / "submission"
        write_bundle(job.bundle, submission)
        card = grade(course=course, reference=source_for(course), submission=submission,
                     chapters=[ch.number for ch in course.chapters], sandbox=job.sandbox, seed=job.seed)
    # The scorecards name the entry in the class folder, not this process's scratch folder.
    write_reports(replace(card, submission_path=job.label), out, ("html",))


def main(argv: list[str]) -> int:
    die_with_parent()
    if len(argv) != 2:
        print("usage: python -m grader.batch.judge OUT < job.json", file=sys.stderr)
        return 2
    try:
        run(Path(argv[1]), sys.stdin.read())
    except GraderError as error:
        print(f"grade: error: {error}", file=sys.stderr)
        return error.exit_code
    except Exception as error:  # a bug of ours: the batch reports the last line for this student
        traceback.print_exc()
        print(f"grade: internal error: {type(error).__name__}: {error}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
