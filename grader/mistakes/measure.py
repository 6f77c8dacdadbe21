"""How well the diagnosis names mistakes it was not built from: the held-out half of the generated
bank, and any set of independently written mistakes. Everything runs in the judge's process on the
instructor's code (the reference, its mutants, written mistakes), as the diagnosis's replays do.

1. `capture` runs the hidden tests once against the reference, served in-process (mistakes/local.py),
   to record each test as a replay; the final chapter's training is skipped (the tests that need
   it are not replayable anyway).
2. `table` replays every test of a chapter against each candidate source: its outcome signatures.
3. `judge_heldout` / `judge_written` diagnose from those tables with the diagnosis's own rules
   (grader/diagnosis.py `explain` for the hand bank first, `name_generated` where it names nothing)
   and count right, silent and wrong names.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping

from ..course import Course
from ..errors import CourseError
from ..hidden.training import TRAINING_ENV
from ..outcomes import Diagnosis, TestOutcome
from .bank import Bank, load_bank
from .concepts import Inventory
from .generated import Generated, generate_bank, name_generated, shows_a_value, inventory_of
from .local import LocalSession, load_chapter
from .rows import Sequence, as_mapping, course_key, open_rows, save

Table = Mapping[str, Mapping[str, tuple]]     # candidate id -> {nodeid: signature}
Written = Mapping[str, tuple[int, tuple[str, ...], str]]   # id -> (chapter, right names, part or source)


@dataclass(frozen=True)
class Named:
    """One diagnosed mistake: what would be right and what the diagnosis said."""

    id: str
    expected: tuple[str, ...]     # "concept:<id>" or a hand-bank mistake's id
    said: tuple[str, ...]         # what the diagnosis named
    verdict: str                  # right | silent | wrong | part (only the part, the right one)


@dataclass(frozen=True)
class Rates:
    name: str
    rows: tuple[Named, ...]
    ambiguous: int = 0            # failures that mutants of different concepts reproduce alike

    def count(self, verdict: str) -> int:
        return sum(r.verdict == verdict for r in self.rows)

    def line(self) -> str:
        total, right = len(self.rows), self.count("right")
        rate = f"{100 * right / total:.0f}%" if total else "n/a"
        return (f"{self.name}: {right} of {total} named right ({rate}), {self.count('part')} only the part, "
                f"{self.count('silent')} silent, {self.count('wrong')} wrong; {self.ambiguous} ambiguous")

    def as_json(self) -> dict:
        return {"name": self.name, "total": len(self.rows), "right": self.count("right"),
                "part": self.count("part"), "silent": self.count("silent"), "wrong": self.count("wrong"),
                "ambiguous": self.ambiguous,
                "wrong_names": [{"id": r.id, "expected": list(r.expected), "said": list(r.said)}
                                for r in self.rows if r.verdict == "wrong"]}


# --- capturing and replaying (the judge runs the instructor's code) -----------------------------

@contextlib.contextmanager
def _no_training() -> Iterator[None]:
    previous = os.environ.get(TRAINING_ENV)
    os.environ[TRAINING_ENV] = "skip"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(TRAINING_ENV, None)
        else:
            os.environ[TRAINING_ENV] = previous


def capture(course: Course, numbers: list[int], seed: int) -> dict[int, list]:
    """chapter -> the replayable hidden tests, recorded on the reference served in-process."""
    from ..plugin import ChapterContext, JudgePlugin   # the engine: imported only when measuring
    from ..reference import LiveReference
    from ..runner import _run_pytest
    contexts = {}
    for number in numbers:
        chapter = course.chapter(number)
        source = (course.reference / chapter.file).read_text(encoding="utf-8")
        contexts[chapter.tests_path.resolve()] = ChapterContext(chapter, source, _local(course, number, source))
    plugin = JudgePlugin(course, contexts, seed, LiveReference(course))
    with _no_training():
        _run_pytest([str(path) for path in contexts], plugin)
    replays: dict[int, list] = {n: [] for n in numbers}
    for replay in plugin._replays:
        if replay.test is not None:
            replays[replay.chapter].append(replay)
    return replays


def _local(course: Course, number: int, source: str):
    chapter = course.chapter(number)
    load = lambda: load_chapter(source, file=chapter.file, module=chapter.module, reference=course.reference,
                                label="reference")
    return lambda: LocalSession(load, module=chapter.module, file=chapter.file,
                                request_timeout=chapter.limits.request_timeout, budget=chapter.limits.chapter_timeout)


def table(course: Course, replays: list, sources: Mapping[str, str], number: int, seed: int,
          shared: Mapping[str, str] | None = None) -> dict[str, dict]:
    """candidate id -> {nodeid: signature} of every replayable test of chapter `number`. `shared`:
    candidate id -> its name among the rows gradings store (grader/mistakes/rows.py), for the
    candidates a grading could replay too (the banks', not written mistakes): their complete rows
    are read from there when present, and stored when computed, so that measuring also spares
    later gradings their replays."""
    from ..diagnosis import replay_source
    from ..plugin import _classify
    shared = shared or {}
    rows = open_rows(Sequence(course_key(course, seed), number, tuple(r.nodeid for r in replays)))
    found = {}
    try:
        with _no_training():
            for ident, source in sources.items():
                row = rows.get(shared[ident]) if ident in shared else ()
                if not rows.complete(row):
                    results = replay_source(replays, source, course, number, label=f"candidate {ident}", seed=seed,
                                            classify=_classify)
                    row = tuple(results[r.nodeid] for r in replays)
                    if ident in shared:
                        rows.put(shared[ident], list(row))
                found[ident] = as_mapping(rows.sequence, row)
    finally:
        save(rows)
    return found


def warm_rows(course: Course) -> None:
    """Store the complete rows of every candidate of every chapter, on the tests a grading of the
    reference runs: what `grade selftest` leaves for the gradings that follow."""
    measure(course, load_bank(course), generate_bank(course))


# --- judging (pure) -----------------------------------------------------------------------------

def outcomes_of(row: Mapping[str, tuple], replays: list, number: int) -> list[TestOutcome]:
    """A table row as the outcomes a grading would have recorded."""
    criteria = {r.nodeid: r.criterion for r in replays}
    return [TestOutcome(nodeid=n, chapter=number, criterion=criteria[n], status=s[0], message=s[1], call=s[2],
                        expected=s[3], actual=s[4]) for n, s in row.items()]


def heldout(generated: tuple[Generated, ...]) -> tuple[set[str], set[str]]:
    """(held out, candidates): a deterministic split of the generated bank by the hash of each id."""
    out = {g.id for g in generated if hashlib.sha256(f"{g.part.chapter}:{g.id}".encode()).digest()[0] % 2}
    return out, {g.id for g in generated} - out


def diagnose_row(row: Mapping[str, tuple], candidates: list[Generated], tables: Table,
                 inventory: Inventory | None = None) -> tuple[Diagnosis | None, int]:
    """What the generated bank says of a student whose replays ended as `row`, and how many
    different concepts reproduce it."""
    explaining = [g for g in candidates if dict(tables[g.id]) == dict(row)]
    concepts = {g.concept.id if g.concept else None for g in explaining}
    valued = any(shows_a_value(s[0], s[4]) for s in row.values())
    return name_generated(explaining, lesson="", guide="", valued=valued, inventory=inventory), len(concepts)


# A row that mutants of this many concepts or more share is a sink, not a likeness: changes all
# over gradient_check make it report the largest gap there is (1.0), which says nothing of a
# student whose answers are other values. Measured here: rows shared by 2 concepts (22), by 3 (5),
# and one by 8, that sink.
SINK_CONCEPTS = 4


def measured_twins(generated: tuple[Generated, ...], tables: Table) -> set[tuple[str, str]]:
    """The pairs of concepts (ids, in order) of one part some of whose mutants end every replayed
    test alike, with a wrong value shown, in a row no more than a few concepts share (see
    SINK_CONCEPTS): what concepts.yaml's `twins:` must list."""
    alike: dict[tuple, set[str]] = {}
    for mutant in generated:
        row = tables[mutant.id]
        if mutant.concept and failing(row) and any(shows_a_value(s[0], s[4]) for s in row.values()):
            alike.setdefault((mutant.part.chapter, tuple(sorted(row.items()))), set()).add(mutant.concept.id)
    return {(a, b) for ids in alike.values() if len(ids) < SINK_CONCEPTS for a in ids for b in ids if a < b}


def enclosing(generated: tuple[Generated, ...], inventory: Inventory | None = None) -> dict[str, set[str]]:
    """"concept:<id>" -> the concepts of the same part whose code lies inside its code (of the
    inventory's concepts, or else of the mutants')."""
    concepts = {g.concept.id: g.concept for g in generated if g.concept}
    concepts.update({c.id: c for c in inventory.concepts} if inventory is not None else {})
    return {f"concept:{a.id}": {f"concept:{b.id}" for b in concepts.values()
                                if b.part == a.part and b.id != a.id and b.code in a.code}
            for a in concepts.values()}


def failing(row: Mapping[str, tuple]) -> bool:
    return any(s[0] in ("failed", "error", "timeout") and not s[1].startswith("not implemented yet")
               for s in row.values())


def verdict(said: tuple[str, ...], expected: tuple[str, ...], part: str,
            encloses: Mapping[str, set[str]] | None = None) -> str:
    """right: every name is right, or names a concept whose code holds a right concept's code (a
    more general but true place, as "the slope a * (1 - a)" for "the factor (1 - a)")."""
    if not said:
        return "silent"
    wider = encloses or {}
    if all(s in expected or any(e in wider.get(s, ()) for e in expected) for s in said):
        return "right"
    if said == (f"part:{part}",):
        return "part"
    return "wrong"


def judge_heldout(generated: tuple[Generated, ...], tables: Table, inventory: Inventory | None = None) -> Rates:
    """Each held-out mutant that fails a replayed test, diagnosed from the other half only."""
    out, kept = heldout(generated)
    rows, ambiguous = [], 0
    for mutant in (g for g in generated if g.id in out and failing(tables[g.id])):
        candidates = [g for g in generated if g.id in kept and g.part.chapter == mutant.part.chapter]
        said, concepts = diagnose_row(tables[mutant.id], candidates, tables, inventory)
        ambiguous += concepts > 1
        names = (said.mistake,) if said else ()
        right = (f"concept:{mutant.concept.id}",) if mutant.concept else ()
        rows.append(Named(mutant.id, right, names, verdict(names, right, mutant.part.name, enclosing(generated, inventory))))
    return Rates("held-out generated mutants", tuple(rows), ambiguous)


def judge_written(name: str, written: Written, tables: Table, replays: Mapping[int, list],
                  generated: tuple[Generated, ...], bank: Bank, inventory: Inventory | None = None) -> Rates:
    """Written mistakes (id -> (chapter, right names, part)) diagnosed as a grading would: the hand
    bank first (`explain`), then the whole generated bank where the bank names nothing."""
    from ..diagnosis import explain
    rows, ambiguous = [], 0
    for ident, (number, expected, part) in written.items():
        row = tables[ident]
        outcomes = outcomes_of(row, replays[number], number)
        mistakes = {m.id: tables[m.id] for m in bank.of_chapter(number) if not m.harmless}
        names = tuple(dict.fromkeys(m for ids in explain(outcomes, set(row), mistakes).values() for m in ids))
        if not names and failing(row):
            said, concepts = diagnose_row(row, [g for g in generated if g.part.chapter == number], tables, inventory)
            ambiguous += concepts > 1
            names = (said.mistake,) if said else ()
        right = tuple(e if "." not in e else f"concept:{e}" for e in expected)
        rows.append(Named(ident, right, names, verdict(names, right, part, enclosing(generated, inventory))))
    return Rates(name, tuple(rows), ambiguous)


# --- the whole measurement ----------------------------------------------------------------------

def load_written(path: Path, course: Course) -> dict[str, tuple[int, tuple[str, ...], str]]:
    """A file of written mistakes (bench/independent-mistakes.yaml): id -> (chapter, right names,
    the chapter's source with the mistake in it)."""
    import yaml
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise CourseError(f"{path}: cannot be read ({str(error).splitlines()[0]})") from None
    found = {}
    for entry in document.get("mistakes", []):
        chapter = course.chapter(entry["chapter"])
        source = (course.reference / chapter.file).read_text(encoding="utf-8")
        for edit in entry["edits"]:
            if source.count(edit["old"]) != 1:
                raise CourseError(f"{path}: {entry['id']}: the text to replace must occur exactly once in "
                                  f"{chapter.file}")
            source = source.replace(edit["old"], edit["new"])
        found[entry["id"]] = (chapter.number, tuple(entry["expect"]), source)
    return found


def measure(course: Course, bank: Bank, generated: tuple[Generated, ...],
            written: Written | None = None) -> list[Rates]:
    """The diagnosis rates on the hand bank, the held-out generated bank and `written` mistakes
    (id -> (chapter, right names, source))."""
    written = written or {}
    replays, tables = bank_tables(course, bank, generated, written)
    inventory = inventory_of(course)
    parts = {g.concept.id: g.part.name for g in generated if g.concept}
    hand = {m.id: (m.chapter, (m.id,), "") for m in bank.errors if failing(tables[m.id])}
    rates = [judge_written("hand bank", hand, tables, replays, generated, bank, inventory),
             judge_heldout(generated, tables, inventory)]
    if written:
        cases = {i: (n, expect, next((parts[e] for e in expect if e in parts), ""))
                 for i, (n, expect, _) in written.items()}
        rates.append(judge_written("independent mistakes", cases, tables, replays, generated, bank, inventory))
    return rates


def bank_tables(course: Course, bank: Bank, generated: tuple[Generated, ...],
                written: Written) -> tuple[dict[int, list], Table]:
    """The replayable tests of each chapter, and every candidate's and written mistake's endings."""
    seed = course.seed
    numbers = sorted({g.part.chapter for g in generated} | {m.chapter for m in bank.errors})
    replays = capture(course, numbers, seed)
    tables: dict[str, dict] = {}
    for number in numbers:
        sources = {g.id: g.source for g in generated if g.part.chapter == number}
        sources.update({m.id: bank.sources[m.id] for m in bank.errors if m.chapter == number})
        shared = {i: name for i, name in [*((g.id, f"mutant:{g.id}") for g in generated),
                                          *((m.id, f"bank:{m.id}") for m in bank.errors)] if i not in written}
        sources.update({i: source for i, (n, _, source) in written.items() if n == number})
        tables.update(table(course, replays[number], sources, number, seed, shared))
    return replays, tables
