"""Names the misconception behind a failure: when a student's failed checks end exactly as a known
mistake of the bank makes them end, on the same inputs, the student probably made that mistake.

While the hidden tests run against the student's worker, the plugin notes each test it runs
(`capture`). Afterwards, for each chapter with a real failure (not "not implemented yet"), the
judge runs the same test functions again, in the same order, against each candidate mistake of
that chapter: the reference chapter with that one edit, executed here, in the judge (it is the
instructor's code), behind a stand-in for the worker (mistakes/local.py). The `rng` fixture is
seeded by the course seed and the test's id, so each test builds the inputs it gave the student.

A mistake explains a criterion when every test of that criterion that could be replayed ended as
the student's did (both passed, or both failed with the same message, call, expected and actual
value, the line number aside) and at least one of them failed. Tests that need more than the
plugin's own fixtures (chapter 7's trained classifier: 500 epochs) are not replayed.

The hand-written bank's mistakes are tried first; where none explains a failing chapter, the
generated mutants of its student parts are (grader/mistakes/generated.py), named only as far as all
that reproduce the failures agree.

A chapter without such failures costs nothing. A failing chapter costs a look-up: how a candidate
ends the tests does not depend on the student, so each candidate's endings are replayed once, as far
as some grading needed them, and kept in the user's cache folder (grader/mistakes/rows.py); a
grading replays only the candidates whose kept endings agree with the student's so far but stop
short, in-process, within a time budget. Chapters graded with
the student's own earlier chapters (--integrated) are not diagnosed: the bank's mistakes are
measured on the reference's.
"""

from __future__ import annotations

import functools
import inspect
import os
import random
import re
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Mapping

import pytest

from .course import Course, Mistake
from .mistakes import Bank, load_bank
from .mistakes.generated import generate_bank, name_generated, shows_a_value, inventory_of
from .mistakes.local import LocalSession, load_chapter
from .mistakes.rows import Row, Rows, Sequence, as_mapping, course_key, differs, open_rows, save
from .outcomes import GRADER_FAULT, Diagnosis, TestOutcome
from .remote import StudentModule

# Fixtures a replay binds anew to the mistake, and fixtures whose recorded value it reuses.
REBOUND = frozenset({"student", "worker", "student_source", "rng", "record"})
REUSED = frozenset({"reference", "limits", "course_seed"})

REQUEST_SECONDS = 2.0    # one call into a mistake's code
MISTAKE_SECONDS = 5.0    # one mistake's replay of a chapter
TOTAL_SECONDS = 20.0     # all the diagnosis of one grading run

_LOCATION = re.compile(r" at line \d+ of \S+")
_LINE = re.compile(r"\bline \d+")

# The StudentModule of every replay stays alive: chapter 5's tests cache the student's gradients
# under id(student), and a recycled id would hand one mistake another's results.
_RETIRED: list[StudentModule] = []


@dataclass(frozen=True)
class Replay:
    """A hidden test as the student's run executed it, ready to run again."""

    nodeid: str
    chapter: int
    criterion: str
    test: Callable[..., Any] | None          # None: it cannot be replayed
    names: tuple[str, ...] = ()              # its parameters, in order
    arguments: Mapping[str, Any] = field(default_factory=dict)  # recorded values of the reused ones


@functools.lru_cache(maxsize=1024)
def _parameters(test: Callable[..., Any]) -> tuple[str, ...]:
    """A hidden test's parameter names: the same functions run for every grading of a warm judge,
    and inspect.signature costs more than the rest of capturing."""
    return tuple(inspect.signature(test).parameters)


def capture(item: pytest.Item, chapter: int, criterion: str, ran: bool) -> Replay:
    """What replaying `item` takes: its function and the values it received. `ran`: its body was
    called (a test whose set-up failed is not replayable)."""
    test = getattr(item, "obj", None)
    params = set(getattr(getattr(item, "callspec", None), "params", {}))
    if not ran or not callable(test):
        return Replay(item.nodeid, chapter, criterion, None)
    names = _parameters(test)
    if not all(name in REBOUND or name in REUSED or name in params for name in names):
        return Replay(item.nodeid, chapter, criterion, None)
    arguments = {name: item.funcargs[name] for name in names if name not in REBOUND}
    return Replay(item.nodeid, chapter, criterion, test, names, arguments)


# --- comparing outcomes (pure) ------------------------------------------------------------------

def signature(status: str, message: str = "", call: str = "", expected: str | None = None,
              actual: str | None = None) -> tuple:
    """How a test ended, minus where in the file: a student's line numbers are not the mistake's."""
    return status, _LINE.sub("line ?", _LOCATION.sub("", message or "")), call or "", expected, actual


def outcome_signature(outcome: TestOutcome) -> tuple:
    return signature(outcome.status, outcome.message, outcome.call, outcome.expected, outcome.actual)


def diagnosable(outcome: TestOutcome) -> bool:
    """A failure a mistake could explain: a wrong answer or an exception, not unfinished work."""
    return outcome.status in ("failed", "error") and not outcome.message.startswith(("not implemented yet",
                                                                                     GRADER_FAULT))


def explain(outcomes: Iterable[TestOutcome], replayable: set[str],
            replayed: Mapping[str, Mapping[str, tuple]]) -> dict[str, tuple[str, ...]]:
    """criterion -> the mistakes that explain it, from one chapter's outcomes and each candidate
    mistake's replay of them (`replayed`: mistake id -> {nodeid: signature}).

    A mistake explains a criterion when it ends every replayed test of it as the student did and
    the student failed one. Two rules pick among mistakes: one that fails a test the student
    passed is not what the student did; and one whose explained criteria are a strict subset of
    another's gives way to it (a transpose that returns the rows also breaks matrix_multiply
    exactly as dotting rows with rows there does, but only the former explains both failures).
    """
    tests = [o for o in outcomes if o.status != "skipped" and o.nodeid in replayable]
    by_criterion: dict[str, list[TestOutcome]] = {}
    for outcome in tests:
        by_criterion.setdefault(outcome.criterion, []).append(outcome)
    explained: dict[str, set[str]] = {}
    for mistake, results in replayed.items():
        if any(o.status == "passed" and results.get(o.nodeid, ("passed",))[0] != "passed" for o in tests):
            continue
        criteria = {c for c, group in by_criterion.items()
                    if any(diagnosable(o) for o in group)
                    and all(results.get(o.nodeid) == outcome_signature(o) for o in group)}
        if criteria:
            explained[mistake] = criteria
    named: dict[str, tuple[str, ...]] = {}
    for mistake, criteria in explained.items():
        if any(criteria < other for other in explained.values()):
            continue
        for criterion in sorted(criteria):
            named[criterion] = named.get(criterion, ()) + (mistake,)
    return named


# --- replaying (the judge runs the mistake's code) ----------------------------------------------

def replay_chapter(replays: list[Replay], mistake: Mistake, source: str, course: Course, *, seed: int,
                   classify: Callable[[BaseException], dict]) -> dict[str, tuple]:
    """Run the replayable tests, in order, against `mistake`; nodeid -> signature of each ending."""
    return replay_source(replays, source, course, mistake.chapter, label=f"mistake {mistake.id}", seed=seed,
                         classify=classify)


def replay_source(replays: list[Replay], source: str, course: Course, number: int, *, label: str, seed: int,
                  classify: Callable[[BaseException], dict],
                  until: Mapping[str, tuple] | None = None) -> dict[str, tuple]:
    """Run the replayable tests, in order, against chapter `number` written as `source`; nodeid ->
    signature of each ending. With `until`, stop at the first test that ends otherwise than
    `until` says (a candidate that already differs from the student cannot explain them)."""
    chapter = course.chapter(number)
    load = lambda: load_chapter(source, file=chapter.file, module=chapter.module, reference=course.reference,
                                label=label)
    session = LocalSession(load, module=chapter.module, file=chapter.file,
                           request_timeout=min(REQUEST_SECONDS, chapter.limits.request_timeout),
                           budget=MISTAKE_SECONDS)
    student = StudentModule(session)
    _RETIRED.append(student)
    bound = {"student": student, "worker": session, "student_source": source,
             "record": lambda key, value: None}
    results = {}
    try:
        for replay in replays:
            rng = random.Random(f"{seed}:{replay.nodeid}")  # as the plugin's `rng` fixture
            arguments = {name: rng if name == "rng" else bound[name] if name in bound else replay.arguments[name]
                         for name in replay.names}
            results[replay.nodeid] = _run(replay, arguments, session, classify)
            if until is not None and results[replay.nodeid] != until.get(replay.nodeid):
                break
    finally:
        session.close()
    return results


def _run(replay: Replay, arguments: dict, session: LocalSession, classify: Callable) -> tuple:
    try:
        replay.test(**arguments)
        return signature("passed")
    except pytest.skip.Exception as skipped:
        return signature("skipped", skipped.msg)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as error:  # the hidden test failed: describe it as the plugin would
        fields = classify(error)
        call = fields.get("call") or session.last_call  # as the plugin fills a missing call
        return signature(fields["status"], fields.get("message", ""), call, fields.get("expected"),
                         fields.get("actual"))


# --- the whole step -----------------------------------------------------------------------------

def diagnose(course: Course, replays: list[Replay], outcomes: list[TestOutcome], *, seed: int,
             isolated: set[int], classify: Callable[[BaseException], dict],
             bank: Bank | None = None) -> list[TestOutcome]:
    """`outcomes` with a diagnosis on the failed tests of every criterion a known mistake explains.
    `isolated`: the chapters graded with the reference's earlier chapters."""
    failing = {o.chapter for o in outcomes if o.chapter in isolated and diagnosable(o)}
    if not failing:
        return outcomes  # nothing to explain: the bank is not even read
    bank = bank or load_bank(course)
    deadline = time.monotonic() + TOTAL_SECONDS
    key = course_key(course, seed)
    guide = _guide(course)
    found: dict[tuple[int, str], tuple[Diagnosis, ...]] = {}
    for number in sorted(failing):
        mine = [o for o in outcomes if o.chapter == number]
        ran = {o.nodeid for o in mine if o.status != "skipped"}
        replayable = [r for r in replays if r.chapter == number and r.test is not None and r.nodeid in ran]
        if not replayable:
            continue
        rows = open_rows(Sequence(key, number, tuple(r.nodeid for r in replayable)))
        step = Step(course, number, replayable, rows, seed, classify, deadline)
        try:
            named = {c: tuple(_diagnosis(bank.get(i), guide) for i in ids)
                     for c, ids in _from_bank(step, bank, mine).items()}
            # The hand-written bank's prose wins: the generated bank speaks only where it named nothing.
            if not named:
                named = {c: (d,) for c, d in _from_generated(step, mine, guide=guide).items()}
        finally:
            save(rows)  # what was replayed is kept, even when time ran out
        found.update({(number, criterion): said for criterion, said in named.items()})
    return [replace(o, diagnosis=found[(o.chapter, o.criterion)])
            if (o.chapter, o.criterion) in found and o.status != "passed" else o
            for o in outcomes]


@dataclass(frozen=True)
class Step:
    """One failing chapter's diagnosis: its replayable tests, their stored rows and the budget."""

    course: Course
    number: int
    replayable: list[Replay]
    rows: Rows
    seed: int
    classify: Callable[[BaseException], dict]
    deadline: float

    def row(self, ident: str, source: str, length: int, until: Row | None = None) -> Row | None:
        """The candidate's endings of the first `length` tests (with `until`: as far as they agree
        with it, or all of them), from the stored rows or replayed now; None when time is up."""
        row = self.rows.get(ident)
        if len(row) >= length or (until is not None and differs(row, until)):
            return row
        if time.monotonic() > self.deadline:
            return None
        tests = self.replayable[:length]
        stop = None if until is None else as_mapping(self.rows.sequence, until)
        results = replay_source(tests, source, self.course, self.number, label=ident, seed=self.seed,
                                classify=self.classify, until=stop)
        endings = [results[r.nodeid] for r in tests if r.nodeid in results]
        self.rows.put(ident, endings)
        return tuple(endings)


def _from_bank(step: Step, bank: Bank, mine: list[TestOutcome]) -> dict[str, tuple[str, ...]]:
    """criterion -> the hand-bank mistakes that explain it (see `explain`)."""
    criteria = {o.criterion for o in mine if diagnosable(o)}
    candidates = [m for m in bank.of_chapter(step.number) if not m.harmless and criteria & set(m.caught_by)]
    needed = [i for i, r in enumerate(step.replayable) if r.criterion in criteria]
    if not candidates or not needed:
        return {}
    length = needed[-1] + 1  # later tests cannot change these criteria's outcome
    replayed = {}
    for mistake in candidates:
        row = step.row(f"bank:{mistake.id}", bank.sources[mistake.id], length)
        if row is None:
            break
        replayed[mistake.id] = as_mapping(step.rows.sequence, row[:length])
    return explain(mine, {r.nodeid for r in step.replayable[:length]}, replayed)


def _from_generated(step: Step, mine: list[TestOutcome], *, guide: str) -> dict[str, Diagnosis]:
    """criterion -> what the generated mutants of the chapter say about its failures: the mutants
    that end every replayed test of the chapter as the student's run did, named only as far as
    they agree (grader/mistakes/generated.py). Nothing when the time runs out first: a mutant left
    untried could have disagreed."""
    ran = {o.nodeid: outcome_signature(o) for o in mine if o.status != "skipped"}
    expected = tuple(ran[r.nodeid] for r in step.replayable)
    failing = {o.criterion for o in mine if diagnosable(o) and o.nodeid in step.rows.sequence.nodeids}
    if not (step.course.reference / step.course.chapter(step.number).file).is_file():
        return {}  # a student release carries no reference to make mutants of
    candidates = generate_bank(step.course, step.number)
    if not failing or not candidates:
        return {}
    explaining = []
    for mutant in candidates:
        row = step.row(f"mutant:{mutant.id}", mutant.source, len(expected), until=expected)
        if row is None:
            return {}
        if row == expected:
            explaining.append(mutant)
    valued = any(shows_a_value(o.status, o.actual) for o in mine
                 if diagnosable(o) and o.nodeid in step.rows.sequence.nodeids)
    said = name_generated(explaining, lesson=_lesson(step.course, step.number), guide=guide, valued=valued,
                          inventory=inventory_of(step.course))
    return {criterion: said for criterion in sorted(failing)} if said else {}


def _lesson(course: Course, number: int) -> str:
    """The course guide's section of chapter `number` ("Chapter 3 — the forward pass")."""
    guide = course.exercises / "README.md"
    try:
        text = guide.read_text(encoding="utf-8")
    except OSError:
        return ""
    heading = re.search(rf"^#+\s*(Chapter {number}\b.*?)\s*$", text, re.MULTILINE)
    return heading.group(1) if heading else ""


def _guide(course: Course) -> str:
    """The course guide the lessons are sections of, as a path from the course's folder."""
    guide = course.exercises / "README.md"
    return os.path.relpath(guide, course.root) if guide.is_file() else ""


def _diagnosis(mistake: Mistake, guide: str) -> Diagnosis:
    return Diagnosis(mistake=mistake.id, title=mistake.title, did=mistake.did, why=mistake.why,
                     lesson=mistake.lesson, guide=guide)
