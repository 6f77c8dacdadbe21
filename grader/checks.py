"""Comparisons the hidden tests use: strict about types, tolerant about float rounding, and
explaining a difference in a sentence a student can act on."""

from __future__ import annotations

import math
import reprlib
from typing import Any, Callable

from .outcomes import RELATIVE
from .remote import Remote, StudentFault, StudentRaised

_short = reprlib.Repr()
_short.maxlist = _short.maxtuple = 8
_short.maxdict = 6
_short.maxstring = 80
_short.maxother = 80
_short.maxlevel = 3


def show(value: Any) -> str:
    """A short, readable rendering of a value for a scorecard."""
    if type(value) is float:
        return repr(round(value, 10)) if math.isfinite(value) else repr(value)
    return _short.repr(value)


def _type_name(value: Any) -> str:
    if isinstance(value, Remote):
        return f"a {value._type} object"
    return f"a {type(value).__name__}"


def difference(actual: Any, expected: Any, *, rel: float = 1e-9, abs_tol: float = 1e-12,
               exact: bool = False, where: str = "") -> str | None:
    """Why `actual` is not `expected` (None when it is). Numbers compare within tolerances unless
    `exact`; containers must have the same type and shape."""
    at = f" at {where}" if where else ""
    if type(expected) in (int, float) and type(expected) is not bool:
        if type(actual) not in (int, float):
            return f"expected a number{at}, got {_type_name(actual)} ({show(actual)})"
        if exact:
            if type(actual) is not type(expected) or actual != expected:
                return f"expected exactly {show(expected)}{at}, got {show(actual)}"
            return None
        if math.isnan(actual) or math.isinf(actual):
            return f"got {actual!r}{at}, expected {show(expected)}"
        if not math.isclose(actual, expected, rel_tol=rel, abs_tol=abs_tol):
            return f"expected {show(expected)}{at}, got {show(actual)}"
        return None
    if type(expected) in (list, tuple):
        if type(actual) is not type(expected):
            return f"expected a {type(expected).__name__}{at}, got {_type_name(actual)}"
        if len(actual) != len(expected):
            return f"expected {len(expected)} items{at}, got {len(actual)}"
        for i, (a, e) in enumerate(zip(actual, expected)):
            reason = difference(a, e, rel=rel, abs_tol=abs_tol, exact=exact, where=f"{where}[{i}]")
            if reason:
                return reason
        return None
    if type(expected) is dict:
        if type(actual) is not dict:
            return f"expected a dict{at}, got {_type_name(actual)}"
        if set(actual) != set(expected):
            return f"expected the keys {sorted(expected)}{at}, got {sorted(map(str, actual))}"
        for key in expected:
            reason = difference(actual[key], expected[key], rel=rel, abs_tol=abs_tol, exact=exact,
                                where=f"{where}[{key!r}]")
            if reason:
                return reason
        return None
    if type(actual) is not type(expected) or actual != expected:
        return f"expected {show(expected)}{at}, got {show(actual)}"
    return None


class Mismatch(AssertionError):
    """A student's answer differs from the expected one; carries both for the scorecard."""

    def __init__(self, reason: str, expected: Any, actual: Any, call: str = ""):
        super().__init__(reason)
        self.reason, self.call = reason, call
        self.expected, self.actual = show(expected), show(actual)


def expect(actual: Any, expected: Any, *, call: str = "", **tolerances: Any) -> None:
    """Fail the test with a Mismatch unless `actual` matches `expected`."""
    reason = difference(actual, expected, **tolerances)
    if reason:
        raise Mismatch(reason, expected, actual, call)


def attempt(call: Callable[[], Any]) -> Any:
    """What `call` answers, or the error the student's code raised: a composing part may raise
    only because a lower part does (see passes_as_own)."""
    try:
        return call()
    except StudentRaised as error:
        return error


# What the judge's own composing of a student's answers raises when one is not what it should be
# (None where a list belongs): then the student's part fails the same way on the same answers.
COMPOSING_ERRORS = (ArithmeticError, AttributeError, LookupError, TypeError, ValueError)


def _same_raise(mine: StudentRaised, theirs: object) -> bool:
    """The part raised what its lower parts raise alone (the same error at the same line), or what
    composing their answers raises here. Unfinished work never counts: NotImplementedError proves
    nothing."""
    if mine.not_implemented:
        return False
    if isinstance(theirs, COMPOSING_ERRORS):
        return (mine.kind, mine.detail) == (type(theirs).__name__, str(theirs))
    return (isinstance(theirs, StudentRaised) and (mine.kind, mine.detail) == (theirs.kind, theirs.detail)
            and mine.location is not None and theirs.location is not None
            and (mine.location.get("file"), mine.location.get("line"))
            == (theirs.location.get("file"), theirs.location.get("line")))


def _against_own(actual: Any, build: Callable[[], Any], tolerances: dict) -> bool | None:
    """True when `actual` is what `build` gives from the student's own lower parts (an error: the
    one they raise); False when it is not; None when they give nothing it could be (they time out,
    crash, or answer what cannot be composed while the part answered)."""
    raised = isinstance(actual, StudentRaised)
    try:
        theirs = attempt(build)
    except StudentFault:
        return None
    except COMPOSING_ERRORS as error:  # composing their answers here fails as the part may have
        theirs = error
    if isinstance(theirs, COMPOSING_ERRORS):  # their answers cannot be composed: only the same error agrees
        return True if raised and _same_raise(actual, theirs) else None
    if raised:
        return _same_raise(actual, theirs)
    if isinstance(theirs, Exception):
        return None
    return difference(actual, theirs, **tolerances) is None


def passes_as_own(actual: Any, expected: Any, *own: Callable[[], Any], note: str,
                  record: Callable[[str, Any], None], **tolerances: Any) -> bool:
    """Whether a part that composes others (Network.forward on Layer.forward) is right as its own
    part: its answer is the reference's `expected`, or what one of `own` builds from the student's
    own lower parts, called one by one in the worker (one per way the part may be built); an
    `actual` that is an error (see attempt) must be the one those lower parts raise. A lower part's
    mistake is charged by that part's criteria; charging the composing part again would cost the
    same slip twice. A pass of the second kind records `note`, so that the scorecard can point at
    the cause. The lower parts are called only when the answer is not the reference's: a right
    submission pays nothing for this."""
    if not isinstance(actual, StudentRaised) and difference(actual, expected, **tolerances) is None:
        return True
    if any(_against_own(actual, build, tolerances) for build in own):
        record(RELATIVE, note)
        return True
    return False


def consistent_with_own(actual: Any, *own: Callable[[], Any], **tolerances: Any) -> bool:
    """Whether `actual` agrees with what the student's own lower parts give (see passes_as_own), or
    they give nothing to agree with. A part graded on stand-ins (a method answering the judge's
    data) must also pass this with its real lower parts: a part that behaves only when it meets a
    stand-in still fails, unless its own lower parts are broken too, which costs more than it gains."""
    verdicts = [_against_own(actual, build, tolerances) for build in own]
    return any(verdicts) or all(verdict is None for verdict in verdicts)


def expect_own(actual: Any, expected: Any, *own: Callable[[], Any], note: str,
               record: Callable[[str, Any], None], call: str = "", **tolerances: Any) -> None:
    """Fail the test (with the reference's Mismatch, or the student's own error) unless `actual`
    passes_as_own."""
    if passes_as_own(actual, expected, *own, note=note, record=record, **tolerances):
        return
    if isinstance(actual, StudentFault):
        raise actual
    expect(actual, expected, call=call, **tolerances)


def each(*checks: tuple[str, Callable[[], None]]) -> None:
    """Run every (label, check), then fail with the first failure (a wrong value, or the student's
    code raising), naming the labels of the others that failed too: one value left unstored then
    reads apart from three, for the student and for the diagnosis."""
    failed: list[tuple[str, AssertionError | StudentRaised]] = []
    for label, run in checks:
        try:
            run()
        except (AssertionError, StudentRaised) as error:
            failed.append((label, error))
    if not failed:
        return
    (_, first), others = failed[0], [label for label, _ in failed[1:]]
    if others:
        also = f" (also wrong: {', '.join(others)})"
        if isinstance(first, Mismatch):
            first.reason += also
        elif isinstance(first, StudentRaised):
            first.message += also
        else:
            first.args = (f"{first}{also}",)
    raise first


_NOT_SHOWN = object()


def check(condition: bool, message: str, *, expected: Any = _NOT_SHOWN, actual: Any = _NOT_SHOWN,
          call: str = "") -> None:
    """Fail the test with `message`, written for the student, unless `condition` holds; with the
    values the message is about, when given (the scorecard shows them, the diagnosis compares them)."""
    if condition:
        return
    if expected is _NOT_SHOWN:
        raise AssertionError(message)
    raise Mismatch(message, expected, actual, call)
