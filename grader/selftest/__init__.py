"""`grade selftest`: proves that the rubric grades what it claims, with the real grader.

    plan.py      which gradings: the reference (isolated and --integrated), the starters, and every
                 entry of the mistake bank in its own chapter plus a neighbour (pure)
    execute.py   each grading is `grade chapter ...` in its own process, several at a time
    verdict.py   results.json -> the sensitivity matrix and the checks (pure)
    render.py    the matrix as text, an HTML page and JSON

It fails when a mistake goes undetected or is caught somewhere it should not be, when a harmless
variant loses points, when a criterion worth points catches nothing, when the reference or the
starters do not score as they must, or when the diagnosis names the wrong mistake.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from ..course import Course
from ..errors import CourseError, UsageError
from ..mistakes import load_bank
from ..mistakes.bank import fingerprint
from ..scorecard import write_atomically
from .execute import grade_all, guide_headings
from .plan import plan_runs
from .render import Summary, render_html, render_text, selftest_json, selftest_page
from .verdict import Graded, Verdict, judge


@dataclass(frozen=True)
class SelftestResult:
    verdict: Verdict
    text: str           # the report for the terminal
    html: Path
    json: Path

    @property
    def passed(self) -> bool:
        return self.verdict.passed


def check_can_selftest(course: Course) -> None:
    """The self-test grades the reference and the bank's edits of it: say in one line when this
    course folder has no reference (a student release never has one)."""
    from ..release.oracle import is_release
    if is_release(course):
        raise UsageError("grade selftest proves the rubric with the instructor's reference solutions and mistake "
                         "bank, which a student release leaves out; in a release, `make test` checks its grader")
    missing = [ch.file for ch in course.chapters if not (course.reference / ch.file).is_file()]
    if missing:
        raise CourseError(f"grade selftest grades the reference solutions, and {course.reference} lacks "
                          f"{', '.join(missing)}")


def run_selftest(*, course: Course, report_dir: Path, jobs: int | None = None, sandbox: str = "auto",
                 progress: Callable[[Graded, int, int], None] | None = None) -> SelftestResult:
    """Grade everything the bank and the course call for; write selftest.html and selftest.json."""
    check_can_selftest(course)
    bank = load_bank(course)  # a broken bank stops here, before anything runs
    runs = plan_runs(course, bank)
    jobs = jobs or os.cpu_count() or 1
    started = datetime.now(timezone.utc)
    clock = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="grade-selftest-") as scratch:
        graded = grade_all(runs, course, Path(scratch), report_dir / "runs", jobs=jobs, sandbox=sandbox,
                           progress=progress)
    verdict = judge(course, bank, graded, guide_headings(course))
    tiers = sorted({g.results["sandbox"] for g in graded if g.results})  # what "auto" resolved to
    summary = Summary(course=f"{course.title} {course.version}", bank=fingerprint(bank),
                      seconds=round(time.monotonic() - clock, 1), jobs=jobs, sandbox=", ".join(tiers) or sandbox,
                      runs=len(runs),
                      started=started.isoformat(timespec="seconds"))
    html, data = report_dir / "selftest.html", report_dir / "selftest.json"
    write_atomically(html, render_html(selftest_page(course, verdict, summary, report_dir)))
    write_atomically(data, json.dumps(selftest_json(verdict, summary, graded), indent=2, ensure_ascii=False) + "\n")
    return SelftestResult(verdict, render_text(course, verdict, summary, html), html, data)
