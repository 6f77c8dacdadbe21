"""The class overview page as data: students x chapters, the distribution of totals, and the pass
rate of every criterion, so an instructor sees at a glance what the class struggles with.

Like the student pages (report/pages.py), everything shown is decided here and class.html only
displays it. Nothing here depends on when or how fast the class was graded, so the same class
gives the same page.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from urllib.parse import quote

from ..report.html import environment
from ..report.pages import Bar, Provenance
from ..report.status import CHAPTER_MARKS, MARKS, Mark, chapter_state
from ..report.text import number, one_line, percent, printable
from .histogram import Histogram, histogram
from .records import ChapterOutline, Outline, StudentRecord
from .roster import Matched

HARDEST = 5
NOT_GRADED = {"refused": Mark("error", "!", "refused", "bad"), "error": Mark("error", "!", "not graded", "bad")}


@dataclass(frozen=True)
class Stat:
    label: str
    value: str


@dataclass(frozen=True)
class ChapterHead:
    number: int
    title: str
    max_score: int


@dataclass(frozen=True)
class Cell:
    score: str
    mark: Mark


@dataclass(frozen=True)
class StudentRow:
    student: str
    href: str | None            # the student's scorecard, when graded
    state: Mark
    cells: tuple[Cell, ...]     # empty when the student was not graded
    total: str
    note: str                   # why not graded, or what was left out of the submission


@dataclass(frozen=True)
class Rate:
    id: str
    title: str
    points: int
    passed: int
    submitted: int
    percent: float
    label: str                  # "12 of 20 (60%)"
    bar: Bar
    tone: str
    chapter: int


@dataclass(frozen=True)
class ChapterRates:
    number: int
    title: str
    note: str                   # how many submitted the chapter
    rates: tuple[Rate, ...]


@dataclass(frozen=True)
class ClassPage:
    course: str
    max_score: int
    stats: tuple[Stat, ...]
    histogram: Histogram
    chapters: tuple[ChapterHead, ...]
    rows: tuple[StudentRow, ...]
    hardest: tuple[Rate, ...]
    rates: tuple[ChapterRates, ...]
    refused: tuple[tuple[str, str], ...]
    provenance: Provenance
    roster: str = ""                                  # the roster file, when one was given
    missing: tuple[tuple[str, str], ...] = ()         # rostered students without a submission: name, id
    unmatched: tuple[str, ...] = ()                   # submissions of nobody on the roster


def _chapter_results(record: StudentRecord) -> dict[int, dict]:
    return {ch["number"]: ch for ch in (record.results or {}).get("chapters", [])}


def _cell(chapter: dict | None) -> Cell:
    if chapter is None:
        return Cell("—", CHAPTER_MARKS["missing"])
    state = chapter_state(chapter["status"], [c["status"] for c in chapter["criteria"]])
    return Cell(str(chapter["score"]), CHAPTER_MARKS[state])


def student_row(record: StudentRecord, outline: Outline) -> StudentRow:
    notes = "; ".join(printable(n) for n in record.notes)
    if record.results is None:
        reason = one_line(record.reason) + (f" ({notes})" if notes else "")
        return StudentRow(record.student, None, NOT_GRADED.get(record.status, NOT_GRADED["error"]), (), "", reason)
    chapters = _chapter_results(record)
    cells = tuple(_cell(chapters.get(ch.number)) for ch in outline.chapters)
    full = record.results["score"] == outline.max_score
    return StudentRow(record.student, f"{quote(record.student)}/index.html",
                      MARKS["passed"] if full else MARKS["failed"], cells, str(record.results["score"]), notes)


def _rate(criterion_id: str, title: str, points: int, chapter: int, statuses: list[str]) -> Rate:
    passed, submitted = statuses.count("passed"), len(statuses)
    share = percent(passed, submitted) if submitted else 0.0
    tone = "muted" if not submitted else "good" if share >= 80 else "warn" if share >= 50 else "bad"
    label = f"{passed} of {submitted} ({number(share, 3)}%)" if submitted else "nobody submitted it"
    return Rate(criterion_id, title, points, passed, submitted, share, label,
                Bar(share, f"{passed} of {submitted} passed"), tone, chapter)


def chapter_rates(chapter: ChapterOutline, graded: list[StudentRecord]) -> ChapterRates:
    """Pass rates among the students who submitted the chapter; the others are counted apart."""
    submitted = [r for r in graded if _chapter_results(r).get(chapter.number, {}).get("status", "missing") != "missing"]
    statuses: dict[str, list[str]] = {c.id: [] for c in chapter.criteria}
    for record in submitted:
        for c in _chapter_results(record)[chapter.number]["criteria"]:
            statuses.setdefault(c["id"], []).append(c["status"])
    missing = len(graded) - len(submitted)
    note = f"{len(submitted)} of {len(graded)} graded students submitted this chapter"
    note += f"; {missing} did not." if missing else "."
    return ChapterRates(chapter.number, chapter.title, note, tuple(
        _rate(c.id, c.title, c.points, chapter.number, statuses[c.id]) for c in chapter.criteria))


def hardest(rates: tuple[ChapterRates, ...], count: int = HARDEST) -> tuple[Rate, ...]:
    """The criteria worth points that the fewest students passed (ties in rubric order)."""
    candidates = [r for ch in rates for r in ch.rates if r.points > 0 and r.submitted and r.percent < 100]
    return tuple(sorted(candidates, key=lambda r: r.percent)[:count])


def _stats(records: list[StudentRecord], totals: list[float], max_score: int) -> tuple[Stat, ...]:
    graded = len(totals)
    stats = [Stat("Students", str(len(records))), Stat("Graded", str(graded))]
    if len(records) > graded:
        stats.append(Stat("Not graded", str(len(records) - graded)))
    if totals:
        stats += [Stat("Mean", f"{number(statistics.fmean(totals), 3)} / {max_score}"),
                  Stat("Median", f"{number(statistics.median(totals), 3)} / {max_score}"),
                  Stat("Full marks", str(sum(t == max_score for t in totals)))]
    return tuple(stats)


def provenance(outline: Outline, grader_version: str, seed: int, records: list[StudentRecord]) -> Provenance:
    tiers = sorted({str(r.results.get("sandbox", "")) for r in records if r.results})
    return Provenance((
        ("Grader", f"grade {grader_version}"),
        ("Course", f"{outline.title} {outline.version}"),
        ("Course sha256", outline.sha256),
        ("Seed", str(seed)),
        ("Sandbox", ", ".join(tiers) or "—"),
        ("Earlier chapters", "the reference's"),
    ))


def class_page(outline: Outline, grader_version: str, seed: int, records: list[StudentRecord],
               refusals: list[tuple[str, str]], roster: Matched | None = None) -> ClassPage:
    records = sorted(records, key=lambda r: r.student)
    graded = [r for r in records if r.results is not None]
    totals = [float(r.results["score"]) for r in graded]
    rates = tuple(chapter_rates(ch, graded) for ch in outline.chapters)
    return ClassPage(
        course=outline.title, max_score=outline.max_score,
        stats=_stats(records, totals, outline.max_score),
        histogram=histogram(totals, outline.max_score),
        chapters=tuple(ChapterHead(ch.number, ch.title, ch.max_score) for ch in outline.chapters),
        rows=tuple(student_row(r, outline) for r in records),
        hardest=hardest(rates), rates=rates,
        refused=tuple((printable(name), one_line(reason)) for name, reason in sorted(refusals)),
        provenance=provenance(outline, grader_version, seed, records),
        roster=printable(roster.source) if roster else "",
        missing=tuple((printable(s.name), printable(s.student_id)) for s in roster.missing) if roster else (),
        unmatched=tuple(printable(name) for name in roster.unmatched) if roster else (),
    )


def render_class(page: ClassPage) -> str:
    return environment().get_template("class.html").render(page=page)
