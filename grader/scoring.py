"""Outcomes to points: the rubric's rules as small pure functions.

A criterion's status is its worst test's: error, then timeout, then failed; skipped when every
test that did not pass was skipped. Points: `all` gives the criterion's points only when every
test passed; `proportional` gives points x passed / total. Scores are rounded to 2 decimals
only for display; totals add the exact fractions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from .course import Chapter, Course, Criterion
from .outcomes import GRADER_FAULT, RELATIVE, ChapterRun, Diagnosis, TestOutcome

HIDDEN_MESSAGES = {
    "failed": "some hidden checks failed",
    "error": "your code raised an error during the hidden checks",
    "timeout": "your code did not finish in time during the hidden checks",
}


@dataclass(frozen=True)
class CriterionResult:
    id: str
    title: str
    score: Fraction
    max_score: int
    status: str
    visibility: str
    message: str = ""
    help: str = ""
    call: str = ""
    expected: str | None = None
    actual: str | None = None
    location: dict | None = None
    passed: int = 0
    total: int = 0
    data: dict = field(default_factory=dict)
    diagnosis: tuple[Diagnosis, ...] = ()   # known mistakes that reproduce its failures exactly
    scope: str = "part"     # or end-to-end: it grades the chapter's parts together
    note: str = ""          # an end-to-end criterion's word on what it depends on
    relative: str = ""      # passed only relative to the student's own lower parts: why, and where the cause is

    @property
    def context(self) -> str:
        """How the result relates to the chapter's other parts: a composing part that passed only
        relative to the student's own (wrong) lower parts, or an end-to-end criterion that lost
        points, which a mistake in any part can cause."""
        if self.relative:
            return self.relative
        return self.note if self.scope == "end-to-end" and self.status not in ("passed", "skipped") else ""


@dataclass(frozen=True)
class ChapterResult:
    number: int
    title: str
    file: str
    status: str
    criteria: tuple[CriterionResult, ...]
    run: ChapterRun

    @property
    def score(self) -> Fraction:
        return sum((c.score for c in self.criteria), Fraction(0))

    @property
    def max_score(self) -> int:
        return sum(c.max_score for c in self.criteria)


def criterion_status(statuses: list[str]) -> str:
    if not statuses:
        return "skipped"
    for status in ("error", "timeout", "failed"):
        if status in statuses:
            return status
    return "passed" if all(s == "passed" for s in statuses) else "skipped"


def criterion_points(criterion: Criterion, passed: int, total: int) -> Fraction:
    if total == 0:
        return Fraction(0)
    if criterion.partial == "proportional":
        return Fraction(criterion.points * passed, total)
    return Fraction(criterion.points) if passed == total else Fraction(0)


def _message(criterion: Criterion, first_bad: TestOutcome | None, status: str) -> str:
    if first_bad is None:
        return ""
    # Neither "not implemented yet" nor a fault of the grader's gives a hidden check away.
    said_plainly = first_bad.message.startswith(("not implemented yet", GRADER_FAULT))
    if criterion.visibility == "hidden" and status in HIDDEN_MESSAGES and not said_plainly:
        return HIDDEN_MESSAGES[status]
    return first_bad.message


def score_criterion(criterion: Criterion, outcomes: list[TestOutcome], absent: str = "") -> CriterionResult:
    """One criterion's result from its tests' outcomes (`absent`: why no test ran)."""
    statuses = [o.status for o in outcomes]
    status = criterion_status(statuses)
    passed = statuses.count("passed")
    bad = [o for o in outcomes if o.status != "passed"]
    first_bad = next((o for o in bad if o.status != "skipped"), bad[0] if bad else None)
    visible = criterion.visibility == "visible" and first_bad is not None
    data: dict[str, list] = {}
    for outcome in outcomes:
        for key, values in outcome.data.items():
            data.setdefault(key, []).extend(values)
    relative = data.pop(RELATIVE, [])
    return CriterionResult(
        id=criterion.id, title=criterion.title, max_score=criterion.points, status=status,
        visibility=criterion.visibility, help=criterion.help,
        score=criterion_points(criterion, passed, len(outcomes)),
        message=absent or _message(criterion, first_bad, status),
        call=first_bad.call if visible else "",
        expected=first_bad.expected if visible else None,
        actual=first_bad.actual if visible else None,
        location=first_bad.location if first_bad is not None else None,
        passed=passed, total=len(outcomes), data=data,
        diagnosis=next((o.diagnosis for o in bad if o.diagnosis), ()),
        scope=criterion.scope, note=criterion.note,
        relative=relative[0] if relative and status == "passed" and isinstance(relative[0], str) else "",
    )


def score_chapter(chapter: Chapter, run: ChapterRun, outcomes: list[TestOutcome]) -> ChapterResult:
    absent = run.note if run.status != "graded" else ""
    criteria = tuple(
        score_criterion(c, [o for o in outcomes if o.criterion == c.id], absent) for c in chapter.criteria
    )
    return ChapterResult(chapter.number, chapter.title, chapter.file, run.status, criteria, run)


def score_chapters(course: Course, runs: list[ChapterRun], outcomes: list[TestOutcome]) -> tuple[ChapterResult, ...]:
    return tuple(score_chapter(course.chapter(run.number), run,
                               [o for o in outcomes if o.chapter == run.number]) for run in runs)
