"""The generated bank: mutants of every student part of the reference, each placed on a concept of
concepts.yaml and phrased from that concept and the kind of change (pure, but for reading files).

Two families of change. The self-test's first-order operators (grader/mutation/operators.py:
swapped operators, constants + 1, a dropped minus or `not`, a[i][j] -> a[j][i], min <-> max,
`return None`), so that every mutant `grade selftest --mutants` kills can also be recognised; and
the slips students make that those operators cannot: a call left out, one of its arguments kept
(`relu(z)` -> `z`, the activation forgotten; `max(1, n // 10)` -> `n // 10`, the guard forgotten),
an operand left out (`w . x + b` -> `w . x`, the bias forgotten; `total / n` -> `total`, a sum for
a mean), operands the other way round (`p - t` -> `t - p`), any other of + - * / in place of one,
the two outcomes of `x if c else y` swapped, a loop that leaves out the last or first item of its
list, one stored value read for another (`self.z_values` for `self.outputs`, or `layer.outputs`
for `layer.z_values`: values some method of the reference stores together), one variable read for
another of the same role (`probs[i]` for `probs[best]`), two arguments the other way round, a
count one off (`len(x) - 1`, `range(1, n)`), a sibling function (`math.log10` for `math.log`,
`max` for `sum`), `abs(d)` for `d ** 2`, a value kept in a local instead of stored on the object
(`z = ...` for `self.z = ...`, alone or with its later reads), an accumulator started again
inside its loop, a list rebound where it should change in place (`row[:] = ...` -> `row = ...`), a
`return` inside the loop it should follow (and `[...][:1]`, its list-building twin), the caller's
list overwritten and returned (`v[:] = [...]`), a loop over pairs without the first or last one
(`zip(a[1:], b[1:])`), a nested list's two loops swapped, a keyword argument left out, a stored list
that grows with every call (`self.outputs += [...]`), a division by twice the count, a total
started at 1 (`sum(xs, 1)`), the square of a sum for a sum of squares, and a total used while it
is still being added up (`x / total` inside the loop that makes `total`) or carried from one item
to the next. The slips are diagnosis
candidates only: the mutation score counts the first family.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import hashlib
import json
import platform
from dataclasses import astuple, dataclass, replace
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping

from ..course import Course
from ..errors import CourseError
from ..outcomes import Diagnosis
from ..mutation.operators import ARITHMETIC, _Text, mutations_of
from ..mutation.parts import Part, functions_of, span, student_parts
from ..scorecard import write_atomically
from .concepts import CONCEPTS, Concept, Inventory, by_id, concept_at, load_concepts, load_inventory, regions_of
from .rows import usable_cache_dir

# The operators whose change reads "uses X where Y is meant".
_SWAP = "swap"


@dataclass(frozen=True)
class Generated:
    """One generated mutant: a reference chapter with one small change inside a student part."""

    id: str              # "<part>@<line within the part>:<column> <change>", as the self-test's ids
    part: Part
    kind: str            # what sort of change: swap, sign, not, index, return, call, operand, name, rebind
    old: str             # the code as the reference has it
    new: str             # the code as the mutant has it
    concept: Concept | None
    source: str          # the whole mutated chapter
    edits: tuple[tuple[int, int, str], ...] = ()   # (start, end, text) in the reference chapter

    @property
    def change(self) -> str:
        """Two mutants with the same change did the same thing to their concept."""
        return f"{self.kind}: {self.old} -> {self.new}"


@dataclass(frozen=True)
class _Change:
    kind: str
    old: str
    new: str
    start: int           # the focus of the change: the code it is about, for the concept
    end: int
    edits: tuple[tuple[int, int, str], ...]


def phrase(mutant: Generated) -> str:
    """What the student probably did, in the lesson's terms."""
    concept = mutant.concept.text if mutant.concept else f"`{mutant.part.name}`"
    old, new = f"`{_short(mutant.old)}`", f"`{_short(mutant.new)}`"
    return {
        "sign": f"In {concept}, a minus seems to be dropped, which flips a sign ({new} for {old}).",
        "not": f"{_capital(concept)} seems to be inverted: its `not` is missing.",
        "index": f"{_capital(concept)} seems to use the rows where the columns are meant ({new} for {old}).",
        "return": f"{_capital(concept)} seems never to be returned: the function returns None.",
        "call": f"{_capital(concept)} seems to leave out {old.rstrip('`')}(…)`.",
        "operand": f"{_capital(concept)} seems to be missing: {old} is left out.",
        "rebind": f"{_capital(concept)} seems to rebind {new} to a new list instead of changing {old} in place.",
        "order": f"{_capital(concept)} seems to have its operands the other way round ({new} for {old}).",
        "branches": f"{_capital(concept)} seems to give its two outcomes the other way round ({new} for {old}).",
        "loop": f"{_capital(concept)} seems to leave out an item of the list it goes through ({new} for {old}).",
        "count": f"{_capital(concept)} seems to count one off ({new} for {old}).",
        "arguments": f"{_capital(concept)} seems to pass two arguments the other way round ({new} for {old}).",
        "store": f"{_capital(concept)} seems to be kept in a local variable ({new} for {old}), not stored on the object.",
        "reset": f"{_capital(concept)} seems to start again on every pass of the loop: {old.rstrip('`')}` is inside it, "
                 f"not before it.",
        "local": f"{_capital(concept)} seems to be kept in a local variable ({new} for {old}) and read from there, "
                 f"never stored on the object.",
        "twice": f"{_capital(concept)} seems to divide by twice as much ({new} for {old}).",
        "start": f"{_capital(concept)} seems to start counting from 1 instead of 0 ({new} for {old}).",
        "square of sum": f"{_capital(concept)} seems to square the sum instead of adding up the squares "
                         f"({new} for {old}).",
        "carried": f"{_capital(concept)} seems to carry a total over from one item to the next: each result "
                   f"adds up its own value and all the ones before it (is the total set to 0 before the loop "
                   f"instead of inside it?).",
        "running": f"{_capital(concept)} seems to use a running total: each value is divided by the sum of the "
                   f"values up to it, not by the sum of all of them.",
        "first": f"{_capital(concept)} seems to stop after the first pass of its loop (a `return` inside the loop?).",
        "in place": f"{_capital(concept)} seems to be written over the argument it is made from, changing the "
                    f"caller's list, instead of going into a new list.",
        "keyword": f"{_capital(concept)} seems to leave out {old} in its call, so the default is used instead.",
        "loops": f"{_capital(concept)} seems to have its two loops the other way round, which transposes the result.",
        "grow": f"{_capital(concept)} seems to grow with every call ({new} for {old}): the stored list keeps the "
                f"earlier calls' values instead of being replaced.",
    }.get(mutant.kind, f"{_capital(concept)} seems to use {new} where {old} is meant.")


def _short(code: str, limit: int = 48) -> str:
    code = " ".join(code.split())
    return code if len(code) <= limit else code[:limit - 1] + "…"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


# --- generating ---------------------------------------------------------------------------------

def generate_bank(course: Course, chapter: int | None = None) -> tuple[Generated, ...]:
    """Every generated mutant of every student part (of `chapter` only, when given), each with its
    concept (None where the part's annotations leave the change uncovered: tests/test_concepts.py
    requires that never happens). Cached per course and file contents: a warm judge diagnoses many
    gradings."""
    files = [course.root / "concepts.yaml", *(course.reference / c.file for c in course.chapters),
             *(course.exercises / c.file for c in course.chapters)]
    stamp = tuple((str(f), f.stat().st_mtime_ns if f.is_file() else 0) for f in files)
    return _cached(course, stamp, chapter)


@functools.lru_cache(maxsize=16)
def _cached(course: Course, stamp: tuple, chapter: int | None) -> tuple[Generated, ...]:
    del stamp  # part of the cache key only
    parts = tuple(p for p in student_parts(course) if chapter is None or p.chapter == chapter)
    return _stored(course, parts, lambda: generate_for(course, parts))


# --- kept between processes ---------------------------------------------------------------------
# Making a chapter's mutants means parsing each one (a quarter of a second for chapter 5), which
# every failing grading, a fresh process, would pay again. They are kept, as their edits of the
# reference, in the user's cache folder (grader/mistakes/rows.py keeps their replays there), keyed
# by everything they are made from.

STORED = 1   # bump when what is stored changes
_CODE = (Path(__file__), Path(__file__).with_name("concepts.py"),
         *(Path(__file__).parent.parent / "mutation").glob("*.py"))


def _stored(course: Course, parts: tuple[Part, ...],
            make: Callable[[], tuple[Generated, ...]]) -> tuple[Generated, ...]:
    folder = usable_cache_dir()
    if folder is None:  # no usable cache folder: made again next time, nothing more
        return make()
    key = _stored_key(course, parts)
    path = folder / f"generated-{key[:32]}.json"
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        data = json.loads(path.read_text(encoding="utf-8"))
        if data["key"] == key:
            return _revive(course, data["mutants"])
    found = make()
    with contextlib.suppress(OSError):
        write_atomically(path, json.dumps({"key": key, "mutants": [_as_data(g) for g in found]}) + "\n")
    return found


def _stored_key(course: Course, parts: tuple[Part, ...]) -> str:
    described = [STORED, platform.python_version(), [list(astuple(p)) for p in parts]]
    hasher = hashlib.sha256(json.dumps(described).encode())
    files = {course.root / CONCEPTS, *(course.reference / c.file for c in course.chapters),   # all: stored_together
             *(course.exercises / p.file for p in parts)}
    for path in [*sorted(files), *_CODE]:
        with contextlib.suppress(OSError):
            hasher.update(path.name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return hasher.hexdigest()


def _as_data(mutant: Generated) -> dict:
    return {"id": mutant.id, "part": list(astuple(mutant.part)), "kind": mutant.kind, "old": mutant.old,
            "new": mutant.new, "concept": mutant.concept.id if mutant.concept else None,
            "edits": [list(edit) for edit in mutant.edits]}


def _revive(course: Course, stored: list[dict]) -> tuple[Generated, ...]:
    concepts = by_id(load_concepts(course.root))
    sources: dict[str, str] = {}
    found = []
    for item in stored:
        part = Part(*item["part"])
        if part.file not in sources:
            sources[part.file] = _read(course.reference / part.file)
        edits = tuple((start, end, text) for start, end, text in item["edits"])
        found.append(Generated(item["id"], part, item["kind"], item["old"], item["new"],
                               concepts[item["concept"]] if item["concept"] else None,
                               _edited(sources[part.file], edits), edits))
    return tuple(found)


def inventory_of(course: Course) -> Inventory:
    """The course's concepts and their twins, from its concepts.yaml (see name_generated)."""
    return load_inventory(course.root)


def generate_for(course: Course, parts: tuple[Part, ...] | None = None) -> tuple[Generated, ...]:
    """The generated mutants of `parts` (default: every student part)."""
    concepts = load_concepts(course.root)
    sources = {c.file: _read(course.reference / c.file) for c in course.chapters}
    together = stored_together(sources.values())
    found: list[Generated] = []
    for part in parts if parts is not None else student_parts(course):
        found += _of_part(sources[part.file], part, concepts, f"{course.reference.name}/{part.file}", together)
    return tuple(found)


def stored_together(sources: Iterable[str]) -> dict[str, frozenset[str]]:
    """attribute -> the other attributes some method of the reference stores beside it (`outputs`
    -> `inputs`, `z_values`): values kept together are the ones a student reads one for another."""
    found: dict[str, set[str]] = {}
    for source in sources:
        for method in (n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.FunctionDef)):
            stored = {t.attr for n in ast.walk(method) if isinstance(n, (ast.Assign, ast.AugAssign))
                      for t in (n.targets if isinstance(n, ast.Assign) else [n.target]) if _self_attribute(t)}
            for name in stored:
                found.setdefault(name, set()).update(stored - {name})
    return {name: frozenset(others) for name, others in found.items()}


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise CourseError(f"{path}: the reference chapter cannot be read ({error})") from None


def _of_part(source: str, part: Part, concepts: tuple[Concept, ...], label: str,
             together: Mapping[str, frozenset[str]]) -> list[Generated]:
    function = functions_of(ast.parse(source)).get(part.name)
    if function is None:
        raise CourseError(f"{label}: {part.name} is a student part but the reference does not define it")
    regions = regions_of(source, part.name, concepts, label=label) if any(c.part == part.name for c in concepts) else ()
    first = span(source, part.name)[0]
    text = _Text(source)
    start, end = text.starts[function.lineno - 1], text.starts[function.end_lineno]
    original = _function_dump(source[start:end])
    found, seen = [], {source}
    for change in (*_first_order(text, function), *_slips(text, function, together)):
        mutant = _edited(source, change.edits)
        grown = len(mutant) - len(source)  # every edit lies inside the function
        if mutant in seen or _function_dump(mutant[start:end + grown]) in (None, original):
            continue
        seen.add(mutant)
        line, column = _position(text, change.start)
        found.append(Generated(f"{part.name}@{line - first}:{column} {change.old} -> {change.new}", part,
                               change.kind, change.old, change.new, concept_at(regions, change.start, change.end),
                               mutant, change.edits))
    return found


def _function_dump(code: str) -> str | None:
    """The AST of one function's whole lines, methods included (their indentation is kept, under an
    `if`), as text; None when it does not compile. Parsing only the function, not the chapter, for
    each mutant keeps making a chapter's mutants within a tenth of a second."""
    try:
        tree = ast.parse(code if not code[:1].isspace() else "if True:\n" + code)
    except SyntaxError:
        return None
    return ast.dump(tree)


def _edited(source: str, edits: tuple[tuple[int, int, str], ...]) -> str:
    for start, end, text in sorted(edits, reverse=True):
        source = source[:start] + text + source[end:]
    return source


def _position(text: _Text, offset: int) -> tuple[int, int]:
    line = max(i for i, s in enumerate(text.starts) if s <= offset) + 1
    return line, offset - text.starts[line - 1]


def _first_order(text: _Text, function: ast.FunctionDef) -> Iterator[_Change]:
    """The self-test's mutations, with what each changed and the kind of change."""
    for mutation in mutations_of(text.source, function):
        (start, end, new), *_ = sorted((e.start, e.end, e.text) for e in mutation.edits)
        old = text.source[start:end]
        operator = mutation.operator
        if operator.startswith("drop "):
            kind = "sign" if operator == "drop -" else "not"
            stop = _operand_end(text, function, start)
            old, new = text.source[start:stop], text.source[end:stop]
            yield _Change(kind, old, new, start, end, ((start, end, ""),))   # the focus: the sign itself
            continue
        kind = {"a[i][j] -> a[j][i]": "index", "return X -> return None": "return"}.get(operator, _SWAP)
        yield _Change(kind, old, new, start, end, ((start, end, new),))


def _operand_end(text: _Text, function: ast.FunctionDef, start: int) -> int:
    """The end of the unary expression of `function` that begins at `start`."""
    for node in ast.walk(function):
        if isinstance(node, ast.UnaryOp) and text.begin(node) == start:
            return text.finish(node)
    return start


def _slips(text: _Text, function: ast.FunctionDef, together: Mapping[str, frozenset[str]]) -> Iterator[_Change]:
    """The slips students make that first-order operators do not (see the module docstring)."""
    attributes = sorted({n.attr for n in ast.walk(function) if _self_attribute(n) and isinstance(n.ctx, ast.Load)
                         and not _called(function, n)})
    yield from _names(text, function)
    yield from _resets(text, function)
    yield from _early_returns(text, function)
    yield from _in_place(text, function)
    yield from _running_totals(text, function)
    for node in ast.walk(function):
        if isinstance(node, ast.Call):
            yield from _calls(text, node)
            yield from _counts(text, node)
            yield from _siblings(text, node)
            yield from _arguments(text, node)
            yield from _keywords(text, node)
            yield from _zipped(text, node)
            yield from _sums(text, node)
        if isinstance(node, ast.ListComp):
            yield _whole(text, node, "first", f"{text.segment(node)}[:1]")
            yield from _loops_swapped(text, node)
            yield from _carried(text, function, node)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow) and _literal(node.right, 2):
            yield _whole(text, node, _SWAP, f"abs({text.segment(node.left)})")
        if isinstance(node, ast.BinOp) and type(node.op) in ARITHMETIC:
            yield from _operands(text, node)
            yield from _operators(text, node)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div) and isinstance(node.right, (ast.Call, ast.Name)):
            yield _whole(text, node.right, "twice", f"(2 * {text.segment(node.right)})")
        elif isinstance(node, ast.IfExp):
            yield _whole(text, node, "branches", f"{_operand(text, node.orelse)} if {text.segment(node.test)} "
                                                 f"else {_operand(text, node.body)}")
        elif isinstance(node, (ast.For, ast.comprehension)) and isinstance(node.iter, (ast.Name, ast.Attribute)):
            for cut in ("[:-1]", "[1:]"):
                yield _whole(text, node.iter, "loop", text.segment(node.iter) + cut)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load) and not _called(function, node):
            others = set(together.get(node.attr, ()))
            if _self_attribute(node):
                others |= set(attributes)
            for other in sorted(others - {node.attr}):
                yield _whole(text, node, "name", f"{text.segment(node.value)}.{other}")
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and _whole_slice(node.targets[0]):
            yield _whole(text, node.targets[0], "rebind", text.segment(node.targets[0].value))
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and _self_attribute(node.targets[0]):
            yield from _stores(text, function, node)


def _names(text: _Text, function: ast.FunctionDef) -> Iterator[_Change]:
    """One variable read for another the code can see there (`probs[i]` for `probs[best]`, `dz`
    for `output_gradients`): the function's parameters and variables, and the loop variables of
    the comprehensions around the read."""
    own = {a.arg for a in (*function.args.posonlyargs, *function.args.args, *function.args.kwonlyargs)} - {"self"}
    inner = {id(n) for c in ast.walk(function) if isinstance(c, _COMPREHENSIONS)
             for g in c.generators for n in ast.walk(g.target)}
    own |= {n.id for n in ast.walk(function) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
            and id(n) not in inner}

    roles = _roles(function)

    def visit(node: ast.AST, seen: frozenset[str]) -> Iterator[_Change]:
        if isinstance(node, _COMPREHENSIONS):
            seen = seen | {n.id for g in node.generators for n in ast.walk(g.target) if isinstance(n, ast.Name)}
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in seen:
            for other in sorted(seen - {node.id}):
                if roles.get(node.id, set()) & roles.get(other, set()):
                    yield _whole(text, node, "name", other)
        for child in ast.iter_child_nodes(node):
            yield from visit(child, seen)

    for statement in function.body:
        yield from visit(statement, frozenset(own))


_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_OF_SEQUENCES = {"zip", "len", "enumerate", "sum", "list", "reversed", "sorted"}


def _roles(function: ast.FunctionDef) -> dict[str, set[str]]:
    """How each variable is used: as a sequence (looped over, indexed, zipped, measured) or as a
    number (in arithmetic, as an index). A student confuses two variables of the same role; one of
    another role would fail at once, which tells the diagnosis nothing."""
    roles: dict[str, set[str]] = {}

    def mark(node: ast.AST, role: str) -> None:
        if isinstance(node, ast.Name):
            roles.setdefault(node.id, set()).add(role)

    for node in ast.walk(function):
        if isinstance(node, (ast.For, ast.comprehension)):
            mark(node.iter, "sequence")
        elif isinstance(node, ast.Subscript):
            mark(node.value, "sequence")
            mark(node.slice, "number")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _OF_SEQUENCES:
            for argument in node.args:
                mark(argument, "sequence")
        elif isinstance(node, ast.BinOp):
            mark(node.left, "number")
            mark(node.right, "number")
        elif isinstance(node, (ast.UnaryOp, ast.AugAssign)):
            mark(node.operand if isinstance(node, ast.UnaryOp) else node.target, "number")
        elif isinstance(node, ast.Compare):
            for operand in (node.left, *node.comparators):
                mark(operand, "number")
    return roles


def _counts(text: _Text, node: ast.Call) -> Iterator[_Change]:
    """A count one off: `len(x) - 1` or `len(x) + 1` for `len(x)`."""
    if isinstance(node.func, ast.Name) and node.func.id == "len" and len(node.args) == 1:
        for step in (" - 1", " + 1"):
            yield _whole(text, node, "count", f"({text.segment(node)}{step})")
    if isinstance(node.func, ast.Name) and node.func.id == "range" and len(node.args) == 1:
        bound = _operand(text, node.args[0])
        for new in (f"range(1, {bound})", f"range(1, {bound} + 1)"):
            yield _whole(text, node, "count", new)


# Functions a student may call for one another: logarithms of another base, another aggregate.
_SIBLINGS = {"math.log": ("math.log10", "math.log2"), "sum": ("max",), "max": ("sum",), "min": ("sum",)}


def _siblings(text: _Text, node: ast.Call) -> Iterator[_Change]:
    """Another function of the same family for the one meant (`math.log10` for `math.log`)."""
    for other in _SIBLINGS.get(text.segment(node.func), ()):
        yield _whole(text, node.func, _SWAP, other)


def _arguments(text: _Text, node: ast.Call) -> Iterator[_Change]:
    """Two arguments passed the other way round: positional neighbours, or two keywords' values."""
    if any(isinstance(a, ast.Starred) for a in node.args):
        return
    pairs = list(zip(node.args, node.args[1:]))
    keywords = [k.value for k in node.keywords if k.arg is not None]
    pairs += [(a, b) for i, a in enumerate(keywords) for b in keywords[i + 1:]]
    for first, second in pairs:
        if text.segment(first) == text.segment(second):
            continue
        edits = ((text.begin(first), text.finish(first), text.segment(second)),
                 (text.begin(second), text.finish(second), text.segment(first)))
        yield _Change("arguments", f"{text.segment(first)}, {text.segment(second)}",
                      f"{text.segment(second)}, {text.segment(first)}", text.begin(first), text.finish(second), edits)


def _resets(text: _Text, function: ast.FunctionDef) -> Iterator[_Change]:
    """An accumulator started again on every pass: `total = 0.0` moved from before its loop into it."""
    for block in (getattr(n, "body", None) for n in ast.walk(function)):
        if not isinstance(block, list):
            continue
        for k, statement in enumerate(block):
            if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1
                    and isinstance(statement.targets[0], ast.Name)
                    and isinstance(statement.value, (ast.Constant, ast.List))):
                continue
            name = statement.targets[0].id
            for loop in (s for s in block[k + 1:] if isinstance(s, ast.For) and _accumulates(s, name)):
                line = text.starts[statement.lineno - 1], text.starts[statement.end_lineno]
                first = loop.body[0]
                indent = text.lines[first.lineno - 1][:first.col_offset]
                moved = indent + text.segment(statement) + "\n"
                at = text.starts[first.lineno - 1]
                yield _Change("reset", text.segment(statement), f"{text.segment(statement)} (inside the loop)",
                              text.begin(statement), text.finish(statement),
                              ((line[0], line[1], ""), (at, at, moved)))


def _early_returns(text: _Text, function: ast.FunctionDef) -> Iterator[_Change]:
    """A `return` inside the loop it should follow: the function stops after the first pass."""
    for block in (getattr(n, "body", None) for n in ast.walk(function)):
        if not isinstance(block, list):
            continue
        for loop, after in zip(block, block[1:]):
            if not (isinstance(loop, ast.For) and isinstance(after, ast.Return) and after.value is not None):
                continue
            first = loop.body[0]
            indent = text.lines[first.lineno - 1][:first.col_offset]
            line = text.starts[after.lineno - 1], text.starts[after.end_lineno]
            at = text.starts[loop.end_lineno]
            yield _Change("first", text.segment(after), f"{text.segment(after)} (inside the loop)",
                          text.begin(after.value), text.finish(after.value),
                          ((line[0], line[1], ""), (at, at, indent + text.segment(after) + "\n")))


def _running_totals(text: _Text, function: ast.FunctionDef) -> Iterator[_Change]:
    """A total used before it is complete: `total = sum(xs)` then `[x / total for x in xs]` ->
    each x divided by the sum of the items up to it (the student adds and divides in one loop)."""
    index = _free_name(function)
    for block in (getattr(n, "body", None) for n in ast.walk(function)):
        if not isinstance(block, list):
            continue
        for k, statement in enumerate(block):
            if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1
                    and isinstance(statement.targets[0], ast.Name) and isinstance(statement.value, ast.Call)
                    and text.segment(statement.value.func) == "sum" and len(statement.value.args) == 1
                    and isinstance(statement.value.args[0], ast.Name)):
                continue
            total, items = statement.targets[0].id, statement.value.args[0].id
            for later in block[k + 1:]:
                for node in (n for n in ast.walk(later) if isinstance(n, ast.ListComp) and len(n.generators) == 1):
                    loop = node.generators[0]
                    reads = [n for n in ast.walk(node.elt) if isinstance(n, ast.Name) and n.id == total]
                    if not (isinstance(loop.iter, ast.Name) and loop.iter.id == items and reads and not loop.ifs):
                        continue
                    element, start = text.segment(node.elt), text.begin(node.elt)
                    for read in sorted(reads, key=text.begin, reverse=True):
                        at = text.begin(read) - start
                        element = element[:at] + f"sum({items}[:{index} + 1])" + element[at + len(total):]
                    new = f"[{element} for {index}, {text.segment(loop.target)} in enumerate({items})]"
                    yield _Change("running", text.segment(node), new, text.begin(statement), text.finish(node),
                                  ((text.begin(node), text.finish(node), new),))


def _free_name(function: ast.FunctionDef) -> str:
    """A name for a new loop index that `function` does not use already."""
    used = {n.id for n in ast.walk(function) if isinstance(n, ast.Name)}
    return next(name for name in ("i", "k", "n_", "i_") if name not in used)


def _carried(text: _Text, function: ast.FunctionDef, node: ast.ListComp) -> Iterator[_Change]:
    """A total not started again for each item: `[dot(row, v) for row in m]` -> each item plus
    all the ones before it (the student's `total = 0` sits before the loop over the rows)."""
    if len(node.generators) != 1 or node.generators[0].ifs or not isinstance(node.elt, (ast.Call, ast.BinOp)):
        return
    loop, index = node.generators[0], _free_name(function)
    items = f"list({text.segment(loop.iter)})"
    new = (f"[sum({text.segment(node.elt)} for {text.segment(loop.target)} in {items}[:{index} + 1]) "
           f"for {index} in range(len({items}))]")
    yield _whole(text, node, "carried", new)


def _in_place(text: _Text, function: ast.FunctionDef) -> Iterator[_Change]:
    """A new list written over the argument it is made from, which is returned: `return [x * s for
    x in v]` -> `v[:] = [...]`, `return v` (the student changed the caller's list)."""
    parameters = {a.arg for a in function.args.args}
    for node in ast.walk(function):
        if not (isinstance(node, ast.Return) and isinstance(node.value, ast.ListComp)):
            continue
        source = node.value.generators[0].iter
        if isinstance(source, ast.Call) and text.segment(source.func) == "zip" and source.args:
            source = source.args[0]
        if isinstance(source, ast.Name) and source.id in parameters:
            new = f"{source.id}[:] = {text.segment(node.value)}; return {source.id}"
            yield _Change("in place", text.segment(node), new, text.begin(node.value), text.finish(node.value),
                          ((text.begin(node), text.finish(node), new),))


def _keywords(text: _Text, node: ast.Call) -> Iterator[_Change]:
    """A keyword argument left out (`train(data, epochs, verbose=verbose)` -> `train(data, epochs)`):
    the callee's default is used instead."""
    for keyword in (k for k in node.keywords if k.arg is not None):
        kept = [text.segment(a) for a in node.args] + [text.segment(k) for k in node.keywords if k is not keyword]
        yield _Change("keyword", text.segment(keyword), f"{text.segment(node.func)}({', '.join(kept)})",
                      text.begin(node), text.finish(node),
                      ((text.begin(node), text.finish(node), f"{text.segment(node.func)}({', '.join(kept)})"),))


def _zipped(text: _Text, node: ast.Call) -> Iterator[_Change]:
    """A loop over paired lists that leaves out their first or last pair: `zip(a[1:], b[1:])`."""
    if text.segment(node.func) == "zip" and len(node.args) > 1 and all(
            isinstance(a, (ast.Name, ast.Attribute)) for a in node.args) and not node.keywords:
        for cut in ("[1:]", "[:-1]"):
            yield _whole(text, node, "loop", f"zip({', '.join(text.segment(a) + cut for a in node.args)})")


def _sums(text: _Text, node: ast.Call) -> Iterator[_Change]:
    """A total started at 1 instead of 0 (`sum(xs, 1)`), and the square of a sum for the sum of
    squares (`sum(d ** 2 for …)` -> `sum(d for …) ** 2`)."""
    if text.segment(node.func) != "sum" or len(node.args) != 1 or node.keywords:
        return
    (values,) = node.args
    yield _whole(text, node, "start", f"sum({text.segment(values)}, 1)")
    if isinstance(values, (ast.GeneratorExp, ast.ListComp)) and isinstance(values.elt, ast.BinOp) \
            and isinstance(values.elt.op, ast.Pow) and _literal(values.elt.right, 2):
        at, end = text.begin(values.elt), text.finish(values.elt)
        inner = text.source[text.begin(node):at] + _operand(text, values.elt.left) + text.source[end:text.finish(node)]
        yield _whole(text, node, "square of sum", f"{inner} ** 2")


def _loops_swapped(text: _Text, node: ast.ListComp) -> Iterator[_Change]:
    """The two loops of a nested list the other way round (`[[f(r, c) for c in cs] for r in rs]` ->
    `[[f(r, c) for r in rs] for c in cs]`): the result comes out transposed."""
    inner = node.elt
    if not (isinstance(inner, ast.ListComp) and len(node.generators) == 1 and len(inner.generators) == 1):
        return
    outer_loop, inner_loop = node.generators[0], inner.generators[0]
    if outer_loop.ifs or inner_loop.ifs or outer_loop.is_async or inner_loop.is_async:
        return
    names = {n.id for n in ast.walk(outer_loop.target) if isinstance(n, ast.Name)}
    if any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(inner_loop.iter)):
        return  # the inner loop goes through something the outer one made
    new = (f"[[{text.segment(inner.elt)} for {text.segment(outer_loop.target)} in {text.segment(outer_loop.iter)}] "
           f"for {text.segment(inner_loop.target)} in {text.segment(inner_loop.iter)}]")
    yield _whole(text, node, "loops", new)


def _stores(text: _Text, function: ast.FunctionDef, node: ast.Assign) -> Iterator[_Change]:
    """A value kept in a local instead of stored on the object: `self.z = …` -> `z = …`, alone or
    with the function's later reads of `self.z` too; and a stored list that grows with every call
    instead of being replaced (`self.outputs += [...]`)."""
    target = node.targets[0]
    yield _whole(text, target, "store", target.attr)
    reads = [n for n in ast.walk(function) if _self_attribute(n) and n.attr == target.attr
             and isinstance(n.ctx, ast.Load) and (n.lineno, n.col_offset) > (node.lineno, node.col_offset)]
    if reads:
        edits = ((text.begin(target), text.finish(target), target.attr),
                 *((text.begin(n), text.finish(n), target.attr) for n in reads))
        yield _Change("local", f"{text.segment(target)} = …", f"{target.attr} = …", text.begin(target),
                      text.finish(target), edits)
    if isinstance(node.value, (ast.ListComp, ast.List)):
        at = text.finish(target)
        equals = text.source.index("=", at)
        yield _Change("grow", f"{text.segment(target)} =", f"{text.segment(target)} +=", text.begin(target),
                      text.finish(target), ((equals, equals + 1, "+="),))


def _accumulates(loop: ast.For, name: str) -> bool:
    """Whether `loop` adds to `name` (`name += …`, `name.append(…)`)."""
    return any((isinstance(n, ast.AugAssign) and isinstance(n.target, ast.Name) and n.target.id == name)
               or (isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "append"
                   and isinstance(n.func.value, ast.Name) and n.func.value.id == name)
               for n in ast.walk(loop))


def _literal(node: ast.AST, value: object) -> bool:
    return isinstance(node, ast.Constant) and node.value == value and type(node.value) is type(value)


def _whole(text: _Text, node: ast.AST, kind: str, new: str) -> _Change:
    """`node`'s code replaced by `new`; the focus is the whole node."""
    start, end = text.begin(node), text.finish(node)
    return _Change(kind, text.segment(node), new, start, end, ((start, end, new),))


def _operand(text: _Text, node: ast.AST) -> str:
    """An operand's code, in parentheses where moving it elsewhere could change how it parses."""
    loose = (ast.BinOp, ast.BoolOp, ast.Compare, ast.IfExp, ast.Lambda, ast.NamedExpr, ast.UnaryOp)
    return f"({text.segment(node)})" if isinstance(node, loose) else text.segment(node)


def _calls(text: _Text, node: ast.Call) -> Iterator[_Change]:
    """A call left out, one of its arguments kept: `relu(z)` -> `z` (the activation forgotten),
    `max(1, n // 10)` -> `n // 10` (the guard forgotten)."""
    arguments = [a for a in node.args if not isinstance(a, ast.Starred)]
    if not arguments or len(arguments) != len(node.args) or len(arguments) > 3:
        return
    name = text.segment(node.func)
    for argument in arguments:
        yield _Change("call", name, text.segment(argument), text.begin(node), text.finish(node),
                      ((text.begin(node), text.finish(node), _operand(text, argument)),))


def _operands(text: _Text, node: ast.BinOp) -> Iterator[_Change]:
    """`a op b` -> `a`, and -> `b` where the operation commutes: the focus is what was left out."""
    symbol = ARITHMETIC[type(node.op)][1]
    at = text.symbol(node.left, node.right, symbol)
    whole = (text.begin(node), text.finish(node))
    dropped = text.source[at:whole[1]]
    yield _Change("operand", dropped, text.segment(node.left), at, whole[1],
                  ((whole[0], whole[1], _operand(text, node.left)),))
    if isinstance(node.op, (ast.Add, ast.Mult)):
        dropped = text.source[whole[0]:at + len(symbol)]
        yield _Change("operand", dropped, text.segment(node.right), whole[0], at + len(symbol),
                      ((whole[0], whole[1], _operand(text, node.right)),))


def _operators(text: _Text, node: ast.BinOp) -> Iterator[_Change]:
    """Operands the other way round (`1 - a` -> `a - 1`) where the order matters, and any other of
    + - * / in place of one of them (the self-test's operators swap each for one other only)."""
    if isinstance(node.op, (ast.Sub, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow)):
        symbol = ARITHMETIC[type(node.op)][1]
        yield _whole(text, node, "order", f"{_operand(text, node.right)} {symbol} {_operand(text, node.left)}")
    basic = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
    if type(node.op) in basic:
        old = basic[type(node.op)]
        at = text.symbol(node.left, node.right, old)
        for new in (s for s in basic.values() if s != old):
            yield _Change(_SWAP, old, new, at, at + len(old), ((at, at + len(old), new),))


def _self_attribute(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self"


def _called(function: ast.FunctionDef, attribute: ast.Attribute) -> bool:
    """Whether `self.x` is used as a method (`self.x(...)`), which no stored value can stand for."""
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == attribute.attr
               and _self_attribute(n.func) for n in ast.walk(function))


def _whole_slice(target: ast.AST) -> bool:
    return (isinstance(target, ast.Subscript) and isinstance(target.slice, ast.Slice)
            and target.slice.lower is None and target.slice.upper is None and target.slice.step is None)


# --- naming (pure) ------------------------------------------------------------------------------

WHY = ("A copy of the reference with only such a change gives exactly your answers on every check of this "
       "chapter that could be replayed ({count} of the generated variants of the chapter's student parts do).")


def _holding_all(explaining: list[Generated], inventory: Inventory | None) -> Concept | None:
    """The smallest concept whose code holds every one of the mutants' concepts' code (one of
    theirs, or a wider region of the part): naming it is true of each change, as the place of
    `x - y` in `[x - y for …]` is. A single change must also hold its concept's twins: a slip in a
    twin, which no mutant happens to reproduce, would look the same. A region that holds every
    region of the part says no more than the part and is not named unless a mutant is in it."""
    concepts = {g.concept for g in explaining}
    if None in concepts:
        return None
    if inventory is not None and len(explaining) == 1:
        concepts |= {t for c in list(concepts) for t in inventory.twins.get(c.id, ())}
    regions = inventory.of_part(explaining[0].part.name) if inventory is not None else ()
    holding = [c for c in set(regions) | concepts if all(other.code in c.code for other in concepts)]
    holding = [c for c in holding if c in concepts or not all(r.code in c.code for r in regions)]
    return min(holding, key=lambda c: len(c.code)) if holding else None


def shows_a_value(status: str, actual: object) -> bool:
    """Whether a test's ending is a failure that shows a wrong value the student's code gave (the
    `valued` evidence name_generated needs to name a concept): a failed check (its message says
    what was wrong: "got 19 values", "yours 0.0137, numerical -0.155"), or an error that carries
    the value. An exception alone says little: changes in different places raise the same one."""
    return status == "failed" or (status in ("error", "timeout") and actual is not None)


def name_generated(explaining: list[Generated], *, lesson: str, guide: str, valued: bool = True,
                   inventory: Inventory | None = None) -> Diagnosis | None:
    """What the mutants that reproduce a student's failures let the scorecard say, and no more:
    the concept and the kind of change when they all agree on both; the concept alone when they
    agree only on it, or when one of their concepts holds all the others' code; the part alone
    when they agree only on that; nothing when they disagree.
    `valued`: some failure shows a wrong value. Failures that are all exceptions ("division by
    zero") are weak evidence: changes in different places raise the same one, so they name the
    part at most. `inventory` (concepts.yaml): the regions a name may widen to, and the concepts'
    twins (see _holding_all)."""
    if not explaining:
        return None
    if not valued:
        explaining = [replace(g, concept=None) for g in explaining]
    first = explaining[0]
    concepts = {g.concept.id if g.concept else None for g in explaining}
    parts = {g.part.name for g in explaining}
    why = WHY.format(count=len(explaining))
    widest = _holding_all(explaining, inventory) if len(parts) == 1 else None
    if widest is not None:
        concept = widest
        title = f"{first.part.name}: {concept.text}"
        if len(concepts) == 1 and len({g.change for g in explaining}) == 1:
            return Diagnosis(f"concept:{concept.id}", title, phrase(first), why, lesson, guide)
        return Diagnosis(f"concept:{concept.id}", title,
                         f"The mistake seems to be in {concept.text} (in `{first.part.name}`): several different "
                         f"changes there give exactly your answers.", why, lesson, guide)
    if len(parts) == 1:
        return Diagnosis(f"part:{first.part.name}", f"{first.part.name}",
                         f"The mistake seems to be in `{first.part.name}`: changes in {len(concepts)} different "
                         f"places of it give exactly your answers, so the diagnosis cannot say which.",
                         why, lesson, guide)
    return None
