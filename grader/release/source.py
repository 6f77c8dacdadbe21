"""The reference sources a student release plugs into the engine (grader/reference.py):

- `ReplayReference`, in a student release: the oracle's recorded answers; no earlier chapters to
  seal (the release has none), so it always grades integrated, with the oracle's seed;
- `RecordingReference`, while `grade release` records: the live reference behind a proxy that
  keeps every answer.

`source_for(course)` picks the one a course folder needs; the command line and the batch judge
call it, the engine never does.
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator

from ..course import Course
from ..errors import CourseError, UsageError
from ..reference import LiveReference, ReferenceSource
from ..remote import Session
from .oracle import HIDDEN_DIR, hidden_tests_digest, is_release, load_oracle
from .record import LiveAnswerer, homes, record_path, recorder
from .replay import ReplayAnswerer, StudentFallback
from .space import Space


def source_for(course: Course) -> ReferenceSource:
    """The reference source for `course`: its oracle in a student release, the live reference
    (recorded while `grade release` asks) in the instructor's tree."""
    if is_release(course):
        return ReplayReference(course)
    if record_path() is not None:
        return RecordingReference(course)
    return LiveReference(course)


class ReplayReference:
    """A student release: answers from the recorded oracle, questions it cannot answer about an
    earlier chapter from the student's own earlier chapter, in the sandbox."""

    def __init__(self, course: Course):
        self.course = course

    def settle(self, seed: int | None, integrated: bool) -> tuple[int, bool]:
        """The oracle's seed (another one is refused: every recorded answer belongs to the inputs
        that seed makes), and integrated, since there are no reference chapters to isolate with."""
        oracle = load_oracle(self.course)
        if seed is not None and seed != oracle.seed:
            raise UsageError(f"--seed {seed} cannot be used here: this is a student release, whose recorded "
                             f"answers belong to seed {oracle.seed}")
        if self.course.seed != oracle.seed:
            raise CourseError(f"{self.course.path.name}: seed {self.course.seed} is not {oracle.seed}, the seed "
                              f"this release's answers were recorded with; put it back")
        if hidden_tests_digest() != oracle.hidden_tests:
            raise CourseError(f"the hidden tests in {HIDDEN_DIR} are not the ones this release's answers were "
                              f"recorded with (grader {oracle.grader_version}); restore them from the release")
        return oracle.seed, True

    def sealed(self, number: int) -> None:
        return None  # nothing to give: the import names the missing chapter

    @contextlib.contextmanager
    def namespace(self, context: Any) -> Iterator[Any]:
        number = context.chapter.number
        oracle = load_oracle(self.course)
        names = oracle.names.get(number, {})
        fallback = StudentFallback(number, names, {ch.number: ch.module for ch in self.course.chapters},
                                   _session_opener(context))
        try:
            yield Space(number, dict.fromkeys(names), ReplayAnswerer(oracle.answers, fallback)).namespace
        finally:
            fallback.close()


class RecordingReference(LiveReference):
    """The live reference, every answer it gives kept for the release's oracle."""

    @contextlib.contextmanager
    def namespace(self, context: Any) -> Iterator[Any]:
        number = context.chapter.number
        namespace = vars(self.load(number))
        keeper = recorder()
        callables = homes(namespace, {ch.module: ch.number for ch in self.course.chapters})
        keeper.names[str(number)] = callables
        try:
            yield Space(number, {name: namespace[name] for name in callables},
                        LiveAnswerer(keeper, namespace)).namespace
        finally:
            keeper.save(record_path())


def _session_opener(context: Any) -> Callable[[str], Session]:
    """Workers for the student's earlier chapters: the chapter's own folder, sandbox and limits,
    another module imported."""
    def open_session(module: str) -> Session:
        template = context.new_session()  # not started: only its settings are borrowed
        return Session(template.spec, module, request_timeout=template.request_timeout,
                       chapter_timeout=template.chapter_timeout, output_bytes=template.stdout.cap)
    return open_session
