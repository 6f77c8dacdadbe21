"""The reference as the hidden tests see it while its answers are recorded or replayed.

Every use of a reference object becomes a question: call this, read that attribute, set it.
A question's key is content-addressed: what was asked, of which object, after which history.
Objects that have met (created by one call, or passed into each other's calls) form a family
with one shared history, the chain: every call and assignment on any member advances it, reads
do not. So the key of a question depends only on what was done to that family, never on which
test asks, how many unrelated objects were made before, or what the student's code did meanwhile:
`BackpropLayer(3, 4, "relu")` given the same weights answers `forward(x)` under the same key in
every test and every run, and replay stays exact however a student's failures steer a test.

What crosses is data only, copied both ways (values.py), exactly as for the student's worker:
the recording run therefore behaves as its replay will, and a test that relied on sharing a
list with the reference would show up as a difference when the release is verified.
"""

from __future__ import annotations

import builtins
import os
import reprlib
from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol

from .values import METHOD, OBJECT, RAISED, dumps, from_wire, merged_chain, question_key, to_wire

ROOT_CHAIN = "root"

_short = reprlib.Repr()
_short.maxlist = _short.maxtuple = 4
_short.maxstring = 40
_short.maxother = 40
_short.maxlevel = 2


class UnrecordedQuestion(Exception):
    """The release has no recorded answer to a question and may not compute one. Deliberately
    not a StudentFault nor an AssertionError: no hidden test may catch it, and it ends the test
    as an error, never as a pass or an ordinary failure."""


class ReferenceRaised(Exception):
    """Base of the exceptions a replay raises where the recorded reference raised."""


def raised(kind: str, message: str) -> ReferenceRaised:
    """The exception the recorded reference raised, by name (and by class, for a built-in one,
    so that `getattr(obj, name, default)` still sees an AttributeError)."""
    builtin = getattr(builtins, kind, None)
    bases = (ReferenceRaised, builtin) if isinstance(builtin, type) and issubclass(builtin, Exception) \
        else (ReferenceRaised,)
    return type(kind, bases, {})(message)


def current_test() -> str:
    """The hidden test running now (pytest keeps it in the environment), or "" between tests."""
    return os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" (", 1)[0]


@dataclass(eq=False)
class Family:
    """Reference objects with one shared history."""

    chain: str
    members: list["RefObject"] = field(default_factory=list)
    steps: list["Step"] = field(default_factory=list)  # what was done to it, for a fallback to redo
    answered_by: int | None = None  # the earlier chapter whose student code answers it, once it must


@dataclass(frozen=True, eq=False)
class Step:
    """One call, assignment, or read that produced objects, done to a family."""

    target: "RefObject"
    op: str                      # call | get | set
    name: str | None             # None: calling the target itself
    args: tuple
    kwargs: dict
    produced: tuple              # the reference objects it returned, by position


@dataclass(frozen=True, eq=False)
class Question:
    key: str
    op: str
    target: "RefObject"
    name: str | None
    args: tuple
    kwargs: dict
    family: Family

    @property
    def label(self) -> str:
        """The question as a line of the test would read, shortened."""
        where = self.target._label if self.name is None else f"{self.target._label}.{self.name}"
        if self.op == "get":
            return where
        if self.op == "set":
            return f"{where} = {_short.repr(self.args[0])}"
        parts = [_short.repr(a) for a in self.args] + [f"{k}={_short.repr(v)}" for k, v in self.kwargs.items()]
        return f"{where}({', '.join(parts)})"


@dataclass(frozen=True)
class Reply:
    """An answer as tagged JSON; `handles` are the live objects behind its `{"$o": n}` (none in
    replay, where objects are only names)."""

    wire: Any
    handles: tuple = ()


class Answerer(Protocol):
    def answer(self, question: Question) -> Reply: ...


class RefObject:
    """A reference object (or one of the namespace's functions and classes), in the judge."""

    __slots__ = ("_space", "_family", "_id", "_label", "_handle")

    def __init__(self, space: "Space", family: Family, ident: str, label: str, handle: Any = None):
        for name, value in (("_space", space), ("_family", family), ("_id", ident), ("_label", label),
                            ("_handle", handle)):
            object.__setattr__(self, name, value)
        family.members.append(self)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # Python's own protocol probes stay in the judge
            raise AttributeError(name)
        return self._space.get(self, name)

    def __setattr__(self, name: str, value: Any) -> None:
        self._space.set(self, name, value)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._space.call(self, None, args, kwargs)

    def __repr__(self) -> str:
        return f"<reference {self._label}>"


class RefMethod:
    """A method of a reference object, read as an attribute and called later."""

    __slots__ = ("_target", "_name")

    def __init__(self, target: RefObject, name: str):
        self._target, self._name = target, name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._target._space.call(self._target, self._name, args, kwargs)

    def __repr__(self) -> str:
        return f"<reference method {self._target._label}.{self._name}>"


def _tag_proxy(value: Any) -> Any:
    if isinstance(value, RefObject):
        return {OBJECT: value._id}
    if isinstance(value, RefMethod):
        return {METHOD: [value._target._id, value._name]}
    raise TypeError(f"a hidden test gave the reference a {type(value).__name__}, which is not data")


def _proxies(value: Any) -> list[RefObject]:
    """The reference objects inside a (possibly nested) argument, in order."""
    if isinstance(value, RefObject):
        return [value]
    if isinstance(value, RefMethod):
        return [value._target]
    if type(value) in (list, tuple):
        return [p for v in value for p in _proxies(v)]
    if type(value) is dict:
        return [p for item in value.items() for v in item for p in _proxies(v)]
    return []


class Namespace:
    """What the `reference` fixture yields: `reference.softmax`, `reference.BackpropLayer`."""

    def __init__(self, space: "Space"):
        object.__setattr__(self, "_space", space)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self._space.root(name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("the hidden tests may not change the reference")

    def __repr__(self) -> str:
        return f"<reference of chapter {self._space.chapter}>"


class Space:
    """One chapter's reference namespace and its families; an Answerer answers the questions."""

    def __init__(self, chapter: int, callables: Mapping[str, Any], answerer: Answerer):
        """`callables`: name -> live function or class (recording) or None (replay)."""
        self.chapter = chapter
        self.answerer = answerer
        self._root = Family(ROOT_CHAIN)
        self._names = {name: RefObject(self, self._root, f"ref.{name}", name, handle)
                       for name, handle in callables.items()}
        self._namespace_object = RefObject(self, self._root, "ref", "reference")
        self.namespace = Namespace(self)

    def root(self, name: str) -> Any:
        if name in self._names:
            return self._names[name]
        return self.get(self._namespace_object, name)  # a constant of the reference, if any

    # the three kinds of question

    def call(self, target: RefObject, name: str | None, args: tuple, kwargs: dict) -> Any:
        family = self._family_for(target, (args, kwargs))
        question = self._question(family, "call", target, name, args, kwargs)
        value = self._settle(question)
        family.chain = question.key
        return value

    def get(self, target: RefObject, name: str) -> Any:
        question = self._question(target._family, "get", target, name, (), {})
        return self._settle(question)

    def set(self, target: RefObject, name: str, value: Any) -> None:
        if target._family is self._root:
            raise AttributeError("the hidden tests may not change the reference's functions and classes")
        family = self._family_for(target, value)
        question = self._question(family, "set", target, name, (value,), {})
        self._settle(question)
        family.chain = question.key

    # the machinery

    def _question(self, family: Family, op: str, target: RefObject, name: str | None, args: tuple,
                  kwargs: dict) -> Question:
        arguments = dumps(to_wire([list(args), kwargs], _tag_proxy)) if op != "get" else ""
        key = question_key(family.chain, target._id, op, name, arguments)
        return Question(key, op, target, name, args, kwargs, family)

    def _family_for(self, target: RefObject, arguments: Any) -> Family:
        """The family a call or assignment acts on: the target's and every argument object's,
        merged into one if there are several; a fresh one for a root call with data only."""
        families: list[Family] = []
        for proxy in [target, *_proxies(arguments)]:
            if proxy._family is not self._root and proxy._family not in families:
                families.append(proxy._family)
        if not families:
            return Family(ROOT_CHAIN)
        if len(families) == 1:
            return families[0]
        merged = Family(merged_chain([f.chain for f in families]), steps=[s for f in families for s in f.steps],
                        answered_by=next((f.answered_by for f in families if f.answered_by is not None), None))
        for family in families:
            for member in family.members:
                object.__setattr__(member, "_family", merged)
                merged.members.append(member)
        return merged

    def _settle(self, question: Question) -> Any:
        reply = self.answerer.answer(question)
        wire = reply.wire
        if type(wire) is dict and RAISED in wire:
            raise raised(*wire[RAISED])
        if type(wire) is dict and METHOD in wire:
            return RefMethod(question.target, question.name)
        produced: dict[int, RefObject] = {}

        def make(n: int) -> RefObject:
            if n not in produced:
                whole = question.op == "call" or wire == {OBJECT: n}
                label = question.label if whole else f"{question.label}[{n}]"
                handle = reply.handles[n] if n < len(reply.handles) else None
                produced[n] = RefObject(self, question.family, f"{question.key}/{n}", label, handle)
            return produced[n]

        value = from_wire(wire, make)
        if question.op != "get" or produced:
            question.family.steps.append(Step(question.target, question.op, question.name, question.args,
                                              question.kwargs, tuple(produced[n] for n in sorted(produced))))
        return value
