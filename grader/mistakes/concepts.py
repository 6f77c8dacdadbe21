"""The concept inventory (concepts.yaml, next to course.yaml): which region of each student part's
reference code implements which idea of the lesson, and the region a change falls in (pure, but for
reading the file)."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import yaml

from ..errors import CourseError

CONCEPTS = "concepts.yaml"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml where installed: 10 times faster


@dataclass(frozen=True)
class Concept:
    """One region of a part's reference code and the idea it implements."""

    id: str
    part: str          # "dot_product", "Layer.forward"
    code: str          # the region's text, which occurs once in the part
    text: str          # the concept in the lesson's terms: "the bias term of z"
    line: int          # in concepts.yaml


@dataclass(frozen=True)
class Region:
    """Where a concept's code sits in a chapter file (character offsets)."""

    concept: Concept
    start: int
    end: int


def load_concepts(root: Path) -> tuple[Concept, ...]:
    """concepts.yaml in the course folder `root`; none without it (the diagnosis then only names
    the hand-written bank's mistakes)."""
    return load_inventory(root).concepts


@dataclass(frozen=True)
class Inventory:
    """Every concept of the course's student parts, and each one's twins (see _twins)."""

    concepts: tuple[Concept, ...] = ()
    twins: Mapping[str, frozenset[Concept]] = field(default_factory=dict)

    def of_part(self, part: str) -> tuple[Concept, ...]:
        return tuple(c for c in self.concepts if c.part == part)


def load_inventory(root: Path) -> Inventory:
    """concepts.yaml's concepts and twins, the file read once; empty without it."""
    path = root / CONCEPTS
    if not path.is_file():
        return Inventory()
    try:
        document = yaml.compose(path.read_text(encoding="utf-8"), Loader=_LOADER)
    except (OSError, yaml.YAMLError) as error:
        raise CourseError(f"{path}: cannot be read as YAML ({str(error).splitlines()[0]})") from None
    concepts = _concepts(path, document)
    return Inventory(concepts, _twins(path, document, concepts))


def _concepts(path: Path, document: yaml.Node | None) -> tuple[Concept, ...]:
    parts = _mapping_value(document, "concepts")
    if not isinstance(parts, yaml.MappingNode):
        raise CourseError(f"{path}: expected `concepts:`, a mapping of student parts to lists of regions")
    found: list[Concept] = []
    seen: dict[str, int] = {}
    for key, regions in parts.value:
        if not isinstance(regions, yaml.SequenceNode):
            raise CourseError(f"{path}:{key.start_mark.line + 1}: {key.value}: expected a list of {{id, code, concept}}")
        for node in regions.value:
            concept = _concept(path, key.value, node)
            if concept.id in seen:
                raise CourseError(f"{path}:{concept.line}: concept {concept.id!r} is defined twice "
                                  f"(also at line {seen[concept.id]})")
            seen[concept.id] = concept.line
            found.append(concept)
    return tuple(found)


def _twins(path: Path, document: yaml.Node | None,
           concepts: tuple[Concept, ...]) -> Mapping[str, frozenset[Concept]]:
    """concept id -> its twins (`twins:`, pairs of concepts of one part that the hidden tests
    cannot tell apart); none without the list."""
    pairs = _mapping_value(document, "twins")
    if pairs is None:
        return {}
    known = by_id(concepts)
    found: dict[str, set[Concept]] = {}
    for node in pairs.value if isinstance(pairs, yaml.SequenceNode) else [pairs]:
        ids = [v.value for v in node.value] if isinstance(node, yaml.SequenceNode) else []
        where = f"{path}:{node.start_mark.line + 1}"
        if len(ids) != 2 or not all(i in known for i in ids):
            raise CourseError(f"{where}: a twin is a pair of concept ids defined above, as [add.pair, add.result]")
        a, b = known[ids[0]], known[ids[1]]
        if a.part != b.part:
            raise CourseError(f"{where}: twins must be concepts of one part ({a.id} is in {a.part}, {b.id} in {b.part})")
        found.setdefault(a.id, set()).add(b)
        found.setdefault(b.id, set()).add(a)
    return {i: frozenset(twins) for i, twins in found.items()}


def _mapping_value(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    return next((value for k, value in node.value if k.value == key), None)


def _concept(path: Path, part: str, node: yaml.Node) -> Concept:
    line = node.start_mark.line + 1
    # Read from the node itself (every value a plain string): re-loading each entry through PyYAML
    # cost a failing grading a third of a second.
    pairs = node.value if isinstance(node, yaml.MappingNode) else []
    entry = {k.value: v.value for k, v in pairs if isinstance(k, yaml.ScalarNode) and isinstance(v, yaml.ScalarNode)
             and v.tag == "tag:yaml.org,2002:str"}
    if len(entry) != len(pairs) or set(entry) != {"id", "code", "concept"} \
            or not all(v.strip() for v in entry.values()):
        raise CourseError(f"{path}:{line}: each region has exactly the keys id, code and concept, all text")
    return Concept(entry["id"], part, entry["code"], " ".join(entry["concept"].split()), line)


def regions_of(source: str, part: str, concepts: tuple[Concept, ...], *, label: str) -> tuple[Region, ...]:
    """Where each concept of `part` sits in `source` (a reference chapter). A concept's code must
    occur exactly once inside the part (its docstring aside, which often restates the code in
    words): an annotation that matches nowhere, or twice, is the course's error, as a stale edit of
    the bank is."""
    function = _function(source, part)
    if function is None:
        raise CourseError(f"{CONCEPTS}: {part} is annotated but {label} does not define it")
    start, end, docstring = function
    body = source[start:docstring[0]] + " " * (docstring[1] - docstring[0]) + source[docstring[1]:end]
    regions = []
    for concept in (c for c in concepts if c.part == part):
        count = body.count(concept.code)
        if count != 1:
            found = "is not in" if count == 0 else f"occurs {count} times in"
            raise CourseError(f"{CONCEPTS}:{concept.line}: concept {concept.id!r}: its code {found} {part} "
                              f"of {label} (it must occur exactly once)")
        offset = start + body.index(concept.code)
        regions.append(Region(concept, offset, offset + len(concept.code)))
    return tuple(regions)


def _function(source: str, part: str) -> tuple[int, int, tuple[int, int]] | None:
    """The character span of function or method `part` of `source`, and its docstring's."""
    lines = source.splitlines(keepends=True)
    offset = lambda line, column: sum(len(text) for text in lines[:line - 1]) + column
    for name, function in _functions(ast.parse(source)):
        if name == part:
            first = function.body[0]
            docstring = (offset(first.lineno, first.col_offset), offset(first.end_lineno, first.end_col_offset)) \
                if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                and isinstance(first.value.value, str) else (0, 0)
            start = offset(function.lineno, 0)
            return start, offset(function.end_lineno + 1, 0), docstring if docstring[0] else (start, start)
    return None


def _functions(tree: ast.Module) -> list[tuple[str, ast.FunctionDef]]:
    found = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found.append((node.name, node))
        elif isinstance(node, ast.ClassDef):
            found += [(f"{node.name}.{item.name}", item) for item in node.body
                      if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))]
    return found


def concept_at(regions: tuple[Region, ...], start: int, end: int) -> Concept | None:
    """The concept of the smallest region holding the whole change [start, end): the most specific
    idea the changed code implements."""
    holding = [r for r in regions if r.start <= start and end <= r.end]
    if not holding:
        return None
    return min(holding, key=lambda r: r.end - r.start).concept


def by_id(concepts: tuple[Concept, ...]) -> Mapping[str, Concept]:
    return {c.id: c for c in concepts}
