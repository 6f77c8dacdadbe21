"""`make test` in a student release: grade the untouched starters (oracle/starters) with this
grader, in this sandbox, with these recorded answers, and check that exactly what must happen
happens: every chapter graded, every gate passed, every other check "not implemented yet".

Run as `python -m grader.release.smoke` from the release (or a folder inside it)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from ..course import Course, find_course, load_course
from ..errors import GraderError
from ..grading import grade
from ..scorecard import Scorecard
from .oracle import ORACLE_DIR, is_release, load_oracle
from .replay import ReplayReference


def starter_problems(card: Scorecard) -> list[str]:
    """What is wrong with a grading of the untouched starters (pure)."""
    problems = []
    for chapter in card.chapters:
        if chapter.status != "graded":
            problems.append(f"chapter {chapter.number} was not graded: {chapter.run.note}")
            continue
        for c in chapter.criteria:
            if c.max_score == 0 and c.status != "passed":
                problems.append(f"{c.id}: a starter must pass this check, got {c.status}: {c.message}")
            elif c.max_score > 0 and not (c.status == "failed" and c.message.startswith("not implemented yet")):
                problems.append(f"{c.id}: expected \"not implemented yet\", got {c.status}: {c.message}")
    return problems


def main() -> int:
    try:
        course = load_course(find_course(Path.cwd()))
    except GraderError as error:
        print(f"grade: error: {error}", file=sys.stderr)
        return error.exit_code
    return check_release(course)


def check_release(course: Course) -> int:
    """Grade the release's untouched starters and say whether they scored as they must; the exit
    code (also what `grade selftest` returns in a release)."""
    try:
        if not is_release(course):
            print("grade: this is not a student release (no oracle/oracle.json next to course.yaml)", file=sys.stderr)
            return 2
        oracle = load_oracle(course)
        clock = time.monotonic()
        card = grade(course=course, reference=ReplayReference(course),
                     submission=course.root / ORACLE_DIR / "starters", chapters=[ch.number for ch in course.chapters])
    except GraderError as error:
        print(f"grade: error: {error}", file=sys.stderr)
        return error.exit_code
    problems = starter_problems(card)
    if problems:
        print("grade does not work as it should here:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    checks = sum(len(ch.criteria) for ch in card.chapters)
    print(f"ok: the grader works here; it graded the untouched starters as expected ({len(card.chapters)} "
          f"chapters, {checks} checks, sandbox {card.sandbox}, {time.monotonic() - clock:.1f} s)")
    print(f"ok: {len(oracle.answers):,} recorded answers for {oracle.course}, seed {oracle.seed}")
    print("next: `source .venv/bin/activate`, then `grade chapter 1` (or `.venv/bin/grade chapter 1`)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
