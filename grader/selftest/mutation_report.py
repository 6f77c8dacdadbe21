"""The mutation run's report: terminal text, an HTML page (page data built here, displayed by
templates/mutants.html) and JSON."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .mutants import MutationVerdict, Tally
from .render import environment

SCHEMA = "mlp-grader/mutants/1"


def _percent(tally: Tally) -> str:
    return f"{tally.score:.0%}"


def _tally_line(tally: Tally, width: int) -> str:
    return (f"  {tally.name.ljust(width)} {tally.total:4d} mutants  {tally.killed:4d} killed  "
            f"{tally.equivalent:3d} equivalent  {tally.survived:3d} survived  score {_percent(tally)}")


def render_mutants_text(verdict: MutationVerdict, seconds: float, page: Path | None = None) -> str:
    width = max(len(t.name) for t in verdict.chapters + verdict.parts)
    lines = ["", "Mutation testing: first-order mutants of every student part, each graded in its own chapter",
             "  score = killed / (mutants - equivalent)"]
    lines += [_tally_line(t, width) for t in verdict.chapters]
    lines += ["", "  by student part"] + [_tally_line(t, width) for t in verdict.parts]
    survivors = [r for r in verdict.rows if r.state in ("survived", "error")]
    if survivors:
        lines += ["", "Survivors (full marks in their own chapter)"]
        for row in survivors:
            lines += [f"  ch{row.mutant.part.chapter} {row.mutant.id}" + (f"  [{row.note}]" if row.note else "")]
            lines += ["      " + line for line in row.mutant.diff.splitlines()[2:]]
    lines += ["", "Checks"]
    if verdict.problems:
        lines += [f"  ✗ {problem}" for problem in verdict.problems]
    else:
        lines += ["  ✓ every non-equivalent mutant of a student part loses points in its own chapter",
                  "  ✓ and only in the criteria of its own part (and end-to-end ones): a mistake costs its points once"]
    total = verdict.total
    state = "PASSED" if verdict.passed else "FAILED"
    lines += ["", f"mutants {state}: {total.total} mutants (graded with the self-test, {seconds:.1f} s in all), "
                  f"{total.killed} killed, "
                  f"{total.equivalent} equivalent (listed), {total.survived} survived: mutation score "
                  f"{_percent(total)} of the non-equivalent mutants; {len(verdict.spilled)} cost points beyond their own part"]
    if page:
        lines.append(f"mutants: {page}")
    return "\n".join(lines)


@dataclass(frozen=True)
class MutantLine:
    id: str
    chapter: int
    state: str
    detail: str       # the criteria that caught it, or the reason it is equivalent
    diff: str
    report: str


@dataclass(frozen=True)
class MutantsPage:
    passed: bool
    headline: str
    chapters: tuple[Tally, ...]
    parts: tuple[Tally, ...]
    lines: tuple[MutantLine, ...]
    problems: tuple[str, ...]
    provenance: tuple[tuple[str, str], ...]


def mutants_page(verdict: MutationVerdict, seconds: float, key: str, page_dir: Path) -> MutantsPage:
    total = verdict.total
    order = {"survived": 0, "error": 1, "equivalent": 2, "killed": 3}
    lines = tuple(MutantLine(r.mutant.id, r.mutant.part.chapter, r.state,
                             ", ".join(r.caught_by) if r.state == "killed" else (r.reason or r.note),
                             "".join(r.mutant.diff.splitlines(keepends=True)[2:]),
                             os.path.relpath(r.report, page_dir) if r.report else "")
                  for r in sorted(verdict.rows, key=lambda r: (order[r.state], r.mutant.part.chapter)))
    headline = (f"{total.killed} of {total.total - total.equivalent} non-equivalent mutants killed "
                f"(mutation score {_percent(total)}); {total.equivalent} equivalent mutants listed with their "
                f"reason; {total.survived} survived.")
    return MutantsPage(verdict.passed, headline, verdict.chapters, verdict.parts, lines, verdict.problems,
                       (("Mutants", str(total.total)), ("Duration", f"{seconds:.1f} s"), ("Proof key", key)))


def render_mutants_html(page: MutantsPage) -> str:
    return environment().get_template("mutants.html").render(page=page, percent=_percent)


def mutants_json(verdict: MutationVerdict, seconds: float, key: str, inputs: dict[str, str]) -> dict[str, Any]:
    def tally(t: Tally) -> dict[str, Any]:
        return {"name": t.name, "mutants": t.total, "killed": t.killed, "equivalent": t.equivalent,
                "survived": t.survived, "errors": t.errors, "score": round(t.score, 4)}
    return {
        "schema": SCHEMA, "passed": verdict.passed, "seconds": seconds, "key": key, "inputs": inputs,
        "total": tally(verdict.total),
        "chapters": [tally(t) for t in verdict.chapters], "parts": [tally(t) for t in verdict.parts],
        "mutants": [{"id": r.mutant.id, "chapter": r.mutant.part.chapter, "part": r.mutant.part.name,
                     "operator": r.mutant.operator, "line": r.mutant.line, "state": r.state,
                     "caught_by": list(r.caught_by), "spilled": list(r.spilled), "reason": r.reason, "note": r.note,
                     "diff": r.mutant.diff}
                    for r in verdict.rows],
        "problems": list(verdict.problems),
    }


def verified_summary(verdict: MutationVerdict, key: str, inputs: dict[str, str]) -> dict[str, Any]:
    """What is committed next to course.yaml: the proof's key, its inputs and its counts."""
    total = verdict.total
    return {"schema": SCHEMA, "key": key, "inputs": inputs, "mutants": total.total, "killed": total.killed,
            "equivalent": total.equivalent, "survived": total.survived, "errors": total.errors,
            "score": round(total.score, 4), "spilled": len(verdict.spilled), "passed": verdict.passed,
            "survivors": [f"ch{r.mutant.part.chapter} {r.mutant.id}" for r in verdict.rows
                          if r.state in ("survived", "error")]}
