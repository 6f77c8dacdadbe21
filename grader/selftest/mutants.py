"""`grade selftest --mutants`: first-order mutants of every student part of the reference, each
graded in its own chapter, against a committed list of equivalent mutants (pure, except reading
the course's files: the reference, the starters, that list, and what the proof is keyed by).

A mutant is killed when its chapter loses points. One that keeps full marks is either listed in
equivalent-mutants.yaml (next to course.yaml) with the reason it cannot be told apart from the
reference, or it is a survivor: a hole in the hidden tests, and the self-test fails.

Chapter 7's training is the expensive part (grader/hidden/training.py). A mutant of a part the
training does not reach replays the reference's recorded training, which is what it would
compute. A mutant of the training's own code is first graded without training: if another
criterion already loses points, the full grading would lose them too (those tests build their
own seeded classifiers and never touch the trained one); only the others are trained for real.
"""

from __future__ import annotations

import ast
import difflib
import hashlib
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..course import Course
from ..errors import CourseError
from ..hidden.training import ENTRY_POINTS
from .once import spilled
from ..mutation import operators
from ..mutation.operators import apply, mutations_of
from ..mutation.parts import Part, functions_of, reached_from, span, student_parts
from .plan import REPLAY, SKIP, Run, final_chapter
from .verdict import Graded

MUTANT = "mutant"
EQUIVALENTS = "equivalent-mutants.yaml"
VERIFIED = "mutants-verified.json"
HIT = ("failed", "error", "timeout")


@dataclass(frozen=True)
class Mutant:
    id: str             # "<part>@<line within the part>:<column> <operator>": stable while the part is
    part: Part
    operator: str
    line: int           # in the chapter file
    source: str         # the whole mutated chapter file
    diff: str
    trains: bool        # whether the final chapter's training can reach the mutated part


@dataclass(frozen=True)
class Equivalent:
    chapter: int
    id: str
    reason: str
    line: int           # in equivalent-mutants.yaml


def _diff(before: str, after: str, file: str) -> str:
    lines = difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                 f"reference/{file}", f"mutant/{file}", n=1)
    return "".join(lines)


def generate(course: Course) -> tuple[Mutant, ...]:
    """Every first-order mutant of every student part of the reference, part by part."""
    last = final_chapter(course)
    mutants = []
    for part in student_parts(course):
        source = (course.reference / part.file).read_text(encoding="utf-8")
        function = functions_of(ast.parse(source)).get(part.name)
        if function is None:
            raise CourseError(f"{course.reference / part.file}: {part.name} is a student part (its starter raises "
                              f"NotImplementedError) but the reference does not define it")
        first = span(source, part.name)[0]
        trains = part.chapter == last and part.name in reached_from(source, ENTRY_POINTS)
        for mutation in mutations_of(source, function):
            mutant = apply(source, mutation)
            mutants.append(Mutant(f"{part.name}@{mutation.line - first}:{mutation.column} {mutation.operator}",
                                  part, mutation.operator, mutation.line, mutant,
                                  _diff(source, mutant, part.file), trains))
    return tuple(mutants)


def mutant_runs(course: Course, mutants: tuple[Mutant, ...]) -> tuple[Run, ...]:
    """Every mutant graded in its own chapter, in rounds: round k grades the k-th mutant of each
    chapter in one `grade chapter ...` run. Chapters are graded isolated (each with the
    reference's earlier chapters, in a worker of its own), so a chapter's result depends on its
    own mutant only, and a run's start-up is paid once for up to seven mutants."""
    last = final_chapter(course)
    by_chapter: dict[int, list[Mutant]] = {}
    for mutant in mutants:
        by_chapter.setdefault(mutant.part.chapter, []).append(mutant)
    runs = []
    for k in range(max((len(ms) for ms in by_chapter.values()), default=0)):
        chosen = {n: ms[k] for n, ms in sorted(by_chapter.items()) if k < len(ms)}
        final = chosen.get(last)
        training = "" if final is None else (SKIP if final.trains else REPLAY)
        runs.append(Run(f"mutants round {k + 1}", MUTANT, tuple(chosen),
                        files={m.part.file: m.source for m in chosen.values()}, training=training,
                        mutants=tuple((n, m.id) for n, m in chosen.items())))
    return tuple(runs)


def trained_again(mutant: Mutant) -> Run:
    """A mutant of the training's own code graded with its real training, alone (after a first pass
    without training that cost it nothing)."""
    return Run(f"mutant ch{mutant.part.chapter} {mutant.id} (trained)", MUTANT, (mutant.part.chapter,),
               files={mutant.part.file: mutant.source}, mutants=((mutant.part.chapter, mutant.id),), slow=True)


def mutant_outcomes(graded: list[Graded], last: int) -> dict[str, tuple[str, tuple[str, ...], str, str]]:
    """Each mutant's fate, read from its own chapter of the grading that carried it: killed, kept
    or error, the criteria that caught it, a note and the scorecard. In the final chapter (`last`)
    of a grading without training only failures count (the trained criteria were skipped, not lost)."""
    notes = {SKIP: "graded without training first", REPLAY: "reference training replayed", "": "trained for real"}
    outcomes = {}
    for g in graded:
        for chapter, mutant in g.run.mutants:
            fate, caught = outcome(g.results, chapter, first_pass=chapter == last and g.run.training == SKIP)
            note = notes[g.run.training] if chapter == last else ""
            if fate == "error":
                note = f"grade exited with code {g.code}: " + " | ".join(g.stderr.strip().splitlines()[-2:])
            outcomes[mutant] = (fate, caught, note, g.report)
    return outcomes


# --- the committed list of equivalent mutants ---------------------------------------------------

def load_equivalents(course: Course) -> tuple[Equivalent, ...]:
    """equivalent-mutants.yaml next to course.yaml: a list of {chapter, id, reason}; none without it."""
    path = course.root / EQUIVALENTS
    if not path.is_file():
        return ()
    try:
        nodes = yaml.compose(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise CourseError(f"{path}: cannot be read as YAML ({str(error).splitlines()[0]})") from None
    if nodes is None:
        return ()
    if not isinstance(nodes, yaml.SequenceNode):
        raise CourseError(f"{path}:{nodes.start_mark.line + 1}: expected a list of {{chapter, id, reason}}")
    found, seen = [], {}
    for node in nodes.value:
        line = node.start_mark.line + 1
        entry = yaml.safe_load(yaml.serialize(node)) if isinstance(node, yaml.MappingNode) else None
        if not isinstance(entry, dict) or set(entry) != {"chapter", "id", "reason"}:
            raise CourseError(f"{path}:{line}: each entry has exactly the keys chapter, id and reason")
        if type(entry["chapter"]) is not int or not isinstance(entry["id"], str) \
                or not isinstance(entry["reason"], str) or not entry["reason"].strip():
            raise CourseError(f"{path}:{line}: chapter is a number, id a mutant's id, reason one line of text")
        key = (entry["chapter"], entry["id"])
        if key in seen:
            raise CourseError(f"{path}:{line}: mutant {entry['id']!r} is listed twice (also at line {seen[key]})")
        seen[key] = line
        found.append(Equivalent(entry["chapter"], entry["id"], " ".join(entry["reason"].split()), line))
    return tuple(found)


# --- what the gradings say ----------------------------------------------------------------------

@dataclass(frozen=True)
class MutantRow:
    mutant: Mutant
    state: str                  # killed | equivalent | survived | error
    caught_by: tuple[str, ...]  # the criteria of its chapter that lost points
    reason: str = ""            # why it is equivalent, from the list
    note: str = ""              # a grading that crashed, or how it was graded
    report: str = ""
    spilled: tuple[str, ...] = ()  # criteria it cost that grade other parts (none: it costs once)


@dataclass(frozen=True)
class Tally:
    """Mutants of one chapter or part, by fate. The score leaves the equivalent ones out."""

    name: str
    total: int
    killed: int
    equivalent: int
    survived: int
    errors: int

    @property
    def score(self) -> float:
        scored = self.total - self.equivalent
        return self.killed / scored if scored else 1.0


@dataclass(frozen=True)
class MutationVerdict:
    rows: tuple[MutantRow, ...]
    chapters: tuple[Tally, ...]
    parts: tuple[Tally, ...]
    problems: tuple[str, ...]   # survivors, errors, stale or wrong entries of the list

    @property
    def passed(self) -> bool:
        return not self.problems

    @property
    def total(self) -> Tally:
        return _tally("all", self.rows)

    @property
    def spilled(self) -> tuple[MutantRow, ...]:
        """Killed mutants that also cost criteria of other parts: a mistake charged twice."""
        return tuple(row for row in self.rows if row.spilled)


def _tally(name: str, rows) -> Tally:
    states = [row.state for row in rows]
    return Tally(name, len(states), states.count("killed"), states.count("equivalent"),
                 states.count("survived"), states.count("error"))


def outcome(results: dict | None, chapter: int, first_pass: bool) -> tuple[str, tuple[str, ...]]:
    """(killed | kept | error, the criteria that lost points) of one grading of a mutant. In a first
    pass without training, only criteria that failed count: the skipped ones say nothing yet."""
    if results is None:
        return "error", ()
    graded = {ch["number"]: ch for ch in results["chapters"]}.get(chapter)
    if graded is None or graded["status"] != "graded":
        return "error", ()
    lost = tuple(c["id"] for c in graded["criteria"] if c["status"] in HIT)
    if first_pass:
        return ("killed" if lost else "kept"), lost
    skipped = tuple(c["id"] for c in graded["criteria"] if c["status"] == "skipped")
    return ("killed" if graded["score"] < graded["max_score"] else "kept"), lost + skipped


def judge_mutants(course: Course, mutants: tuple[Mutant, ...], outcomes: dict[str, tuple[str, tuple[str, ...], str, str]],
                  equivalents: tuple[Equivalent, ...]) -> MutationVerdict:
    """outcomes: mutant id -> (killed | kept | error, criteria, note, report)."""
    listed = {(e.chapter, e.id): e for e in equivalents}
    rows, problems = [], []
    for mutant in mutants:
        fate, caught, note, report = outcomes.get(mutant.id, ("error", (), "never graded", ""))
        entry = listed.get((mutant.part.chapter, mutant.id))
        if fate == "kept" and entry:
            rows.append(MutantRow(mutant, "equivalent", (), entry.reason, note, report))
        elif fate == "kept":
            rows.append(MutantRow(mutant, "survived", (), "", note, report))
            problems.append(f"ch{mutant.part.chapter} {mutant.id}: survives with full marks in chapter "
                            f"{mutant.part.chapter} (line {mutant.line}); add a hidden test that tells it apart, or "
                            f"list it in {EQUIVALENTS} with the reason it cannot be")
        elif fate == "error":
            rows.append(MutantRow(mutant, "error", (), "", note, report))
            problems.append(f"ch{mutant.part.chapter} {mutant.id}: its grading failed ({note})")
        else:
            beyond = spilled(course.chapter(mutant.part.chapter), [mutant.part.name], caught)
            rows.append(MutantRow(mutant, "killed", caught, "", note, report, beyond))
            if beyond:
                problems.append(f"ch{mutant.part.chapter} {mutant.id}: also costs {', '.join(beyond)}, which grade "
                                f"other parts (a mistake costs its points once)")
            if entry:
                problems.append(f"{EQUIVALENTS}:{entry.line}: {mutant.id} is listed as equivalent but loses "
                                f"points ({', '.join(caught)}): remove it from the list")
    generated = {(m.part.chapter, m.id) for m in mutants}
    problems += [f"{EQUIVALENTS}:{e.line}: no mutant ch{e.chapter} {e.id} is generated any more: remove it"
                 for e in equivalents if (e.chapter, e.id) not in generated]
    chapters = tuple(_tally(f"Chapter {ch.number}", [r for r in rows if r.mutant.part.chapter == ch.number])
                     for ch in course.chapters)
    parts = tuple(_tally(part.label, [r for r in rows if r.mutant.part == part]) for part in student_parts(course))
    return MutationVerdict(tuple(rows), chapters, parts, tuple(problems))


# --- the committed result, keyed by what it proves ----------------------------------------------

def proof_inputs(course: Course) -> dict[str, str]:
    """sha256 of every file the mutation verdict depends on: the reference chapters, the starters
    (which say what the student parts are), the hidden tests and their comparisons, the rubric,
    the list of equivalent mutants and the operators that make the mutants."""
    files = [course.path, course.root / EQUIVALENTS, Path(operators.__file__),
             Path(__file__).parents[1] / "checks.py"]   # the hidden tests' comparisons, relative oracles included
    files += [folder / ch.file for ch in course.chapters for folder in (course.reference, course.exercises)]
    files += sorted({ch.tests_path.parent for ch in course.chapters}.pop().glob("*.py"))
    digests = {}
    for path in files:
        name = _relative(path, course.root)
        digests[name] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "missing"
    return dict(sorted(digests.items()))


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        if path.parent.name in ("hidden", "mutation"):
            return f"grader/{path.parent.name}/{path.name}"
        return f"grader/{path.name}" if path.parent.name == "grader" else path.name


def proof_key(inputs: dict[str, str]) -> str:
    return hashlib.sha256("\n".join(f"{k} {v}" for k, v in inputs.items()).encode()).hexdigest()
