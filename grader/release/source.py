"""Which reference source a course folder needs (grader/reference.py): the live reference in the
instructor's tree, the same recorded while `grade release` asks (record.py), or a student
release's oracle (replay.py). The command line and the batch judge call `source_for`; the engine
never does. The release's modules load only when the course is one, or is being recorded.
"""

from __future__ import annotations

import os

from ..course import Course
from ..reference import LiveReference, ReferenceSource
from .oracle import is_release

RECORD_ENV = "GRADE_RECORD_ORACLE"  # set by `grade release` for each of its recording gradings


def source_for(course: Course) -> ReferenceSource:
    """The reference source for `course`: its oracle in a student release, the live reference
    (recorded while `grade release` asks) in the instructor's tree."""
    if is_release(course):
        from .replay import ReplayReference
        return ReplayReference(course)
    if os.environ.get(RECORD_ENV):
        from .record import RecordingReference
        return RecordingReference(course)
    return LiveReference(course)
