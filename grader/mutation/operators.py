"""First-order mutation operators on `ast` (pure): every mutant of one function is one small edit of
the module's text, so a mutant is the reference file with a few characters changed and its diff
shows exactly those. The operators are the classic ones: swapped arithmetic, comparison and
boolean operators, numeric constants + 1, True <-> False, a dropped unary minus or `not`,
a[i][j] -> a[j][i], min <-> max, and `return X` -> `return None`."""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass
from typing import Iterator

ARITHMETIC = {ast.Add: (ast.Sub, "+", "-"), ast.Sub: (ast.Add, "-", "+"), ast.Mult: (ast.Div, "*", "/"),
              ast.Div: (ast.Mult, "/", "*"), ast.FloorDiv: (ast.Div, "//", "/"), ast.Mod: (ast.FloorDiv, "%", "//"),
              ast.Pow: (ast.Mult, "**", "*")}
COMPARISON = {ast.Lt: ("<", "<="), ast.LtE: ("<=", "<"), ast.Gt: (">", ">="), ast.GtE: (">=", ">"),
              ast.Eq: ("==", "!="), ast.NotEq: ("!=", "=="), ast.Is: ("is", "is not"), ast.IsNot: ("is not", "is"),
              ast.In: ("in", "not in"), ast.NotIn: ("not in", "in")}
BOOLEAN = {ast.And: ("and", "or"), ast.Or: ("or", "and")}
SWAPPED_CALLS = {"min": "max", "max": "min"}


@dataclass(frozen=True)
class Edit:
    """Replace the text from `start` to `end` (absolute character offsets) with `text`."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Mutation:
    operator: str        # what changed, e.g. "* -> /"
    line: int            # the line of the change in the module
    column: int          # its column (characters)
    edits: tuple[Edit, ...]


class _Text:
    """Character offsets of `ast` positions (which count UTF-8 bytes within a line)."""

    def __init__(self, source: str):
        self.source = source
        self.lines = source.splitlines(keepends=True)
        self.starts = [0]
        for line in self.lines:
            self.starts.append(self.starts[-1] + len(line))

    def offset(self, line: int, byte_column: int) -> int:
        text = self.lines[line - 1].encode("utf-8")[:byte_column].decode("utf-8", errors="replace")
        return self.starts[line - 1] + len(text)

    def begin(self, node: ast.AST) -> int:
        return self.offset(node.lineno, node.col_offset)

    def finish(self, node: ast.AST) -> int:
        return self.offset(node.end_lineno, node.end_col_offset)

    def segment(self, node: ast.AST) -> str:
        return self.source[self.begin(node):self.finish(node)]

    def symbol(self, after: ast.AST, before: ast.AST, symbol: str) -> int:
        """Where `symbol` (an operator; its first word) is written between two operands."""
        gap_start = self.finish(after)
        return gap_start + self.source[gap_start:self.begin(before)].index(symbol.split()[0])


def _position(text: _Text, start: int) -> tuple[int, int]:
    line = max(i for i, s in enumerate(text.starts) if s <= start) + 1
    return line, start - text.starts[line - 1]


def _mutation(text: _Text, operator: str, *edits: Edit) -> Mutation:
    line, column = _position(text, edits[0].start)
    return Mutation(operator, line, column, tuple(edits))


def _replace_symbol(text: _Text, after: ast.AST, before: ast.AST, old: str, new: str) -> Mutation:
    start = text.symbol(after, before, old)
    length = len(old) if " " not in old else text.source.index(old.split()[-1], start) + len(old.split()[-1]) - start
    return _mutation(text, f"{old} -> {new}", Edit(start, start + length, new))


def _docstring(function: ast.FunctionDef) -> ast.AST | None:
    first = function.body[0] if function.body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        return first.value
    return None


def _node_mutations(text: _Text, node: ast.AST) -> Iterator[Mutation]:
    if isinstance(node, ast.BinOp) and type(node.op) in ARITHMETIC:
        _, old, new = ARITHMETIC[type(node.op)]
        yield _replace_symbol(text, node.left, node.right, old, new)
    elif isinstance(node, ast.AugAssign) and type(node.op) in ARITHMETIC:
        _, old, new = ARITHMETIC[type(node.op)]
        yield _replace_symbol(text, node.target, node.value, old + "=", new + "=")
    elif isinstance(node, ast.Compare):
        left = node.left
        for op, right in zip(node.ops, node.comparators):
            old, new = COMPARISON[type(op)]
            yield _replace_symbol(text, left, right, old, new)
            left = right
    elif isinstance(node, ast.BoolOp):
        old, new = BOOLEAN[type(node.op)]
        yield _replace_symbol(text, node.values[0], node.values[1], old, new)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.Not)):
        name = "-" if isinstance(node.op, ast.USub) else "not"
        yield _mutation(text, f"drop {name}", Edit(text.begin(node), text.begin(node.operand), ""))
    elif isinstance(node, ast.Constant) and type(node.value) is bool:
        yield _mutation(text, f"{node.value} -> {not node.value}",
                        Edit(text.begin(node), text.finish(node), str(not node.value)))
    elif isinstance(node, ast.Constant) and type(node.value) in (int, float):
        yield _mutation(text, f"{text.segment(node)} -> {node.value + 1!r}",
                        Edit(text.begin(node), text.finish(node), repr(node.value + 1)))
    elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Subscript):
        inner = node.value
        swapped = f"{text.segment(inner.value)}[{text.segment(node.slice)}][{text.segment(inner.slice)}]"
        yield _mutation(text, "a[i][j] -> a[j][i]", Edit(text.begin(node), text.finish(node), swapped))
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in SWAPPED_CALLS:
        new = SWAPPED_CALLS[node.func.id]
        yield _mutation(text, f"{node.func.id} -> {new}", Edit(text.begin(node.func), text.finish(node.func), new))
    elif isinstance(node, ast.Return) and node.value is not None and not (
            isinstance(node.value, ast.Constant) and node.value.value is None):
        yield _mutation(text, "return X -> return None",
                        Edit(text.begin(node.value), text.finish(node.value), "None"))


def apply(source: str, mutation: Mutation) -> str:
    """`source` with the mutation's edits made (they never overlap)."""
    for edit in sorted(mutation.edits, key=lambda e: e.start, reverse=True):
        source = source[:edit.start] + edit.text + source[edit.end:]
    return source


def mutations_of(source: str, function: ast.FunctionDef) -> tuple[Mutation, ...]:
    """Every first-order mutation of `function` (a node of `ast.parse(source)`), in source order,
    keeping only those that compile and change the program (not just its formatting)."""
    text = _Text(source)
    skip = _docstring(function)
    original = ast.dump(function)
    found, seen = [], set()
    for node in ast.walk(function):
        if node is skip:
            continue
        for mutation in _node_mutations(text, node):
            mutant = apply(source, mutation)
            changed = changes_program(original, mutant, function.lineno)
            if changed and mutant not in seen:
                seen.add(mutant)
                found.append(mutation)
    return tuple(sorted(found, key=lambda m: (m.line, m.column, m.operator)))


@functools.lru_cache(maxsize=1024)  # the generated bank re-checks the self-test's mutants
def changes_program(original: str, mutant: str, line: int) -> bool | None:
    """Whether `mutant`, whose edits all lie inside the function defined at `line`, is a different
    program from the one whose function dumps as `original` (`ast.dump`); None when it does not
    compile. Only that function is compared: the rest of the text is the same, and dumping the
    whole module for every mutant would cost most of the time of making them."""
    try:
        tree = ast.parse(mutant)
    except SyntaxError:
        return None
    for node in tree.body:
        for candidate in (node, *(node.body if isinstance(node, ast.ClassDef) else ())):
            if isinstance(candidate, (ast.FunctionDef, ast.AsyncFunctionDef)) and candidate.lineno == line:
                return ast.dump(candidate) != original
    return True
