"""Recording, in the instructor's tree: the reference answers live, in the judge, and every
answer is kept under its question's key. `grade release` runs each recording grading with
GRADE_RECORD_ORACLE naming the file this process writes its answers to."""

from __future__ import annotations

import contextlib
import inspect
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

from ..reference import LiveReference
from ..scorecard import write_atomically
from .source import RECORD_ENV
from .space import Question, RefMethod, RefObject, Reply, Space, current_test
from .values import METHOD, OBJECT, RAISED, NotRecordable, dumps, from_wire, to_wire



@dataclass
class Recorder:
    """Everything one grading process was asked, and what the reference answered."""

    answers: dict[str, Any] = field(default_factory=dict)
    asked_by: dict[str, str] = field(default_factory=dict)      # key -> the test that asked first
    names: dict[str, dict[str, int | None]] = field(default_factory=dict)  # chapter -> name -> home chapter
    problems: list[str] = field(default_factory=list)           # reasons the release cannot be made

    def keep(self, key: str, wire: Any, test: str) -> None:
        known = self.answers.get(key)
        if key in self.answers and dumps(known) != dumps(wire):
            self.problems.append(f"{test}: the reference answered the same question twice differently "
                                 f"(first asked by {self.asked_by[key]}): it depends on something the "
                                 f"question does not say (an unseeded random generator?)")
            return
        self.answers[key] = wire
        self.asked_by.setdefault(key, test)

    def save(self, path: Path) -> None:
        data = {"answers": self.answers, "asked_by": self.asked_by, "names": self.names, "problems": self.problems}
        write_atomically(path, dumps(data))


_recorder: Recorder | None = None


def recorder() -> Recorder:
    """This process's recorder (one grading run, several chapters)."""
    global _recorder
    if _recorder is None:
        _recorder = Recorder()
    return _recorder


def record_path() -> Path | None:
    value = os.environ.get(RECORD_ENV)
    return Path(value) if value else None


def homes(namespace: Mapping[str, Any], modules: Mapping[str, int]) -> dict[str, int | None]:
    """Each public function or class of the namespace, with the chapter whose module defines it
    (None: not a chapter's, e.g. one of the standard library)."""
    return {name: modules.get(getattr(value, "__module__", ""))
            for name, value in namespace.items() if callable(value) and not inspect.ismodule(value)}


class LiveAnswerer:
    """Asks the real reference, keeps the answer, and hands the test a copy."""

    def __init__(self, keeper: Recorder, namespace: Mapping[str, Any]):
        self.keeper = keeper
        self.namespace = namespace

    def answer(self, question: Question) -> Reply:
        try:
            wire, handles = self._ask(question)
        except NotRecordable as error:
            self.keeper.problems.append(f"{current_test() or 'outside a test'}: {question.label}: {error}")
            raise
        test = current_test()
        if test and (question.op != "set" or wire is not None):  # assignments are recorded only when they raise
            self.keeper.keep(question.key, wire, test)
        return Reply(wire, handles)

    def _ask(self, question: Question) -> tuple[Any, tuple]:
        target = question.target
        holder = self.namespace if target._id == "ref" else None
        try:
            if question.op == "call":
                function = target._handle if question.name is None else getattr(target._handle, question.name)
                result = function(*_unwrap(list(question.args)), **_unwrap(question.kwargs))
            elif question.op == "get":
                result = holder[question.name] if holder is not None else getattr(target._handle, question.name)
                if inspect.isroutine(result):
                    return {METHOD: 1}, ()
            else:
                setattr(target._handle, question.name, _unwrap(question.args[0]))
                return None, ()
        except Exception as error:  # the test sees it raised, in the recording run and in its replay
            return {RAISED: [type(error).__name__, str(error)]}, ()
        handles: list[Any] = []

        def tag(value: Any) -> Any:
            if inspect.ismodule(value) or inspect.isgenerator(value) or inspect.isroutine(value):
                raise NotRecordable(f"the reference answered with a {type(value).__name__}, which is not data")
            handles.append(value)
            return {OBJECT: len(handles) - 1}

        return to_wire(result, tag), tuple(handles)


def _unwrap(value: Any) -> Any:
    """A fresh copy of a test's argument for the live reference: data copied, proxies replaced
    by the objects they stand for (so the reference never shares a list with the test)."""
    proxies: list[Any] = []

    def tag(proxy: Any) -> Any:
        if isinstance(proxy, RefObject):
            proxies.append(proxy._handle)
        elif isinstance(proxy, RefMethod):
            proxies.append(getattr(proxy._target._handle, proxy._name))
        else:
            raise TypeError(f"a hidden test gave the reference a {type(proxy).__name__}, which is not data")
        return {OBJECT: len(proxies) - 1}

    return from_wire(to_wire(value, tag), lambda n: proxies[n])


def load_recording(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


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
