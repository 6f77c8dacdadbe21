"""The HTML scorecard's pages as data: everything a page shows, decided and formatted here, so
the templates only display it (as coverage.py's report does) and tests can check the data
without parsing HTML."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from ..budget import budget_lines
from ..outcomes import Diagnosis
from ..scorecard import Scorecard
from ..scoring import ChapterResult, CriterionResult
from .figures import Figures, chapter_figures
from .status import CHAPTER_MARKS, Mark, chapter_state, mark
from .text import Clipped, Span, clip, code_spans, percent, printable, score_text

# How much of a student's printed output a page shows (results.json keeps what was captured).
OUTPUT_CHARS = 4000
OUTPUT_LINES = 60


@dataclass(frozen=True)
class Bar:
    percent: float
    label: str      # what the bar says, for screen readers


@dataclass(frozen=True)
class Location:
    lead: str               # "Raised in", or "Still running in" for a timeout
    file: str
    line: int | None
    function: str
    code: str


@dataclass(frozen=True)
class Link:
    href: str
    label: str


@dataclass(frozen=True)
class Misconception:
    """A known mistake that reproduces the criterion's failures: what the student probably did."""

    title: str
    explanation: tuple[Span, ...]   # what they probably did and why it is wrong, `code` marked
    lesson: str                     # the section of the guide to read again
    guide: str                      # the guide's path in the course
    again: bool                     # already explained above on this page: title only


@dataclass(frozen=True)
class CriterionRow:
    id: str
    title: str
    mark: Mark
    score: str
    max_score: int
    message: str
    hint: tuple[Span, ...]  # the course's help, with `code` marked
    checks: str             # "2 of 3 checks passed", when a criterion has several
    hidden: bool            # details are withheld: title, points and hint only
    call: str               # call, expected and actual: visible criteria that did not pass
    expected: str | None
    actual: str | None
    location: Location | None
    see: tuple[Link, ...] = ()    # the pictures drawn from this criterion's data
    misconceptions: tuple[Misconception, ...] = ()
    context: str = ""       # how the result depends on the chapter's other parts

    @property
    def has_details(self) -> bool:
        return bool(self.call) or self.expected is not None or self.actual is not None


@dataclass(frozen=True)
class Output:
    label: str
    text: str
    cuts: tuple[str, ...]   # the visible markers saying what is not shown, and why


@dataclass(frozen=True)
class Provenance:
    items: tuple[tuple[str, str], ...]      # (label, value), in display order


@dataclass(frozen=True)
class ChapterPage:
    course: str
    number: int
    title: str
    file: str
    submission: str
    state: Mark
    note: str               # why a chapter was not graded
    score: str
    max_score: int
    bar: Bar
    tally: str              # "5 of 8 criteria passed"
    criteria: tuple[CriterionRow, ...]
    figures: Figures
    outputs: tuple[Output, ...]
    files: tuple[tuple[str, str], ...]      # (file name, whose: "yours" | "reference")
    run_note: str           # how long the chapter took, and any worker restarts
    index: Link
    previous: Link | None
    next: Link | None
    provenance: Provenance


@dataclass(frozen=True)
class ChapterLine:
    number: int
    title: str
    href: str
    state: Mark
    score: str
    max_score: int
    bar: Bar
    tally: str


@dataclass(frozen=True)
class IndexPage:
    course: str
    submission: str
    score: str
    max_score: int
    bar: Bar
    tally: str
    chapters: tuple[ChapterLine, ...]
    provenance: Provenance


def chapter_filename(number: int) -> str:
    return f"chapter-{number:02d}.html"


def _bar(score, max_score: int) -> Bar:
    return Bar(percent(score, max_score), f"{score_text(score)} of {max_score} points")


def _date(started: str) -> str:
    try:
        moment = datetime.fromisoformat(started)
    except ValueError:
        return started
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _seconds(value: float) -> str:
    return f"{value:.2f} s" if value < 60 else f"{int(value // 60)} min {value % 60:.0f} s"


def provenance(card: Scorecard) -> Provenance:
    sandbox = card.sandbox + (f" ({card.sandbox_note})" if card.sandbox_note else "")
    return Provenance((
        ("Grader", f"grade {card.grader_version}"),
        ("Course", f"{card.course_title} {card.course_version}"),
        ("Course sha256", card.course_sha256),
        ("Submission sha256", card.submission_sha256),
        ("Earlier chapters", "yours (integrated)" if card.integrated else "the reference's"),
        ("Seed", str(card.seed)),
        ("Sandbox", sandbox),
        ("Python", card.python),
        ("Date", _date(card.started)),
        ("Duration", _seconds(card.duration)),
        *_training_rows(card),
    ))


def _training_rows(card: Scorecard) -> list[tuple[str, str]]:
    """Each chapter's training budget, what the training used and how the reference was timed."""
    used = {ch.number: ch.run.training_cpu for ch in card.chapters}
    return [row for record in card.training for row in budget_lines(record, used.get(record.chapter))]


def _location(c: CriterionResult) -> Location | None:
    where = c.location
    if not isinstance(where, dict) or not where.get("file"):
        return None
    line = where.get("line")
    lead = "Still running in" if c.status == "timeout" else "Raised in"
    return Location(lead=lead, file=printable(str(where["file"])), line=line if isinstance(line, int) else None,
                    function=printable(str(where.get("function") or "")),
                    code=printable(str(where.get("code") or "")).strip())


# Which picture each recorded data key feeds, and the id of its heading on the page.
PICTURES = {"gradcheck": ("gradcheck", "#gc-h", "the gradient check"),
            "loss_curve": ("loss", "#loss-h", "the loss per epoch"),
            "letters": ("letters", "#letters-h", "the 26 letters")}


def _see(c: CriterionResult, figures: Figures) -> tuple[Link, ...]:
    if c.visibility != "visible":
        return ()
    return tuple(Link(href, label) for key, (name, href, label) in PICTURES.items()
                 if c.data.get(key) and getattr(figures, name) is not None)


def _misconception(d: Diagnosis, again: bool) -> Misconception:
    # Shown for hidden criteria too: it names a misconception, not the hidden checks or values.
    return Misconception(title=printable(d.title), explanation=code_spans(f"{d.did} {d.why}"),
                         lesson=printable(d.lesson), guide=printable(d.guide), again=again)


def criterion_row(c: CriterionResult, figures: Figures = Figures(), explained: frozenset[str] = frozenset()
                  ) -> CriterionRow:
    """`explained`: the mistakes already explained higher up the page."""
    # scoring.py already blanks the details of hidden criteria; checking again here keeps a
    # hidden case off the page even if a result was built some other way.
    shows_details = c.visibility == "visible" and c.status != "passed"
    return CriterionRow(
        id=c.id, title=c.title, mark=mark(c.status), score=score_text(c.score), max_score=c.max_score,
        message=printable(c.message) if c.status != "passed" else "",
        hint=code_spans(c.help) if c.help and c.status not in ("passed", "skipped") else (),
        checks=f"{c.passed} of {c.total} checks passed" if c.total > 1 and c.status != "skipped" else "",
        hidden=c.visibility != "visible",
        call=printable(c.call) if shows_details else "",
        expected=printable(c.expected) if shows_details and c.expected is not None else None,
        actual=printable(c.actual) if shows_details and c.actual is not None else None,
        location=_location(c) if c.status != "passed" else None,
        see=_see(c, figures),
        context=printable(c.context),
        misconceptions=tuple(_misconception(d, d.mistake in explained) for d in c.diagnosis)
        if c.status != "passed" else (),
    )


def _rows(chapter: ChapterResult, figures: Figures) -> tuple[CriterionRow, ...]:
    rows, explained = [], frozenset()
    for c in chapter.criteria:
        rows.append(criterion_row(c, figures, explained))
        explained |= {d.mistake for d in c.diagnosis}
    return tuple(rows)


def _tally(criteria) -> str:
    passed = sum(c.status == "passed" for c in criteria)
    return f"{passed} of {len(criteria)} criteria passed"


def _cuts(clipped: Clipped, capped: bool) -> tuple[str, ...]:
    cuts = []
    if clipped.cut:
        cuts.append(f"✂ {clipped.hidden_chars:,} more characters not shown here (of {clipped.total_chars:,}); "
                    "results.json has all that was captured.")
    if capped:
        cuts.append("✂ The grader stopped capturing output at its size limit; later output was not kept.")
    return tuple(cuts)


def _outputs(chapter: ChapterResult) -> tuple[Output, ...]:
    run = chapter.run
    shown = []
    for label, text in (("Printed output (stdout)", run.stdout), ("Errors and warnings (stderr)", run.stderr)):
        if text:
            clipped = clip(text, max_chars=OUTPUT_CHARS, max_lines=OUTPUT_LINES)
            shown.append(Output(label, clipped.text, _cuts(clipped, run.output_truncated)))
    return tuple(shown)


def _run_note(chapter: ChapterResult) -> str:
    note = f"The chapter's checks took {_seconds(chapter.run.duration)}."
    restarts = chapter.run.restarts
    if restarts:
        note += f" The worker was restarted {restarts} time{'s' if restarts != 1 else ''} after a crash or timeout."
    return note


def _state(chapter: ChapterResult) -> Mark:
    return CHAPTER_MARKS[chapter_state(chapter.status, [c.status for c in chapter.criteria])]


def chapter_page(card: Scorecard, chapter: ChapterResult) -> ChapterPage:
    numbers = [ch.number for ch in card.chapters]
    at = numbers.index(chapter.number)
    before = card.chapters[at - 1] if at > 0 else None
    after = card.chapters[at + 1] if at + 1 < len(numbers) else None
    graded = chapter.status == "graded"
    figures = chapter_figures(chapter) if graded else Figures()
    return ChapterPage(
        course=card.course_title, number=chapter.number, title=chapter.title, file=chapter.file,
        submission=card.submission_path, state=_state(chapter),
        note=printable(chapter.run.note) if not graded else "",
        score=score_text(chapter.score), max_score=chapter.max_score, bar=_bar(chapter.score, chapter.max_score),
        tally=_tally(chapter.criteria),
        criteria=_rows(chapter, figures),
        figures=figures,
        outputs=_outputs(chapter),
        files=tuple((name, "yours" if who == "student" else "the reference's")
                    for name, who in chapter.run.files.items()),
        run_note=_run_note(chapter),
        index=Link("index.html", "All chapters"),
        previous=Link(chapter_filename(before.number), f"Chapter {before.number}") if before else None,
        next=Link(chapter_filename(after.number), f"Chapter {after.number}") if after else None,
        provenance=provenance(card),
    )


def index_page(card: Scorecard) -> IndexPage:
    lines = tuple(ChapterLine(
        number=ch.number, title=ch.title, href=chapter_filename(ch.number), state=_state(ch),
        score=score_text(ch.score), max_score=ch.max_score, bar=_bar(ch.score, ch.max_score),
        tally=_tally(ch.criteria) if ch.status == "graded" else printable(ch.run.note),
    ) for ch in card.chapters)
    criteria = [c for ch in card.chapters for c in ch.criteria]
    return IndexPage(
        course=card.course_title, submission=card.submission_path,
        score=score_text(card.score), max_score=card.max_score, bar=_bar(card.score, card.max_score),
        tally=f"{len(card.chapters)} chapter{'s' if len(card.chapters) != 1 else ''}, {_tally(criteria)}",
        chapters=lines, provenance=provenance(card),
    )
