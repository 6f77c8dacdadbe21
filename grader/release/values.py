"""Values crossing the oracle: what the reference answers, as exact JSON (floats round-trip
through repr; NaN, infinities, tuples and dicts are tagged), and the canonical text of the
arguments a question carries, from which its key is hashed."""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any, Callable

# Tags: each a one-key JSON object, so a plain JSON object never occurs in wire data.
OBJECT, TUPLE, DICT, FLOAT, METHOD, RAISED = "$o", "$t", "$d", "$f", "$m", "$r"
_FLOATS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


class NotRecordable(Exception):
    """A value that is neither data nor a reference object (a module, a generator, ...)."""


def to_wire(value: Any, object_tag: Callable[[Any], Any]) -> Any:
    """`value` as tagged JSON. Exact types only, as the worker checks them: a float subclass is
    not a float. Anything else goes through `object_tag`, which returns the JSON that stands for
    it (or raises NotRecordable)."""
    kind = type(value)
    if value is None or kind in (bool, int, str):
        return value
    if kind is float:
        return value if math.isfinite(value) else {FLOAT: repr(value)}
    if kind is list:
        return [to_wire(v, object_tag) for v in value]
    if kind is tuple:
        return {TUPLE: [to_wire(v, object_tag) for v in value]}
    if kind is dict:
        return {DICT: [[to_wire(k, object_tag), to_wire(v, object_tag)] for k, v in value.items()]}
    return object_tag(value)


def from_wire(data: Any, make_object: Callable[[int], Any]) -> Any:
    """Tagged JSON back to values; `{"$o": n}` becomes `make_object(n)`. Always fresh lists and
    dicts, so a test that changes an answer cannot change the oracle."""
    if type(data) is list:
        return [from_wire(v, make_object) for v in data]
    if type(data) is not dict:
        return data
    ((tag, inner),) = data.items()
    if tag == TUPLE:
        return tuple(from_wire(v, make_object) for v in inner)
    if tag == DICT:
        return {from_wire(k, make_object): from_wire(v, make_object) for k, v in inner}
    if tag == FLOAT:
        return _FLOATS[inner]
    if tag == OBJECT:
        return make_object(inner)
    raise ValueError(f"unknown tag {tag!r} in recorded data")


def dumps(data: Any) -> str:
    """Compact, deterministic JSON text (json writes floats with repr, which round-trips)."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def question_key(chain: str, target: str, op: str, name: str | None, arguments: str) -> str:
    """The key of one question: what was asked (op, name, canonical arguments), of which object,
    after which history of its family (`chain`). 96 bits: no collision among millions."""
    text = "\x1f".join((chain, target, op, name or "", arguments))
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def merged_chain(chains: list[str]) -> str:
    """The history of families that meet in one call: theirs, in the order they appear."""
    return hashlib.blake2b("\x1e".join(chains).encode(), digest_size=12).hexdigest()
