"""The one entry point of the core: grade some chapters of a submission into a Scorecard."""

from __future__ import annotations

import platform
import time
from datetime import datetime, timezone
from pathlib import Path

from . import __version__
from .budget import training_records
from .calibration import calibrate
from .course import Course
from .reference import ReferenceSource
from .runner import RunOptions, run_chapters
from .sandbox.standby import Standby
from .sandbox.tiers import resolve_tier
from .scorecard import Scorecard
from .scoring import score_chapters
from .submission import locate_submission


def grade(*, course: Course, reference: ReferenceSource, submission: Path, chapters: list[int],
          sandbox: str = "auto", integrated: bool = False, seed: int | None = None,
          standby: Standby | None = None) -> Scorecard:
    """Run the hidden tests of `chapters` against the submission folder and score them, with
    reference answers from `reference` (and workers from `standby`, when the caller keeps some
    started ahead of need)."""
    for number in chapters:
        course.chapter(number)  # an unknown chapter is a usage error before anything runs
    tier, note = resolve_tier(sandbox)
    located = locate_submission(submission, course)
    seed, integrated = reference.settle(seed, integrated)  # a student release: its own seed, integrated
    started = datetime.now(timezone.utc)
    clock = time.monotonic()
    # The reference's training time on this machine: measured at the first grading, then cached.
    calibrations = calibrate(course, [n for n in chapters if located.has(n)], tier)
    options = RunOptions(tier, integrated, seed, calibrations, standby)
    runs, outcomes = run_chapters(course, located, chapters, options, reference)
    return Scorecard(
        grader_version=__version__,
        course_title=course.title, course_version=course.version, course_sha256=course.sha256,
        submission_path=str(located.path), submission_sha256=located.sha256,
        sandbox=tier, sandbox_note=note, seed=seed, integrated=integrated,
        python=platform.python_version(),
        started=started.isoformat(timespec="seconds"),
        duration=round(time.monotonic() - clock, 3),
        chapters=score_chapters(course, runs, outcomes),
        training=training_records({n: course.chapter(n).limits.training_timeout for n in chapters},
                                  {run.number: run.training_cpu for run in runs}, calibrations),
    )
