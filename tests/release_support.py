"""One fresh student release per test session, shared by test_release.py and test_workflow.py.

It is made the way an instructor makes one, minus the mistake bank (which would take minutes):
`build_release` records the oracle from the reference and the starters only, then verifies the
release against every fixture submission besides, graded by the instructor's tree and by the
release, none of which the oracle was recorded from. The course has short request limits, so
the endless loop fixture costs seconds."""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from grader.course import load_course
from grader.release.build import ReleaseSummary, build_release
from submissions import FIXTURES, assemble, short_limits_course

# A fixture graded here on chapter 1 only: with --integrated (as every release grading is), its
# AlwaysEqual object reaches chapter 5's gradient check, whose recorded data then cannot be
# written to results.json (an internal error of the instructor's tree as much as the release's).
CHAPTER_ONE_ONLY = {"unruly-always-equal-ch1-dot"}


@dataclass(frozen=True)
class Release:
    root: Path              # the release
    course: Path            # the instructor's course.yaml it was made from (short limits)
    submissions: Path       # the fixture submissions, assembled
    summary: ReleaseSummary


def fixture_names() -> list[str]:
    """The fixture submissions of tests/fixtures/submissions built by `assemble` (the hostile ones
    need their own assembly and are about the sandbox, which a release shares unchanged; the
    budget ones train for minutes on purpose and are graded by tests/test_budget.py)."""
    return sorted(p.name for p in FIXTURES.iterdir()
                  if p.is_dir() and not p.name.startswith(("hostile-", "budget-")))


@functools.lru_cache(maxsize=None)
def fresh_release() -> Release:
    scratch = Path(tempfile.mkdtemp(prefix="release-tests-"))
    atexit.register(shutil.rmtree, scratch, True)
    course_yaml = short_limits_course(scratch, request_timeout=1.0, chapter_timeout=60.0)
    submissions = scratch / "submissions"
    for name in fixture_names():
        assemble(name, submissions if name not in CHAPTER_ONE_ONLY else scratch / "aside")
    summary = build_release(course=load_course(course_yaml), out=scratch / "release", jobs=2, bank=False,
                            check=[submissions])
    return Release(scratch / "release", course_yaml, submissions, summary)
