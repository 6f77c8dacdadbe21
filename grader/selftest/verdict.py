"""What the self-test's gradings prove, read from their results.json (pure): the sensitivity
matrix (mistake x criterion) and every way the rubric falls short of what it claims."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from ..course import Course, Mistake
from ..mistakes import Bank
from .once import bank_changes, declaration_problems, spilled
from ..mutation.parts import Part, student_parts
from .plan import MISTAKE, PART, REFERENCE, STARTERS, VARIANT, Run

HIT = ("failed", "error", "timeout")   # a criterion whose checks caught something


@dataclass(frozen=True)
class Graded:
    """What one run of `grade` produced."""

    run: Run
    code: int
    results: dict | None        # its results.json
    stderr: str = ""
    seconds: float = 0.0
    report: str = ""            # its scorecard's index page


@dataclass(frozen=True)
class MistakeRow:
    """One row of the matrix: a mistake, the criteria that caught it and what the diagnosis said."""

    mistake: Mistake
    criteria: tuple[str, ...]   # the criteria of its chapter, in rubric order
    hits: frozenset[str]
    named: tuple[str, ...]      # the mistakes the diagnosis named in its run
    problems: tuple[str, ...]   # where the hidden tests fall short
    misdiagnoses: tuple[str, ...] = ()  # where the diagnosis does
    seconds: float = 0.0
    report: str = ""
    spilled: tuple[str, ...] = ()       # criteria it cost outside the part it changed

    def cell(self, criterion: str) -> str:
        expected, hit = criterion in self.mistake.caught_by, criterion in self.hits
        return {(True, True): "caught", (True, False): "missed", (False, True): "extra"}.get((expected, hit), "")

    @property
    def diagnosis(self) -> str:
        if set(self.named) - {self.mistake.id}:
            return "wrong"
        return "named" if self.mistake.id in self.named else "not named"


@dataclass(frozen=True)
class VariantRow:
    mistake: Mistake
    score: str
    problems: tuple[str, ...]
    seconds: float = 0.0
    report: str = ""


@dataclass(frozen=True)
class PartRow:
    """A student part put back to its starter: what its chapter scored and which criteria noticed."""

    part: Part
    score: str                  # its chapter's score, "?" when the grading crashed
    lost: tuple[str, ...]       # the criteria of its chapter that did not pass
    problems: tuple[str, ...]
    seconds: float = 0.0
    report: str = ""


@dataclass(frozen=True)
class Check:
    """A headline claim of the self-test and whatever contradicts it."""

    claim: str
    problems: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class Verdict:
    rows: tuple[MistakeRow, ...]
    variants: tuple[VariantRow, ...]
    checks: tuple[Check, ...]
    coverage: Mapping[str, tuple[str, ...]]   # criterion -> the mistakes it caught
    parts: tuple[PartRow, ...] = ()

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def caught(self) -> int:
        return sum(bool(row.hits) for row in self.rows)

    @property
    def named(self) -> int:
        return sum(row.diagnosis == "named" for row in self.rows)


# --- reading results.json -----------------------------------------------------------------------

def _chapters(results: dict) -> dict[int, dict]:
    return {ch["number"]: ch for ch in results["chapters"]}


def _hits(chapter: dict) -> frozenset[str]:
    return frozenset(c["id"] for c in chapter["criteria"] if c["status"] in HIT)


def _full(chapter: dict) -> bool:
    return (chapter["status"] == "graded" and chapter["score"] == chapter["max_score"]
            and all(c["status"] == "passed" for c in chapter["criteria"]))


def _named(results: dict) -> tuple[str, ...]:
    found = [d["mistake"] for ch in results["chapters"] for c in ch["criteria"] for d in c.get("diagnosis", [])]
    return tuple(dict.fromkeys(found))


def _score(chapter: dict) -> str:
    return f"{chapter['score']}/{chapter['max_score']}"


def _crashed(graded: Graded) -> str | None:
    if graded.code in (0, 1) and graded.results is not None:
        return None
    tail = " | ".join(graded.stderr.strip().splitlines()[-3:])
    return f"{graded.run.name}: `grade` exited with code {graded.code}" + (f": {tail}" if tail else "")


# --- the checks ---------------------------------------------------------------------------------

def _reference(graded: Graded) -> list[str]:
    problems = []
    for number, chapter in _chapters(graded.results).items():
        if not _full(chapter):
            lost = [c["id"] for c in chapter["criteria"] if c["status"] != "passed"]
            problems.append(f"{graded.run.name}: chapter {number} scores {_score(chapter)} "
                            f"({', '.join(lost) or chapter['status']})")
    problems += [f"{graded.run.name}: the diagnosis names {m}" for m in _named(graded.results)]
    return problems


def _starters(graded: Graded) -> list[str]:
    problems = []
    for number, chapter in _chapters(graded.results).items():
        if chapter["status"] != "graded":
            problems.append(f"starters: chapter {number} was not graded ({chapter['status']}: {chapter['note']})")
            continue
        for c in chapter["criteria"]:
            if c["max_score"] == 0 and c["status"] != "passed":
                problems.append(f"starters: the gate {c['id']} does not pass ({c['status']}: {c['message']})")
            elif c["max_score"] > 0 and not (c["status"] == "failed" and c["message"].startswith("not implemented yet")):
                problems.append(f"starters: {c['id']} is {c['status']}, not \u201cnot implemented yet\u201d "
                                f"({c['message'][:120]})")
        if chapter["score"] != 0:
            problems.append(f"starters: chapter {number} scores {_score(chapter)}")
    problems += [f"starters: the diagnosis names {m}" for m in _named(graded.results)]
    return problems


def _isolation(course: Course, graded: Graded, planted: list[int]) -> list[str]:
    """Every graded chapter that imports a planted chapter was given the reference's copy."""
    problems = []
    for number, chapter in _chapters(graded.results).items():
        for other in planted:
            file = course.chapter(other).file
            if other != number and other in course.closure(number) and chapter["files"].get(file) != "reference":
                problems.append(f"{graded.run.name}: chapter {number} was graded with the submission's {file}, "
                                f"not the reference's (chapter isolation is broken)")
    return problems


def mistake_row(course: Course, bank: Bank, graded: Graded,
                changes: Mapping[str, tuple[str, ...]] | None = None) -> MistakeRow:
    """`changes`: mistake id -> the parts it changes (once.bank_changes), worked out here if not given."""
    mistake = bank.get(graded.run.mistake)
    criteria = tuple(c.id for c in course.chapter(mistake.chapter).criteria)
    crash = _crashed(graded)
    if crash:
        return MistakeRow(mistake, criteria, frozenset(), (), (crash,), (), graded.seconds, graded.report)
    chapters = _chapters(graded.results)
    own = chapters[mistake.chapter]
    hits = _hits(own)
    problems = []
    if not hits:
        problems.append(f"{mistake.id}: goes undetected (no check of chapter {mistake.chapter} fails; "
                        f"expected: {', '.join(mistake.caught_by)})")
    else:
        problems += [f"{mistake.id}: not caught by {c}, which caught_by names" for c in mistake.caught_by
                     if c not in hits]
        problems += [f"{mistake.id}: also fails {c} (add it to caught_by if that is intended)"
                     for c in criteria if c in hits and c not in mistake.caught_by]
    if own["score"] == own["max_score"]:
        problems.append(f"{mistake.id}: costs no points in chapter {mistake.chapter}")
    for number, chapter in chapters.items():
        if number != mistake.chapter and not _full(chapter):
            problems.append(f"{mistake.id}: costs points in chapter {number} too ({_score(chapter)})")
    planted = sorted({mistake.chapter} | {bank.get(d).chapter for d in graded.run.decoys})
    problems += _isolation(course, graded, planted)
    named = _named(graded.results)
    wrong = [m for m in named if m != mistake.id]
    misdiagnoses = []
    if wrong:
        misdiagnoses.append(f"{mistake.id}: the diagnosis names {', '.join(wrong)}")
    elif mistake.diagnose and mistake.id not in named:
        misdiagnoses.append(f"{mistake.id}: the diagnosis does not name it (mark it `diagnose: false` if it cannot)")
    changes = bank_changes(course, bank) if changes is None else changes
    return MistakeRow(mistake, criteria, hits, named, tuple(problems), tuple(misdiagnoses), graded.seconds,
                      graded.report, _spilled(course, mistake, hits, changes))


def _spilled(course: Course, mistake: Mistake, hits: frozenset[str],
             changes: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
    """The criteria a mistake cost beyond those of the parts it changes (and end-to-end ones)."""
    chapter, changed = course.chapter(mistake.chapter), changes.get(mistake.id, ())
    lost = [c.id for c in chapter.criteria if c.id in hits]
    return spilled(chapter, changed, lost) if changed else ()


def variant_row(course: Course, bank: Bank, graded: Graded) -> VariantRow:
    mistake = bank.get(graded.run.mistake)
    crash = _crashed(graded)
    if crash:
        return VariantRow(mistake, "?", (crash,), graded.seconds, graded.report)
    chapters = _chapters(graded.results)
    problems = []
    for number, chapter in chapters.items():
        if not _full(chapter):
            lost = [f"{c['id']} ({c['message'][:100]})" for c in chapter["criteria"] if c["status"] != "passed"]
            problems.append(f"{mistake.id}: a harmless variant loses points in chapter {number}: {'; '.join(lost)}")
    problems += [f"{mistake.id}: the diagnosis names {m} for a harmless variant" for m in _named(graded.results)]
    problems += _isolation(course, graded, [mistake.chapter])
    return VariantRow(mistake, _score(chapters[mistake.chapter]), tuple(problems), graded.seconds, graded.report)


def part_row(course: Course, graded: Graded, part: Part) -> PartRow:
    """A part put back to its starter must cost points in its own chapter; the chapters graded
    beside it must have had the reference's copy of its chapter (then it reaches no other)."""
    crash = _crashed(graded)
    if crash:
        return PartRow(part, "?", (), (crash,), graded.seconds, graded.report)
    own = _chapters(graded.results)[part.chapter]
    lost = tuple(c["id"] for c in own["criteria"] if c["status"] != "passed")
    problems = []
    if own["score"] == own["max_score"]:
        problems.append(f"{part.label}: left as the starter has it (raising NotImplementedError), it still "
                        f"scores {_score(own)}: no criterion worth points grades it")
    named = [d["mistake"] for c in own["criteria"] for d in c.get("diagnosis", [])]
    problems += [f"{part.label}: left as the starter has it, the diagnosis names {m}" for m in dict.fromkeys(named)]
    problems += _isolation(course, graded, [part.chapter])
    return PartRow(part, _score(own), lost, tuple(dict.fromkeys(problems)), graded.seconds, graded.report)


def judge(course: Course, bank: Bank, graded: list[Graded], guide_headings: set[str] | None) -> Verdict:
    """Every claim of the self-test, checked against what the gradings produced."""
    by_kind: dict[str, list[Graded]] = {}
    for g in graded:
        by_kind.setdefault(g.run.kind, []).append(g)
    changes = bank_changes(course, bank)
    rows = tuple(mistake_row(course, bank, g, changes) for g in by_kind.get(MISTAKE, []))
    variants = tuple(variant_row(course, bank, g) for g in by_kind.get(VARIANT, []))
    inventory = student_parts(course)
    parts = tuple(sorted((part_row(course, g, part) for g in by_kind.get(PART, []) for part in g.run.parts),
                         key=lambda row: inventory.index(row.part) if row.part in inventory else len(inventory)))
    ungraded = [f"{p.label}: never graded left as its starter has it" for p in inventory
                if p not in {row.part for row in parts}]
    references, starters = by_kind.get(REFERENCE, []), by_kind.get(STARTERS, [])
    crashes = [c for c in map(_crashed, references + starters) if c]
    coverage = {c.id: tuple(r.mistake.id for r in rows if c.id in r.hits)
                for ch in course.chapters for c in ch.criteria}
    point_criteria = [c for ch in course.chapters for c in ch.criteria if c.points > 0]
    lessons = [f"{m.id}: its lesson \u201c{m.lesson}\u201d is not a heading of the course guide"
               for m in bank.errors if guide_headings is not None and m.lesson not in guide_headings]
    checks = (
        Check("the reference scores full marks in every chapter, isolated and --integrated",
              tuple(crashes) + tuple(p for g in references if not _crashed(g) for p in _reference(g))),
        Check("the starter files score zero, every criterion \u201cnot implemented yet\u201d, no grader error",
              tuple(p for g in starters if not _crashed(g) for p in _starters(g))),
        Check(f"the hidden tests catch all {len(rows)} mistakes, in exactly the criteria they target "
              f"and in no other chapter",
              tuple(p for r in rows for p in r.problems)),
        Check(f"the diagnosis names {sum(r.diagnosis == 'named' for r in rows)} of the {len(rows)} mistakes "
              f"as themselves, and nothing else",
              tuple(p for r in rows for p in r.misdiagnoses)),
        Check("a mistake costs its points once: each of the bank's mistakes loses points only in the criteria "
              "of the part it changes (course.yaml parts:) and end-to-end ones",
              declaration_problems(course) + tuple(
                  f"{r.mistake.id}: also costs {', '.join(r.spilled)}, which grade other parts" for r in rows
                  if r.spilled)),
        Check(f"the {len(variants)} harmless variants lose nothing",
              tuple(p for v in variants for p in v.problems)),
        Check(f"each of the {len(point_criteria)} criteria worth points catches at least one mistake",
              tuple(f"{c.id} catches none of the bank's mistakes" for c in point_criteria if not coverage[c.id])),
        Check("every mistake points to a section of the course guide", tuple(lessons)),
        Check(f"every one of the {len(inventory)} student parts, left as its starter has it, loses points in "
              f"its own chapter, which alone sees it (the others were graded with the reference's copy)",
              tuple(ungraded) + tuple(p for row in parts for p in row.problems)),
    )
    return Verdict(rows, variants, checks, coverage, parts)
