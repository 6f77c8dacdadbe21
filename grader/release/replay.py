"""Replay, in a student release: answers come from the oracle; a question it cannot answer is
either a judge's computation on the student's own data, answered by the student's own earlier
chapter (the release grades integrated anyway), or an error of the test that asked it.

Which questions may fall back is decided by where the reference function or class that started
the question's family lives: only a chapter *before* the one being graded qualifies. Chapter 7's
accuracy is measured on the student's trained weights with `BackpropLayer.forward` (chapter 5)
and `softmax` (chapter 4): that is computed by the student's own chapters 5 and 4, in the
sandbox, exactly as their classifier was trained. A question about the graded chapter itself
(chapter 6's tests asking the reference `Trainer`) is never answered by the student's code: it
comes from the oracle or it is an error, so a student cannot be compared with themselves.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any, Callable, Iterator, Mapping

from ..course import Course
from ..errors import CourseError, UsageError
from ..remote import Remote, Session
from .oracle import HIDDEN_DIR, hidden_tests_digest, load_oracle
from .space import Question, RefObject, Reply, Space, Step, UnrecordedQuestion, current_test
from .values import METHOD, OBJECT, to_wire

MISSES_ENV = "GRADE_ORACLE_MISSES"  # set by `grade release` while it verifies a release
_MISSING = object()
_ROUTINES = {"method", "function", "builtin_function_or_method", "method-wrapper"}


class ReplayAnswerer:
    def __init__(self, answers: Mapping[str, Any], fallback: "StudentFallback"):
        self.answers, self.fallback = answers, fallback

    def answer(self, question: Question) -> Reply:
        if question.family.answered_by is not None:
            return self.fallback.answer(question)
        wire = self.answers.get(question.key, _MISSING)
        if wire is not _MISSING:
            return Reply(wire)
        if question.op == "set":  # assignments are recorded only when they raise
            return Reply(None)
        return self.fallback.take_over(question)


class StudentFallback:
    """Answers a family's questions with the student's own earlier chapter, in the sandbox."""

    def __init__(self, chapter: int, names: Mapping[str, int | None], modules: Mapping[int, str],
                 open_session: Callable[[str], Session]):
        self.chapter, self.names, self.modules = chapter, names, modules
        self.open_session = open_session
        self.sessions: dict[int, Session] = {}

    def close(self) -> None:
        for session in self.sessions.values():
            session.close()

    def take_over(self, question: Question) -> Reply:
        family = question.family
        family.answered_by = self._home(question)
        try:
            for step in list(family.steps):
                self._redo(family.answered_by, step)
        except BaseException:
            family.answered_by = None
            raise
        return self.answer(question)

    def answer(self, question: Question) -> Reply:
        if _is_root(question.target) and self.names.get(_root_name(question.target)) != question.family.answered_by:
            raise self._unrecorded(question)  # another chapter's class joining the family: never the student's
        session = self._session(question.family.answered_by)
        args, kwargs = self._handles(question.args), self._handles(question.kwargs)
        if question.op == "set":
            session.set(self._handle(question.target), question.name, args[0])
            return Reply(None)
        if question.op == "get":
            value = session.get(self._handle(question.target), question.name)
            if isinstance(value, Remote) and value._type in _ROUTINES:
                return Reply({METHOD: 1})
        else:
            value = self._call(session, question.target, question.name, args, kwargs)
        handles: list[Remote] = []

        def tag(remote: Any) -> Any:
            handles.append(remote)
            return {OBJECT: len(handles) - 1}

        return Reply(to_wire(value, tag), tuple(handles))

    # the student's side

    def _home(self, question: Question) -> int:
        """The one earlier chapter whose functions and classes started this family."""
        roots = [s.target for s in question.family.steps if _is_root(s.target)]
        if _is_root(question.target) or question.target._id == "ref":
            roots.append(question.target)
        homes = {self.names.get(_root_name(r)) if _is_root(r) else None for r in roots}
        if len(homes) != 1 or None in homes or next(iter(homes)) >= self.chapter:
            raise self._unrecorded(question)
        return homes.pop()

    @staticmethod
    def _unrecorded(question: Question) -> UnrecordedQuestion:
        test = current_test().removeprefix("grader/hidden/") or "a hidden test"
        return noted(UnrecordedQuestion(f"no recorded answer to `{question.label}` in this release: tell your "
                                        f"instructor ({test})"))

    def _session(self, home: int) -> Session:
        if home not in self.sessions:
            self.sessions[home] = self.open_session(self.modules[home])
        return self.sessions[home]

    def _redo(self, home: int, step: Step) -> None:
        """Do again, to the student's objects, what the test did to the family's reference objects."""
        session = self._session(home)
        args, kwargs = self._handles(step.args), self._handles(step.kwargs)
        if step.op == "set":
            session.set(self._handle(step.target), step.name, args[0])
            return
        if step.op == "get":
            value = session.get(self._handle(step.target), step.name)
        else:
            value = self._call(session, step.target, step.name, args, kwargs)
        found: list[Remote] = []

        def collect(remote: Remote) -> dict:
            found.append(remote)
            return {}

        to_wire(value, collect)  # the student's objects, in the order the recorded ones were numbered
        for produced, remote in zip(step.produced, found):
            object.__setattr__(produced, "_handle", remote)

    def _call(self, session: Session, target: RefObject, name: str | None, args: list, kwargs: dict) -> Any:
        if _is_root(target):  # one of the reference's names: the student's own of that name
            target_handle = session.get(session.module_proxy(), _root_name(target))
        else:
            target_handle = self._handle(target)
        return session.call(target_handle, name, tuple(args), kwargs)

    def _handle(self, proxy: RefObject) -> Remote:
        if not isinstance(proxy._handle, Remote):
            test = current_test().removeprefix("grader/hidden/") or "a hidden test"
            raise noted(UnrecordedQuestion(f"`{proxy._label}` has no counterpart in your own code to answer "
                                           f"with: tell your instructor ({test})"))
        return proxy._handle

    def _handles(self, value: Any) -> Any:
        if isinstance(value, RefObject):
            return self._handle(value)
        if type(value) is list:
            return [self._handles(v) for v in value]
        if type(value) is tuple:
            return tuple(self._handles(v) for v in value)
        if type(value) is dict:
            return {k: self._handles(v) for k, v in value.items()}
        return value


def _is_root(proxy: RefObject) -> bool:
    """One of the reference's functions or classes itself (not an object it made)."""
    return proxy._id.startswith("ref.")


def _root_name(proxy: RefObject) -> str:
    return proxy._id[len("ref."):]


def noted(error: UnrecordedQuestion) -> UnrecordedQuestion:
    """The error, also written down when `grade release` is verifying: a criterion whose messages
    are hidden from students would otherwise not name the test."""
    path = os.environ.get(MISSES_ENV)
    if path:
        try:
            with open(path, "a", encoding="utf-8") as misses:
                misses.write(str(error).replace("\n", " ") + "\n")
        except OSError:
            pass  # the verification then still sees the criterion's error in results.json
    return error


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


def _session_opener(context: Any) -> Callable[[str], Session]:
    """Workers for the student's earlier chapters: the chapter's own folder, sandbox and limits,
    another module imported."""
    def open_session(module: str) -> Session:
        template = context.new_session()  # not started: only its settings are borrowed
        return Session(template.spec, module, request_timeout=template.request_timeout,
                       chapter_timeout=template.chapter_timeout, output_bytes=template.stdout.cap)
    return open_session
