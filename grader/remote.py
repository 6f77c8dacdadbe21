"""The judge's view of student code: a Session per chapter owns the worker, and Remote proxies
stand for the student's objects that live there.

A Remote never evaluates anything in the judge: attribute reads, writes and calls become
requests, and only plain data comes back. Comparing or hashing a Remote uses the proxy's own
identity, so an object that lies about equality cannot lie to the judge; using one as a number,
a truth value or a container is a failed check (NotData), never an answer.

Nothing the worker sends is trusted: every answer is checked node by node, and every string is
made encodable (a lone surrogate in a student's exception message must not stop results.json
from being written).
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import math
import re
import reprlib
import time
from typing import Any, Iterator

from .budget import TrainingBudget, over_cpu_message, over_wall_message
from .errors import SandboxError
from .sandbox.channel import PROBE_TIMEOUT, Capture, Channel, WorkerGone, WorkerOverCpu, WorkerSpec, WorkerTimeout
from .sandbox.standby import Standby

MAX_DEPTH = 40  # the worker refuses deeper answers; the judge checks again, trusting nothing
_SURROGATES = re.compile("[\ud800-\udfff]")
# What a message must not carry into a report or the instructor's terminal: controls other than
# tab and newline (escape sequences can rewrite a terminal), and lone surrogates.
_UNSAFE_IN_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def clean(text: str, limit: int | None = None) -> str:
    """A string of data from the worker, safe to write as UTF-8: lone surrogates become U+FFFD."""
    text = text if limit is None else text[:limit]
    return text if text.isascii() else _SURROGATES.sub("\ufffd", text)


def clean_text(text: str, limit: int) -> str:
    """Text from the worker shown to people (an exception's message, a type's name): also without
    control characters."""
    return _UNSAFE_IN_TEXT.sub("\ufffd", text[:limit])


def clean_frames(frames: object) -> list[dict]:
    """The student's traceback frames as the worker reported them, keeping only known fields."""
    if type(frames) is not list:
        return []
    kept = []
    for frame in frames[-10:]:
        if type(frame) is dict:
            line = frame.get("line")
            kept.append({"file": clean_text(str(frame.get("file", "")), 200),
                         "line": line if type(line) is int else 0,
                         "function": clean_text(str(frame.get("function", "")), 200),
                         "code": clean_text(str(frame.get("code", "")), 300)})
    return kept


# --- faults in student code: outcomes, never grader errors ----------------------------------

class StudentFault(Exception):
    """Student code did something other than return an answer."""

    status = "error"

    def __init__(self, message: str, *, call: str = "", frames: list[dict] | None = None):
        super().__init__(message)
        self.message, self.call, self.frames = message, call, frames or []

    @property
    def location(self) -> dict | None:
        """The student's file and line where it went wrong, when known."""
        return self.frames[-1] if self.frames else None


class StudentRaised(StudentFault):
    def __init__(self, kind: str, detail: str, *, call: str, frames: list[dict]):
        self.kind, self.detail = kind, detail
        if kind == "NotImplementedError":
            self.status = "failed"
            text = f"not implemented yet ({detail})" if detail else "not implemented yet"
        else:
            where = f" at line {frames[-1]['line']} of {frames[-1]['file']}" if frames else ""
            text = f"{call} raised {kind}: {detail}{where}" if call else f"{kind}: {detail}{where}"
        super().__init__(text, call=call, frames=frames)

    @property
    def not_implemented(self) -> bool:
        return self.kind == "NotImplementedError"


class StudentTimeout(StudentFault):
    status = "timeout"


class StudentCrash(StudentFault):
    status = "error"


class NotData(StudentFault):
    """The answer could not come back as plain data (too large, too deep, cyclic)."""

    status = "failed"


# --- encoding across the pipe -----------------------------------------------------------------

class _ShortRepr(reprlib.Repr):
    """Reprs that fit on a line of a scorecard: floats keep 6 significant digits."""

    def repr_float(self, value: float, level: int) -> str:
        return f"{value:.6g}"


_short = _ShortRepr()
_short.maxlist = _short.maxtuple = 6
_short.maxstring = 60
_short.maxother = 60
_short.maxlevel = 3


def encode(value: Any, session: "Session") -> Any:
    """Judge data to tagged JSON; Remotes travel as their handles."""
    kind = type(value)
    if value is None or kind in (bool, int, str):
        return value
    if kind is float:
        return value if math.isfinite(value) else {"f": repr(value)}
    if kind is list:
        return [encode(v, session) for v in value]
    if kind is tuple:
        return {"t": [encode(v, session) for v in value]}
    if kind is dict:
        return {"d": {str(k): encode(v, session) for k, v in value.items()}}
    if isinstance(value, Remote):
        return {"h": session.handle_of(value)}
    raise TypeError(f"cannot send a {kind.__name__} to the worker")


def decode(value: Any, session: "Session", label: str, depth: int = 0) -> Any:
    """Tagged JSON from the worker back to judge data, checking every node's exact type."""
    if depth > MAX_DEPTH:
        raise NotData("the answer is nested too deeply")
    kind = type(value)
    if value is None or kind in (bool, int, float):
        return value
    if kind is str:
        return clean(value)
    if kind is list:
        return [decode(v, session, label, depth + 1) for v in value]
    if kind is dict and len(value) == 1:
        ((tag, inner),) = value.items()
        if tag == "t" and type(inner) is list:
            return tuple(decode(v, session, label, depth + 1) for v in inner)
        if tag == "d" and type(inner) is dict:
            return {clean(k): decode(v, session, label, depth + 1) for k, v in inner.items()}
        if tag == "f" and inner in ("nan", "inf", "-inf"):
            return float(inner)
    if kind is dict and {"h", "type"} <= set(value) <= {"h", "type", "k", "calls"} and type(value["h"]) is int:
        return Remote(session, value["h"], clean_text(str(value["type"]), 80),
                      calls=session.note_calls(value.get("k"), value.get("calls")))
    raise NotData("the worker sent something that is not data")


# --- the proxy --------------------------------------------------------------------------------

NO_CALLS: dict[str, str] = {}


class Remote:
    """A student's object that lives in the worker."""

    __slots__ = ("_session", "_handle", "_type", "_generation", "_label", "_calls")

    def __init__(self, session: "Session", handle: int | None, type_name: str, label: str | None = None,
                 calls: dict[str, str] = NO_CALLS):
        object.__setattr__(self, "_session", session)
        object.__setattr__(self, "_handle", handle)
        object.__setattr__(self, "_type", type_name)
        object.__setattr__(self, "_generation", session.generation)
        object.__setattr__(self, "_label", type_name if label is None else label)
        object.__setattr__(self, "_calls", calls)   # name -> type name: what `self.name(...)` will call

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # Python's own protocol probes stay in the judge
            raise AttributeError(name)
        if name in self._calls:  # most likely called at once: one request then, not two
            return Method(self, name, self._calls[name])
        return self._session.get(self, name)

    def __setattr__(self, name: str, value: Any) -> None:
        self._session.set(self, name, value)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._session.call(self, None, args, kwargs)

    def __repr__(self) -> str:
        return f"<student {self._type}>"

    def _not_data(self, *_: Any) -> Any:
        """Python asked this proxy to act as a number, a truth value or a container: the student's
        code returned an object where plain data was expected. A failed check, never an answer."""
        raise NotData(f"`{self._session.last_call}` returned a {self._type} object, not a plain value "
                      f"(a number, a list, ...)", call=self._session.last_call)

    __bool__ = __len__ = __iter__ = __contains__ = __getitem__ = _not_data
    __float__ = __int__ = __index__ = __complex__ = __abs__ = __neg__ = __round__ = _not_data
    __lt__ = __le__ = __gt__ = __ge__ = _not_data
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _not_data
    __truediv__ = __rtruediv__ = __pow__ = __rpow__ = _not_data


class Method(Remote):
    """`remote.name` where the worker said `name` is a function of the object's class (or of the
    module): calling it is one request, in which the worker looks the name up and calls what it
    finds, exactly as a lookup and then a call would. Used any other way, it is looked up first
    and is then an ordinary Remote."""

    __slots__ = ("_target", "_name")

    def __init__(self, target: Remote, name: str, type_name: str):
        super().__init__(target._session, None, type_name, label=member(target, name))
        object.__setattr__(self, "_generation", target._generation)
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_name", name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._handle is None:
            return self._session.call(self._target, self._name, args, kwargs)
        return super().__call__(*args, **kwargs)

    def _resolve(self) -> None:
        """Look the name up now: from here on this is the Remote a lookup would have given."""
        found = self._session.get(self._target, self._name)
        if not isinstance(found, Remote):  # the name no longer stands for a function
            raise NotData(f"`{self._label}` is no longer a function of the student's object", call=self._label)
        for slot in ("_handle", "_type", "_generation", "_calls"):
            object.__setattr__(self, slot, getattr(found, slot))


def member(remote: Remote, name: str) -> str:
    """How `remote.name` is written in messages (a module's members go by their bare name)."""
    return f"{remote._label}.{name}" if remote._label else name


def describe_call(label: str, args: tuple, kwargs: dict) -> str:
    parts = [_short.repr(a) for a in args] + [f"{k}={_short.repr(v)}" for k, v in kwargs.items()]
    return f"{label}({', '.join(parts)})"


# --- the session --------------------------------------------------------------------------------

class Session:
    """One chapter's conversation with its worker, restarted after a crash or a timeout."""

    def __init__(self, spec: WorkerSpec, module: str, *, request_timeout: float,
                 chapter_timeout: float, output_bytes: int, training: TrainingBudget | None = None,
                 standby: Standby | None = None):
        self.spec, self.module = spec, module
        self.standby = standby  # workers started ahead of need, if this judge keeps any
        self.training_budget = training
        # CPU seconds of the chapter's training: the last request under training(), unless a test
        # ran it with reported=False (a small training on the same budget that must not hide it)
        self.training_cpu: float | None = None
        self._training = False
        self._reported = True
        self.request_timeout = request_timeout
        self.deadline = time.monotonic() + chapter_timeout
        self.chapter_timeout = chapter_timeout
        self.stdout, self.stderr = Capture(output_bytes), Capture(output_bytes)
        self.channel: Channel | None = None
        self.generation = 0
        self.restarts = 0
        self.last_call = ""
        self._module: Remote | None = None
        self._import_fault: StudentFault | None = None
        self._ids = itertools.count(1)
        self._ready: Channel | None = None   # a worker launched ahead of need (prestart)
        self._prepared: dict | None = None   # the prepare request sent to it then
        # (worker generation, the worker's number for a class) -> the class's callable names
        self._kinds: dict[tuple[int, int], dict[str, str]] = {}

    # lifecycle

    def module_proxy(self) -> Remote:
        """The student's chapter module, imported in a (re)started worker."""
        if self._import_fault is not None:
            raise self._import_fault
        if self.channel is None or not self.channel.alive:
            self._start()
        assert self._module is not None
        return self._module

    def prestart(self) -> None:
        """Launch the worker now, ahead of need, and send it the chapter's files and sealed modules:
        it starts, confines itself and installs them while the judge does something else. Nothing
        of the student's runs until the first request imports it."""
        if self.channel is None and self._ready is None:
            self._ready = self._launch()
            self._prepared = self._prepare_message()
            self._ready.send_ahead(self._prepared)

    def _prepare_message(self) -> dict:
        """The request before the student's code is imported: the chapter files (which travel over
        the pipe, so a worker can start before they are known), and the sealed modules."""
        return {"op": "prepare", "id": next(self._ids), "student_files": list(self.spec.student_files),
                "files": {name: base64.b64encode(data).decode() for name, data in self.spec.files},
                "modules": [{"module": m.module, "file": m.file, "code": base64.b64encode(m.code).decode()}
                            for m in self.spec.sealed]}

    def _launch(self) -> Channel:
        """A new worker for this session: a standby one when the first start finds one waiting."""
        waiting = self.standby.take(self.spec) if self.standby is not None and self.channel is None else None
        if waiting is None:
            return Channel(self.spec, self.stdout, self.stderr)
        waiting.adopt(self.stdout, self.stderr)
        return waiting

    def begin(self) -> None:
        """The chapter's tests start now: its time limit counts from here."""
        self.deadline = time.monotonic() + self.chapter_timeout

    def _start(self) -> None:
        # Killing the last worker, sweeping up its files and starting this one is the grader's
        # work: on a loaded machine, after a worker that left 15,000 folders, it takes seconds that
        # must not come out of the student's time for the chapter.
        if self.channel is not None:
            self.restarts += 1
            self._excuse(self.channel.cleanup_seconds)
        started = time.monotonic()
        self.generation += 1
        ahead = self._ready is not None  # a prestarted worker got its prepare request at launch
        prepare = self._prepared if ahead else self._prepare_message()
        self._prepared = None
        self.channel, self._ready = self._ready or self._launch(), None
        try:
            self._send(prepare, f"import {self.module}", sent=ahead)
            self._excuse(time.monotonic() - started)
            handle = self._send({"op": "import", "module": self.module}, f"import {self.module}")
        except StudentFault as fault:
            self._import_fault = fault
            raise
        if not isinstance(handle, Remote):  # a worker the student's code took over can say anything
            self._import_fault = StudentCrash(f"`import {self.module}` answered with data instead of a module",
                                              call=f"import {self.module}")
            self.channel.kill()
            raise self._import_fault
        self._module = Remote(self, handle._handle, "module", label="", calls=handle._calls)

    def _excuse(self, seconds: float) -> None:
        """Give the chapter back `seconds` the grader spent (a training's time is given back whole)."""
        if not self._training:
            self.deadline += seconds

    def close(self) -> None:
        for channel in (self.channel, self._ready):
            if channel is not None:
                channel.kill()

    @contextlib.contextmanager
    def training(self, reported: bool = True) -> Iterator[None]:
        """Run the requests inside on the chapter's training budget: CPU time measured and limited,
        a wall-clock ceiling against waiting, and the time not counted against the chapter's own
        limit (a slow or busy machine must not eat the other tests' time). Without a budget (an
        in-process replay), the requests run on the ordinary per-request limit. `reported=False`
        keeps a test's small training from standing in for the chapter's in the scorecard."""
        if self.training_budget is None:
            yield
            return
        started, self._training, self._reported = time.monotonic(), True, reported
        try:
            yield
        finally:
            self._training, self._reported = False, True
            self.deadline += time.monotonic() - started

    def _note_training(self, cpu: float | None) -> None:
        if self._reported:
            self.training_cpu = cpu

    def output_mark(self) -> int:
        return self.stdout.seen + self.stderr.seen

    def printed_since(self, mark: int) -> int:
        """How many bytes the student's code printed since `mark`."""
        return self.output_mark() - mark

    def stdout_mark(self) -> int:
        return self.stdout.seen

    def stdout_since(self, mark: int) -> str | None:
        """What the student's code printed to standard output since `mark` (a `stdout_mark()`), or
        None when the output cap cut some of it off."""
        if self.stdout.truncated:
            return None
        return self.stdout.data[mark:].decode("utf-8", errors="replace")

    # requests

    def handle_of(self, remote: Remote) -> int:
        if remote._session is not self or remote._generation != self.generation:
            raise StudentCrash("this object was lost when the worker restarted after an earlier failure",
                               call=self.last_call)
        if remote._handle is None:  # a Method used as a value: looked up now, as it would have been
            remote._resolve()
        return remote._handle

    def note_calls(self, kind: Any, calls: Any) -> dict[str, str]:
        """The callable names the worker reported for a handle (with `calls`, or by its class's
        number `kind`, reported before); checked, since nothing the worker says is trusted."""
        if type(calls) is dict and len(calls) <= 500 and all(
                type(k) is str and k.isidentifier() and type(v) is str and len(v) <= 80 for k, v in calls.items()):
            calls = {k: v for k, v in calls.items()}
            if type(kind) is int:
                self._kinds[self.generation, kind] = calls
            return calls
        return self._kinds.get((self.generation, kind), NO_CALLS) if type(kind) is int else NO_CALLS

    def get(self, remote: Remote, name: str) -> Any:
        label = member(remote, name)
        value = self._send({"op": "getattr", "target": self.handle_of(remote), "name": name}, label)
        if isinstance(value, Remote):
            object.__setattr__(value, "_label", label if value._type in ("method", "function", "type")
                               else value._type)
        return value

    def set(self, remote: Remote, name: str, value: Any) -> None:
        step = setting(remote, name, value)
        self._send(step.message(self), step.description)

    def keep(self, value: Any) -> Remote:
        """Place `value` in the worker and return a handle to it, so a test can pass the very same
        list to the student's code and look at it afterwards (did the student modify it?)."""
        return self._send({"op": "keep", "value": encode(value, self)}, f"keep({_short.repr(value)})")

    def stand_in(self, remote: Remote, name: str, answers: list) -> Remote:
        """Replace `remote.name` (a method the part under test calls) with a stand-in answering
        `answers` in turn; the handle's `calls` attribute lists the arguments of each call."""
        label = member(remote, name)
        return self._send({"op": "stand_in", "target": self.handle_of(remote), "name": name,
                           "answers": encode(list(answers), self)}, f"{label} = stand_in(...)")

    def fetch(self, remote: Remote) -> Any:
        """The current value of something kept in the worker, as data."""
        return self._send({"op": "fetch", "target": self.handle_of(remote)}, f"fetch({remote._label})")

    def chain(self) -> Chain:
        """Steps to send to the worker in one request (see Chain)."""
        return Chain(self)

    def run_chain(self, steps: list[ChainStep]) -> Iterator[Any]:
        """Each step's answer in turn, as one request per step would have given it; at a step that
        failed, its fault (the chain stopped there). The worker answers each step as soon as it is
        done, and each step gets the time limit a request of its own would get, counted from the
        answer before it; the messages name the step, as they would have named that request."""
        if not steps:
            return
        self.module_proxy()  # (re)start the worker first: whether it takes chains is its channel's to say
        if not getattr(self.channel, "pipelined", False) or self._training:
            for step in steps:  # an in-process replay (or a training): one request per step
                yield step.checked(self._send(step.message(self), step.description))
            return
        assert self.channel is not None
        ident = next(self._ids)
        line = {"op": "chain", "id": ident, "steps": [step.message(self) for step in steps]}
        answers: list[Any] = []
        fault: StudentFault | None = None
        for index, step in enumerate(steps):
            try:
                answers.append((step.description, self._chain_answer(line if index == 0 else None, ident, index, step)))
            except StudentFault as error:  # the worker stopped the chain at this step too
                fault = error
                break
        for description, value in answers:
            self.last_call = description
            yield value
        if fault is not None:
            self.last_call = fault.call
            raise fault

    def _chain_answer(self, line: dict | None, ident: int, index: int, step: ChainStep) -> Any:
        """Step `index`'s answer (sending the chain first when `line` is given), checked as data
        when the step needs data."""
        description = step.description
        self.last_call = description
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            if line is None:  # the worker is busy with the rest of the chain: it can answer nothing else
                self.channel.kill()
            raise StudentTimeout(f"the chapter's time limit ({self.chapter_timeout:g} s) was used up "
                                 f"before `{description}` could run", call=description)
        timeout = min(self.request_timeout, remaining)
        try:
            response = self.channel.request(line, timeout) if line is not None else self.channel.receive(timeout)
        except WorkerTimeout:
            raise StudentTimeout(f"`{description}` did not finish within {timeout:.3g} s "
                                 f"(an endless loop?)", call=description) from None
        except WorkerGone as gone:
            raise StudentCrash(f"`{description}` crashed: {gone.reason}", call=description) from None
        if type(response) is not dict or response.get("id") != ident or response.get("step") != index:
            self.channel.kill()
            raise StudentCrash(f"`{description}`: the worker answered out of turn", call=description)
        return step.checked(self._answer(response, description))

    def call(self, remote: Remote, name: str | None, args: tuple, kwargs: dict) -> Any:
        step = calling(remote, name, args, kwargs)
        return self._send(step.message(self), step.description)

    def _send(self, message: dict, description: str, sent: bool = False) -> Any:
        """Send `message` (or, `sent`, only await the answer to one sent ahead) and return the
        worker's answer as judge data, or raise the fault it reports."""
        self.last_call = description
        if message["op"] not in ("import", "prepare"):
            self.module_proxy()  # restart the worker first if an earlier test killed it
        assert self.channel is not None
        remaining = self.deadline - time.monotonic()
        if remaining <= 0 and not self._training:
            raise StudentTimeout(f"the chapter's time limit ({self.chapter_timeout:g} s) was used up "
                                 f"before `{description}` could run", call=description)
        budget = self.training_budget if self._training else None
        timeout = budget.wall_seconds if budget else min(self.request_timeout, remaining)
        if message["op"] == "prepare":
            # No student code has run yet: a worker slow to start is the machine's doing (a loaded
            # runner), never the student's, so it gets a start's time and is not charged to them.
            timeout = max(timeout, PROBE_TIMEOUT)
        if not sent:
            message["id"] = next(self._ids)
        try:
            if sent:
                response = self.channel.receive(timeout)
            elif budget:
                response = self.channel.request(message, timeout, cpu_limit=budget.cpu_seconds)
                self._note_training(self.channel.last_cpu)
            else:
                response = self.channel.request(message, timeout)
        except WorkerOverCpu as over:
            self._note_training(over.cpu)
            raise StudentTimeout(over_cpu_message(over.cpu, budget), call=description) from None
        except WorkerTimeout as late:
            if message["op"] == "prepare":
                raise SandboxError(f"a worker did not start within {timeout:g} s (is the machine overloaded?)") from None
            if budget:
                self._note_training(late.cpu)
                raise StudentTimeout(over_wall_message(timeout, late.cpu or 0.0, budget), call=description) from None
            raise StudentTimeout(f"`{description}` did not finish within {timeout:.3g} s "
                                 f"(an endless loop?)", call=description) from None
        except WorkerGone as gone:
            raise StudentCrash(f"`{description}` crashed: {gone.reason}", call=description) from None
        if type(response) is not dict or response.get("id") != message["id"]:
            self.channel.kill()
            raise StudentCrash(f"`{description}`: the worker answered out of turn", call=description)
        return self._answer(response, description)

    def _answer(self, response: dict, description: str) -> Any:
        """One answer of the worker as judge data, or the fault it reports."""
        if "value" in response:
            return decode(response["value"], self, description)
        if "too_large" in response:
            raise NotData(f"`{description}` returned something that cannot be checked: "
                          f"{clean_text(str(response['too_large']), 200)}", call=description)
        raised = response.get("raised")
        if type(raised) is dict:
            raise StudentRaised(clean_text(str(raised.get("type", "Exception")), 80),
                                clean_text(str(raised.get("message", "")), 500), call=description,
                                frames=clean_frames(raised.get("frames")))
        self.channel.kill()
        raise StudentCrash(f"`{description}`: the worker sent a malformed answer", call=description)


class ChainStep:
    """One step of a chain: a request and how it is described, as Session would send it alone."""

    __slots__ = ("op", "target", "name", "args", "kwargs", "value", "description", "data")

    def __init__(self, op: str, target: Remote, name: str | None, description: str, *, args: tuple = (),
                 kwargs: dict | None = None, value: Any = None, data: bool = False):
        self.op, self.target, self.name, self.description = op, target, name, description
        self.args, self.kwargs, self.value, self.data = args, kwargs or {}, value, data

    def message(self, session: Session) -> dict:
        message: dict[str, Any] = {"op": self.op, "target": session.handle_of(self.target), "name": self.name}
        if self.op == "setattr":
            message["value"] = encode(self.value, session)
        else:
            message["args"] = encode(list(self.args), session)
            message["kwargs"] = encode(dict(self.kwargs), session)["d"]
        if self.data:
            message["data"] = True
        return message

    def checked(self, value: Any) -> Any:
        """The answer of a step whose answer the judge needs as data: an object in it is a failed
        check, worded as using it would have worded it (the worker stopped the chain there)."""
        if self.data:
            found = _first_remote(value)
            if found is not None:
                raise NotData(f"`{self.description}` returned a {found._type} object, not a plain value "
                              f"(a number, a list, ...)", call=self.description)
        return value


def setting(remote: Remote, name: str, value: Any) -> ChainStep:
    """The request `remote.name = value`."""
    return ChainStep("setattr", remote, name, f"{remote._label}.{name} = {_short.repr(value)}", value=value)


def calling(remote: Remote, name: str | None, args: tuple, kwargs: dict, data: bool = False) -> ChainStep:
    """The request `remote(*args, **kwargs)`, or `remote.name(...)` looked up and called at once."""
    label = remote._label if name is None else member(remote, name)
    return ChainStep("call", remote, name, describe_call(label, args, kwargs), args=args, kwargs=kwargs, data=data)


def _first_remote(value: Any, depth: int = 0) -> Remote | None:
    if isinstance(value, Remote):
        return value
    if type(value) in (list, tuple) and depth <= MAX_DEPTH:
        return next((r for r in (_first_remote(v, depth + 1) for v in value) if r is not None), None)
    if type(value) is dict and depth <= MAX_DEPTH:
        return next((r for r in (_first_remote(v, depth + 1) for v in value.values()) if r is not None), None)
    return None


class Chain:
    """Requests a hidden test knows in advance, sent to the worker at once: one wake-up of the
    worker for all of them instead of one round trip each (chapter 5's gradient check nudges a
    weight and recomputes the loss 4 requests at a time, ~150 times). The worker runs them in
    order and answers each as soon as it is done; it stops after a step that raises, and after a
    step `call(..., data=True)` whose answer holds an object, where the judge would have stopped.
    So every step runs when, and only when, it would have run one request at a time, unless the
    judge's own code finds fault with a plain answer before the last step: the steps after it have
    then run too (their time and prints count, as the chain's). Values are sent as they are when
    the chain runs."""

    def __init__(self, session: Session):
        self._session = session
        self.steps: list[ChainStep] = []

    def set(self, remote: Remote, name: str, value: Any) -> None:
        """`remote.name = value`."""
        self.steps.append(setting(remote, name, value))

    def call(self, function: Remote, *args: Any, data: bool = False, **kwargs: Any) -> None:
        """`function(*args, **kwargs)`, where `function` is a student's function, class or method
        (`network.forward`); `data=True` when the judge will use the answer as data."""
        if isinstance(function, Method) and function._handle is None:
            target, name = function._target, function._name
        else:
            target, name = function, None
        self.steps.append(calling(target, name, args, kwargs, data))

    def run(self) -> Iterator[Any]:
        """The steps' answers in order (None for a `set`); a step's fault is raised in its place."""
        steps, self.steps = self.steps, []
        return self._session.run_chain(steps)


class StudentModule:
    """The student's chapter module as the hidden tests see it: `student.dot_product(a, b)`."""

    def __init__(self, session: Session):
        self._session = session

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        module = self._session.module_proxy()
        if name in module._calls:  # a function or class of the chapter: called in one request
            return Method(module, name, module._calls[name])
        return self._session.get(module, name)

    def __repr__(self) -> str:
        return f"<student module {self._session.module}>"
