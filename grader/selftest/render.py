"""The self-test's report: the sensitivity matrix and the checks, as terminal text, as an HTML page
(page data built here, displayed by templates/selftest.html) and as JSON."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path
from typing import Any

import jinja2

from ..course import Course
from ..mistakes.measure import Rates
from .verdict import Graded, MistakeRow, Verdict

SCHEMA = "mlp-grader/selftest/1"
CELLS = {"caught": "●", "missed": "○", "extra": "✗", "": "·"}
CELL_WORDS = {"caught": "caught, as expected", "missed": "expected but not caught",
              "extra": "caught, not expected", "": "not caught, as expected"}
NAMED = {"named": "✓", "not named": "–", "wrong": "✗"}
LEGEND = ("● caught where expected   ○ expected but not caught   ✗ caught where not expected   "
          "· untouched      diagnosis: ✓ names it   – does not   ✗ names another")


@dataclass(frozen=True)
class Summary:
    """What a self-test run is about, for every rendering."""

    course: str
    bank: str               # the bank's fingerprint
    seconds: float
    jobs: int
    sandbox: str
    runs: int
    started: str


def part_of(criterion) -> str:
    """What a criterion grades, for the matrix: its student parts, or end-to-end."""
    return "end-to-end" if criterion.end_to_end else ", ".join(criterion.parts) or "the file"


def short(criterion: str) -> str:
    """A criterion id without its chapter prefix, for a column heading."""
    head, _, rest = criterion.partition("-")
    return rest if head.startswith("ch") and rest else criterion


def _chapters(course: Course, verdict: Verdict):
    """(chapter, its mistake rows), in course order."""
    rows = sorted(verdict.rows, key=lambda r: r.mistake.chapter)
    grouped = {n: list(rs) for n, rs in groupby(rows, key=lambda r: r.mistake.chapter)}
    return [(ch, grouped.get(ch.number, [])) for ch in course.chapters]


# --- text ---------------------------------------------------------------------------------------

def render_text(course: Course, verdict: Verdict, summary: Summary, report: Path | None = None,
                rates: tuple[Rates, ...] = ()) -> str:
    lines = [f"grade selftest — {summary.course} · mistake bank {summary.bank} · "
             f"{len(verdict.rows)} mistakes, {len(verdict.variants)} harmless variants", "",
             "Sensitivity matrix (mistake × criterion)", "  " + LEGEND]
    label = max([len(r.mistake.id) for r in verdict.rows] + [24]) + 2
    for chapter, rows in _chapters(course, verdict):
        heads = [short(c.id) for c in chapter.criteria]
        lines += ["", f"Chapter {chapter.number} — {chapter.title}",
                  "  grades: " + "; ".join(f"{short(c.id)} = {part_of(c)}" for c in chapter.criteria if c.points),
                  " " * label + "  ".join(heads) + "  diagnosis"]
        for row in rows:
            cells = [CELLS[row.cell(c.id)].center(len(h)) for c, h in zip(chapter.criteria, heads)]
            lines.append(f"  {row.mistake.id}".ljust(label) + "  ".join(cells) + "  " +
                         NAMED[row.diagnosis].center(len("diagnosis")))
        counts = [str(len(verdict.coverage[c.id])).center(len(h)) for c, h in zip(chapter.criteria, heads)]
        lines.append("  mistakes caught".ljust(label) + "  ".join(counts))
    lines += ["", "Harmless variants (each must lose nothing)"]
    for v in sorted(verdict.variants, key=lambda v: v.mistake.chapter):
        lines.append(f"  {'✓' if not v.problems else '✗'} {v.mistake.id}".ljust(label + 2) +
                     f"chapter {v.mistake.chapter}: {v.score}")
    lines += ["", "Student parts, each left as its starter has it (must lose points in its own chapter)"]
    width = max([len(row.part.label) for row in verdict.parts] + [label])
    for row in verdict.parts:
        lines.append(f"  {'✓' if not row.problems else '✗'} {row.part.label}".ljust(width + 4) +
                     f"chapter {row.part.chapter}: {row.score}  lost: {', '.join(map(short, row.lost)) or 'nothing'}")
    if rates:
        lines += ["", "Diagnosis (named right / only the part / silent / wrong; ambiguous: reproduced alike by "
                      "mutants of different concepts)"]
        lines += [f"  {r.line()}" for r in rates]
    lines += ["", "Checks"]
    for check in verdict.checks:
        lines.append(f"  {'✓' if check.passed else '✗'} {check.claim}")
        lines += [f"      - {problem}" for problem in check.problems]
    state = "PASSED" if verdict.passed else "FAILED"
    lines += ["", f"selftest {state}: {summary.runs} gradings in {summary.seconds:.1f} s, {summary.jobs} at a time "
              f"(sandbox {summary.sandbox}); the hidden tests catch {verdict.caught} of {len(verdict.rows)} mistakes, "
              f"the diagnosis names {verdict.named}; {sum(not r.problems for r in verdict.parts)} of "
              f"{len(verdict.parts)} student parts are graded"]
    if report:
        lines.append(f"matrix: {report}")
    return "\n".join(lines)


# --- HTML ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Cell:
    symbol: str
    state: str      # caught | missed | extra | "" (a CSS class)
    label: str      # for screen readers and tooltips


@dataclass(frozen=True)
class Line:
    id: str
    title: str
    cells: tuple[Cell, ...]
    diagnosis: Cell
    problems: tuple[str, ...]
    report: str     # the run's scorecard, relative to the page


@dataclass(frozen=True)
class Block:
    number: int
    title: str
    criteria: tuple[tuple[str, str, str], ...]   # (short heading, full id, the part it grades)
    lines: tuple[Line, ...]
    counts: tuple[int, ...]


@dataclass(frozen=True)
class CheckLine:
    passed: bool
    claim: str
    problems: tuple[str, ...]


@dataclass(frozen=True)
class VariantLine:
    id: str
    title: str
    chapter: int
    score: str
    passed: bool
    problems: tuple[str, ...]
    report: str


@dataclass(frozen=True)
class PartLine:
    label: str
    chapter: int
    score: str
    lost: str
    passed: bool
    problems: tuple[str, ...]
    report: str


@dataclass(frozen=True)
class SelftestPage:
    course: str
    passed: bool
    headline: str
    legend: str
    blocks: tuple[Block, ...]
    variants: tuple[VariantLine, ...]
    checks: tuple[CheckLine, ...]
    provenance: tuple[tuple[str, str], ...]
    parts: tuple[PartLine, ...] = ()
    rates: tuple[RateLine, ...] = ()


@dataclass(frozen=True)
class RateLine:
    """One measured set of the diagnosis, for the page."""

    name: str
    total: int
    right: int
    part: int
    silent: int
    wrong: int
    ambiguous: int
    rate: str         # "18%"


def _link(path: str, page_dir: Path) -> str:
    return os.path.relpath(path, page_dir) if path else ""


def _line(row: MistakeRow, criteria, page_dir: Path) -> Line:
    cells = tuple(Cell(CELLS[row.cell(c.id)], row.cell(c.id), f"{c.id}: {CELL_WORDS[row.cell(c.id)]}")
                  for c in criteria)
    state = row.diagnosis
    named = ", ".join(row.named) or "nothing"
    return Line(row.mistake.id, row.mistake.title, cells,
                Cell(NAMED[state], {"named": "caught", "wrong": "extra"}.get(state, ""), f"diagnosis: {named}"),
                row.problems + row.misdiagnoses, _link(row.report, page_dir))


def _rate_line(rates: Rates) -> RateLine:
    total, right = len(rates.rows), rates.count("right")
    return RateLine(rates.name, total, right, rates.count("part"), rates.count("silent"), rates.count("wrong"),
                    rates.ambiguous, f"{100 * right / total:.0f}%" if total else "n/a")


def selftest_page(course: Course, verdict: Verdict, summary: Summary, page_dir: Path,
                  rates: tuple[Rates, ...] = ()) -> SelftestPage:
    blocks = tuple(Block(ch.number, ch.title, tuple((short(c.id), c.id, part_of(c)) for c in ch.criteria),
                         tuple(_line(r, ch.criteria, page_dir) for r in rows),
                         tuple(len(verdict.coverage[c.id]) for c in ch.criteria))
                   for ch, rows in _chapters(course, verdict))
    variants = tuple(VariantLine(v.mistake.id, v.mistake.title, v.mistake.chapter, v.score, not v.problems,
                                 v.problems, _link(v.report, page_dir))
                     for v in sorted(verdict.variants, key=lambda v: v.mistake.chapter))
    headline = (f"The hidden tests catch {verdict.caught} of {len(verdict.rows)} mistakes; the diagnosis names "
                f"{verdict.named}; {sum(not v.problems for v in verdict.variants)} of {len(verdict.variants)} "
                f"harmless variants lose nothing.")
    parts = tuple(PartLine(r.part.label, r.part.chapter, r.score, ", ".join(r.lost) or "nothing", not r.problems,
                           r.problems, _link(r.report, page_dir)) for r in verdict.parts)
    return SelftestPage(
        course=summary.course, passed=verdict.passed, headline=headline, legend=LEGEND, blocks=blocks, parts=parts,
        variants=variants, checks=tuple(CheckLine(c.passed, c.claim, c.problems) for c in verdict.checks),
        rates=tuple(_rate_line(r) for r in rates),
        provenance=(("Course", summary.course), ("Mistake bank", summary.bank),
                    ("Gradings", f"{summary.runs}, {summary.jobs} at a time"), ("Sandbox", summary.sandbox),
                    ("Started", summary.started), ("Duration", f"{summary.seconds:.1f} s")),
    )


@functools.cache
def environment() -> jinja2.Environment:
    loader = jinja2.ChoiceLoader([jinja2.PackageLoader("grader.selftest", "templates"),
                                  jinja2.PackageLoader("grader.report", "templates")])
    return jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined,
                              trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def render_html(page: SelftestPage) -> str:
    return environment().get_template("selftest.html").render(page=page)


# --- JSON ---------------------------------------------------------------------------------------

def selftest_json(verdict: Verdict, summary: Summary, graded: list[Graded],
                  rates: tuple[Rates, ...] = ()) -> dict[str, Any]:
    return {
        "schema": SCHEMA, "passed": verdict.passed, "course": summary.course, "bank": summary.bank,
        "seconds": summary.seconds, "jobs": summary.jobs, "sandbox": summary.sandbox, "started": summary.started,
        "counts": {"mistakes": len(verdict.rows), "caught": verdict.caught, "named": verdict.named,
                   "variants": len(verdict.variants),
                   "variants_lossless": sum(not v.problems for v in verdict.variants),
                   "parts": len(verdict.parts), "parts_graded": sum(not r.problems for r in verdict.parts)},
        "mistakes": [{"id": r.mistake.id, "chapter": r.mistake.chapter, "expected": list(r.mistake.caught_by),
                      "caught_by": [c for c in r.criteria if c in r.hits], "named": list(r.named),
                      "diagnosis": r.diagnosis, "problems": list(r.problems + r.misdiagnoses)}
                     for r in verdict.rows],
        "variants": [{"id": v.mistake.id, "chapter": v.mistake.chapter, "score": v.score,
                      "problems": list(v.problems)} for v in verdict.variants],
        "parts": [{"chapter": r.part.chapter, "name": r.part.name, "score": r.score, "lost": list(r.lost),
                   "problems": list(r.problems)} for r in verdict.parts],
        "coverage": {criterion: list(ids) for criterion, ids in verdict.coverage.items()},
        "diagnosis": [r.as_json() for r in rates],
        "checks": [{"claim": c.claim, "passed": c.passed, "problems": list(c.problems)} for c in verdict.checks],
        "runs": [{"name": g.run.name, "kind": g.run.kind, "chapters": list(g.run.chapters),
                  "integrated": g.run.integrated, "decoys": list(g.run.decoys), "exit_code": g.code,
                  "seconds": g.seconds, "report": g.report} for g in graded],
    }
