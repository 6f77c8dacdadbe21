"""The student parts of a course: every function or method whose starter in exercises/ raises
NotImplementedError, found with `ast` (pure); and a reference chapter with one part swapped."""

from __future__ import annotations

import ast
from dataclasses import dataclass

from ..course import Course


@dataclass(frozen=True)
class Part:
    """One function or method a student writes."""

    chapter: int
    file: str
    name: str        # "dot_product", or "BackpropLayer.backward" for a method

    @property
    def label(self) -> str:
        return f"ch{self.chapter} {self.name}"


def functions_of(tree: ast.Module) -> dict[str, ast.FunctionDef]:
    """Module-level functions and the methods of module-level classes, by qualified name."""
    found: dict[str, ast.FunctionDef] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found[node.name] = node
        elif isinstance(node, ast.ClassDef):
            found.update((f"{node.name}.{item.name}", item) for item in node.body
                         if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)))
    return found


def _raises_not_implemented(function: ast.FunctionDef) -> bool:
    """Whether the function's own body (not a nested function's) raises NotImplementedError."""
    pending = list(function.body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Raise) and node.exc is not None:
            raised = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(raised, ast.Name) and raised.id == "NotImplementedError":
                return True
        pending.extend(ast.iter_child_nodes(node))
    return False


def unwritten(source: str) -> tuple[str, ...]:
    """The qualified names of a starter's functions that raise NotImplementedError, in file order."""
    return tuple(name for name, function in functions_of(ast.parse(source)).items()
                 if _raises_not_implemented(function))


def student_parts(course: Course) -> tuple[Part, ...]:
    """Every student part of the course, chapter by chapter, from its starter files."""
    parts = []
    for chapter in course.chapters:
        starter = course.exercises / chapter.file
        if starter.is_file():
            parts += [Part(chapter.number, chapter.file, name)
                      for name in unwritten(starter.read_text(encoding="utf-8"))]
    return tuple(parts)


def span(source: str, name: str) -> tuple[int, int]:
    """The lines (first, last; 1-based, decorators included) of function `name` in `source`."""
    function = functions_of(ast.parse(source)).get(name)
    if function is None:
        raise KeyError(name)
    first = min([function.lineno] + [d.lineno for d in function.decorator_list])
    return first, function.end_lineno or function.lineno


def definition(source: str, name: str) -> str:
    """The source text of function `name`, whole lines."""
    first, last = span(source, name)
    return "".join(source.splitlines(keepends=True)[first - 1:last])


def with_definition(source: str, name: str, replacement: str) -> str:
    """`source` with function `name` replaced by `replacement` (whole lines, same indentation)."""
    first, last = span(source, name)
    lines = source.splitlines(keepends=True)
    return "".join(lines[:first - 1]) + replacement + "".join(lines[last:])


def reverted(reference: str, starter: str, name: str) -> str:
    """The reference chapter with only part `name` put back to the starter's version."""
    return with_definition(reference, name, definition(starter, name))


def reached_from(source: str, entry_points: tuple[str, ...]) -> frozenset[str]:
    """The functions of `source` that calls starting at `entry_points` can reach, following calls
    of module-level functions by name and of methods through `self.` (a static over-estimate:
    every call that could happen is followed, whether or not it does)."""
    functions = functions_of(ast.parse(source))
    reached: set[str] = set()
    pending = [name for name in entry_points if name in functions]
    while pending:
        name = pending.pop()
        if name in reached:
            continue
        reached.add(name)
        owner = name.rpartition(".")[0]
        for node in ast.walk(functions[name]):
            if isinstance(node, ast.Name) and node.id in functions:
                pending.append(node.id)
            elif (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                  and node.value.id == "self" and f"{owner}.{node.attr}" in functions):
                pending.append(f"{owner}.{node.attr}")
    return frozenset(reached)


def _without(source: str, names: set[str]) -> str:
    """`source` with the functions `names` taken out (whole lines)."""
    lines = source.splitlines(keepends=True)
    for first, last in sorted((span(source, name) for name in names), reverse=True):
        del lines[first - 1:last]
    return "".join(lines)


def trains_alike(reference: str, source: str, entry_points: tuple[str, ...]) -> bool:
    """Whether `source` differs from `reference` only inside functions that calls from
    `entry_points` cannot reach, in either file: then whatever the entry points compute is the same."""
    reached = reached_from(reference, entry_points)
    if reached_from(source, entry_points) != reached:
        return False
    try:
        others = {name: set(functions_of(ast.parse(text))) - reached for name, text in
                  (("reference", reference), ("source", source))}
    except SyntaxError:
        return False
    return _without(reference, others["reference"]) == _without(source, others["source"])
