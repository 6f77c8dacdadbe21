"""The pytest plugin that turns the hidden tests into a judge: it provides the fixtures the tests
use (`student`, `worker`, `reference`, `rng`, `record`, `student_source`), skips the dependents
of a failed gate, and records one TestOutcome per test."""

from __future__ import annotations

import functools
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest

from . import diagnosis
from .checks import Mismatch
from .course import Chapter, Course
from .errors import CourseError
from .outcomes import GRADER_FAULT, TestOutcome
from .reference import ReferenceSource
from .remote import Session, StudentFault, StudentModule


@dataclass
class ChapterContext:
    """What the judge knows about one chapter while its tests run."""

    chapter: Chapter
    source: str
    new_session: Callable[[], Session]
    session: Session | None = None
    started: float = 0.0
    finished: float = 0.0


@functools.lru_cache(maxsize=64)
def _resolved(path: Path) -> Path:
    """A hidden test file's resolved path: looked up for every test and fixture, and resolving
    costs a system call per folder of the path each time."""
    return Path(path).resolve()


def _classify(error: BaseException) -> dict[str, Any]:
    """An exception raised by a hidden test, as an outcome's fields."""
    if isinstance(error, StudentFault):
        return {"status": error.status, "message": error.message, "call": error.call,
                "location": error.location}
    if isinstance(error, Mismatch):
        return {"status": "failed", "message": error.reason, "call": error.call,
                "expected": error.expected, "actual": error.actual}
    if isinstance(error, AssertionError):
        text = str(error).split("\nassert ")[0].strip() or "a check failed"
        return {"status": "failed", "message": text}
    return {"status": "error", "message": f"{GRADER_FAULT} ({type(error).__name__}: {str(error)[:300]})"}


def _plain(value: Any, depth: int = 0) -> Any:
    """Recorded data as JSON can hold it: anything else (a student's object) becomes its repr."""
    if value is None or type(value) in (bool, int, float, str):
        return value
    if type(value) in (list, tuple) and depth < 8:
        return [_plain(v, depth + 1) for v in value]
    if type(value) is dict and depth < 8:
        return {str(k): _plain(v, depth + 1) for k, v in value.items()}
    return repr(value)[:200]


def _recorded_data(item: pytest.Item) -> dict[str, list]:
    """What the test passed to `record(key, value)`: each key's values in order."""
    data: dict[str, list] = {}
    for key, value in item.user_properties:
        data.setdefault(key, []).append(value)
    return data


def rubric_problems(course: Course, items: list[pytest.Item], chapter_of: Callable[[pytest.Item], Chapter]) -> list[str]:
    """What is wrong between the hidden tests `items` and the course's rubric: a test tied to no
    criterion or to an unknown one, a criterion of their chapters that no test covers."""
    problems: list[str] = []
    covered: set[str] = set()
    for item in items:
        chapter = chapter_of(item)
        marker = item.get_closest_marker("criterion")
        where = f"{item.path.name}:{item.location[1] + 1}"
        if marker is None or not marker.args:
            problems.append(f"{where}: test {item.name} is not tied to a criterion (@pytest.mark.criterion(...))")
        elif marker.args[0] not in {c.id for c in chapter.criteria}:
            problems.append(f"{where}: test {item.name} names {marker.args[0]!r}, which is not a "
                            f"criterion of chapter {chapter.number} in {course.path.name}")
        else:
            covered.add(marker.args[0])
    for chapter in {id(c): c for c in map(chapter_of, items)}.values():
        problems += [f"{course.path.name}:{criterion.line}: criterion {criterion.id!r} has no hidden tests"
                     for criterion in chapter.criteria if criterion.id not in covered]
    return problems


@dataclass(eq=False)  # pytest keeps its plugins in sets: hashed by identity
class JudgePlugin:
    """One grading's judge. A session prepared ahead of any grading (grader/prepared.py) collects
    with course None, and begin() gives it each grading in turn."""

    course: Course | None
    contexts: dict[Path, ChapterContext]
    seed: int
    source: ReferenceSource | None
    outcomes: list[TestOutcome] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    _failed: set[str] = field(default_factory=set)
    _recorded: set[str] = field(default_factory=set)
    _timed_out: set[str] = field(default_factory=set)
    _replays: list[diagnosis.Replay] = field(default_factory=list)
    _finished: bool = False
    _item: pytest.Item | None = None   # the test being set up (its fixtures read it)

    def begin(self, course: Course, contexts: dict[Path, ChapterContext], seed: int,
              source: ReferenceSource) -> JudgePlugin:
        """Start a new grading with this (prepared) plugin: nothing of the one before is kept."""
        self.course, self.contexts, self.seed, self.source = course, contexts, seed, source
        self.outcomes, self.problems, self._replays = [], [], []
        self._failed, self._recorded, self._timed_out = set(), set(), set()
        self._finished = False
        return self

    # set-up and validation

    def pytest_configure(self, config: pytest.Config) -> None:
        config.addinivalue_line("markers", "criterion(id): the rubric criterion this test counts toward")

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.problems.append(f"{report.nodeid}: the hidden tests do not load: {str(report.longrepr)[-500:]}")

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        if self.course is None:  # collected ahead of any grading: each grading checks its own tests
            return
        self.problems += rubric_problems(self.course, items, lambda item: self._context(item).chapter)
        if self.problems:
            items[:] = []

    def _context(self, item: pytest.Item) -> ChapterContext:
        return self.contexts[_resolved(item.path)]

    def _criterion(self, item: pytest.Item) -> str:
        return item.get_closest_marker("criterion").args[0]

    # fixtures

    # The fixtures take the test being set up from pytest_runtest_setup, not from `request`:
    # pytest builds a new FixtureDef each time a fixture asks for `request` (~600 per grading).

    @pytest.fixture(scope="module")
    def worker(self) -> Session:
        context = self._context(self._item)
        if context.session is None:
            context.session = context.new_session()
        context.session.begin()
        self._prestart_after(context)  # the next chapter's worker starts while this one's tests run
        context.started = time.monotonic()
        yield context.session
        context.session.close()
        context.finished = time.monotonic()

    def _prestart_after(self, context: ChapterContext) -> None:
        following = list(self.contexts.values())
        for later in following[following.index(context) + 1:]:
            if later.session is None:
                later.session = later.new_session()
                later.session.prestart()
            return

    @pytest.fixture(scope="module")
    def student(self, worker: Session) -> StudentModule:
        return StudentModule(worker)

    @pytest.fixture(scope="module")
    def reference(self) -> Any:
        """The reference chapter, as the grading's reference source gives it (grader/reference.py)."""
        with self.source.namespace(self._context(self._item)) as namespace:
            yield namespace

    @pytest.fixture(scope="module")
    def student_source(self) -> str:
        return self._context(self._item).source

    @pytest.fixture(scope="module")
    def limits(self):
        return self._context(self._item).chapter.limits

    @pytest.fixture(scope="session")
    def course_seed(self) -> int:
        return self.seed

    @pytest.fixture
    def rng(self) -> random.Random:
        return random.Random(f"{self.seed}:{self._item.nodeid}")

    @pytest.fixture
    def record(self) -> Callable[[str, Any], None]:
        """Attach data to this test's outcome (the scorecard draws pictures from it); values
        recorded under one key, by one test or several of a criterion, are kept as a list."""
        item = self._item
        return lambda key, value: item.user_properties.append((key, _plain(value)))

    # running

    @pytest.hookimpl(tryfirst=True)  # before pytest sets up the test's fixtures
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        self._item = item
        chapter = self._context(item).chapter
        gates = []
        gate = chapter.criterion(self._criterion(item)).depends_on
        while gate is not None:
            gates.append(gate)
            gate = chapter.criterion(gate).depends_on
        failed = [g for g in gates if g in self._failed]
        if failed:  # name the root cause, not the gate that was merely skipped because of it
            pytest.skip(f"skipped because \u201c{chapter.criterion(failed[-1]).title}\u201d did not pass")
        if self._criterion(item) in self._timed_out:
            # The criterion is lost already; waiting out the same endless loop again costs only time.
            pytest.skip("skipped after an earlier check of this criterion ran out of time")

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo) -> pytest.TestReport:
        """Record the outcome and return a plain report: pytest's own would format a traceback
        for every failure, which costs more time than running the test."""
        fields = self._fields(item, call)
        outcome = {"passed": "passed", "skipped": "skipped"}.get(fields["status"], "failed")
        report = pytest.TestReport(
            item.nodeid, item.location, keywords={}, outcome=outcome, when=call.when,
            longrepr=None if outcome == "passed" else
            ((str(item.path), item.location[1], fields["message"]) if outcome == "skipped" else fields["message"]),
            duration=call.duration, start=call.start, stop=call.stop,
        )
        if call.when == "teardown" or (call.when == "setup" and outcome == "passed"):
            return report
        if item.nodeid in self._recorded:
            return report
        self._recorded.add(item.nodeid)
        context = self._context(item)
        if not fields.get("call") and fields["status"] != "passed" and context.session is not None:
            fields["call"] = context.session.last_call
        criterion = self._criterion(item)
        if fields["status"] != "passed":
            self._failed.add(criterion)
        if fields["status"] == "timeout":
            self._timed_out.add(criterion)
        self.outcomes.append(TestOutcome(
            nodeid=item.nodeid, chapter=context.chapter.number, criterion=criterion,
            duration=round(call.duration, 4), data=_recorded_data(item), **fields,
        ))
        self._replays.append(diagnosis.capture(item, context.chapter.number, criterion, ran=call.when == "call"))
        return report

    @staticmethod
    def _fields(item: pytest.Item, call: pytest.CallInfo) -> dict[str, Any]:
        if call.excinfo is None:
            return {"status": "passed", "message": ""}
        error = call.excinfo.value
        if isinstance(error, pytest.skip.Exception):
            return {"status": "skipped", "message": error.msg}
        return _classify(error)

    # diagnosis, after every test has run (so it never eats into a chapter's time limit)

    def pytest_sessionfinish(self) -> None:
        if self.course is not None and not self._finished:
            self.finish()

    def finish(self) -> None:
        """Name the known mistakes that explain the failures (grader/diagnosis.py)."""
        self._finished = True
        isolated = {c.chapter.number for c in self.contexts.values()
                    if c.session is not None and tuple(c.session.spec.student_files) == (c.chapter.file,)}
        try:
            self.outcomes = diagnosis.diagnose(self.course, self._replays, self.outcomes, seed=self.seed,
                                               isolated=isolated, classify=_classify)
        except CourseError as error:  # the bank is the course's: as loud as a broken course.yaml
            self.problems.append(f"the mistake bank cannot be used: {error}")
        except Exception as error:  # a fault of the diagnosis must never cost a student the grade
            print(f"grade: warning: no diagnosis ({type(error).__name__}: {error})", file=sys.__stderr__)
