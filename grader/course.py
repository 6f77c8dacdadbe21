"""The rubric: Course, Chapter, Criterion and Limits, loaded from course.yaml and validated.

Every validation error names the file, the line and the key at fault, because an instructor
editing the rubric should never have to guess.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from .budget import Relative, parse_multiple
from .errors import CourseError, read_text

HIDDEN_DIR = Path(__file__).parent / "hidden"
VISIBILITIES = ("visible", "hidden")
PARTIALS = ("all", "proportional")
# part: the criterion grades its own parts (a mistake elsewhere must not cost it points);
# end-to-end: it grades the chapter's parts together, so a mistake in any of them shows here too.
SCOPES = ("part", "end-to-end")
EXPECTS = ("loss", "no_loss")
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


@dataclass(frozen=True)
class Limits:
    """How much a student's code may use. Times in seconds."""

    request_timeout: float = 5.0   # wall clock for one call into student code
    chapter_timeout: float = 60.0  # wall clock for all of a chapter's tests
    # CPU seconds for one training run (chapter 7's final check), or a multiple of the reference's
    # own training on the grading machine (budget.py; the wall clock gets a ceiling above it)
    training_timeout: float | Relative = 60.0
    memory_mb: int = 1024          # address space of the worker
    output_kb: int = 64            # captured stdout/stderr kept for the report


@dataclass(frozen=True)
class Criterion:
    id: str
    title: str
    points: int
    visibility: str = "visible"
    help: str = ""
    depends_on: str | None = None
    partial: str = "all"
    line: int = 0
    parts: tuple[str, ...] = ()   # the student parts it grades ("Layer.forward"), when scope is part
    scope: str = "part"
    note: str = ""                # what an end-to-end criterion tells the student it depends on

    @property
    def end_to_end(self) -> bool:
        return self.scope == "end-to-end"


@dataclass(frozen=True)
class Chapter:
    number: int
    title: str
    file: str
    tests: str
    requires: tuple[int, ...]
    limits: Limits
    criteria: tuple[Criterion, ...]
    line: int = 0

    @property
    def module(self) -> str:
        return Path(self.file).stem

    @property
    def max_score(self) -> int:
        return sum(c.points for c in self.criteria)

    @property
    def tests_path(self) -> Path:
        return HIDDEN_DIR / self.tests

    def criterion(self, criterion_id: str) -> Criterion:
        return next(c for c in self.criteria if c.id == criterion_id)


@dataclass(frozen=True)
class Replacement:
    """One edit of a reference chapter: `old` must occur in it exactly once."""

    old: str
    new: str
    line: int = 0          # where it is written, for error messages


@dataclass(frozen=True)
class Mistake:
    """A known mistake (or, with expect "no_loss", a harmless variant): a small edit of one
    reference chapter, the criteria that must catch it, and what to tell a student who made it."""

    id: str
    chapter: int
    title: str
    replacements: tuple[Replacement, ...]
    expect: str = "loss"                 # "loss": must lose points; "no_loss": must lose nothing
    caught_by: tuple[str, ...] = ()      # exactly the criteria whose checks it fails
    did: str = ""                        # what the student probably did
    why: str = ""                        # why that is wrong (for a variant: why it is fine)
    lesson: str = ""                     # the section of the course guide to read again
    diagnose: bool = True                # the diagnosis is expected to name it
    source: str = ""                     # the file it is written in
    line: int = 0

    @property
    def harmless(self) -> bool:
        return self.expect == "no_loss"


@dataclass(frozen=True)
class Course:
    title: str
    version: str
    seed: int
    limits: Limits
    chapters: tuple[Chapter, ...]
    path: Path
    sha256: str
    reference: Path
    exercises: Path
    fail_under: float | None = None
    roster: dict[str, str] = field(default_factory=dict, compare=False)  # roster CSV header names, by field
    extra: dict[str, Any] = field(default_factory=dict, compare=False)
    mistakes: tuple[Mistake, ...] = field(default=(), compare=False)  # course.yaml's own `mistakes:`

    @property
    def root(self) -> Path:
        return self.path.parent

    @property
    def max_score(self) -> int:
        return sum(ch.max_score for ch in self.chapters)

    def chapter(self, number: int) -> Chapter:
        for chapter in self.chapters:
            if chapter.number == number:
                return chapter
        known = ", ".join(str(ch.number) for ch in self.chapters)
        raise CourseError(f"there is no chapter {number} in {self.path.name} (chapters: {known})")

    def closure(self, number: int) -> tuple[int, ...]:
        """The earlier chapters chapter `number` needs, directly or through another chapter."""
        seen: set[int] = set()
        todo = list(self.chapter(number).requires)
        while todo:
            n = todo.pop()
            if n not in seen:
                seen.add(n)
                todo.extend(self.chapter(n).requires)
        return tuple(sorted(seen))


# --- loading -------------------------------------------------------------------------------

class _Mapping:
    """One YAML mapping being read: each key taken once, unknown keys reported with their line."""

    def __init__(self, node: yaml.Node, where: str, source: str):
        if not isinstance(node, yaml.MappingNode):
            raise _error(source, node, where, "expected a mapping of keys to values")
        self.node, self.where, self.source = node, where, source
        self.entries: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key, value in node.value:
            if key.value in self.entries:
                raise _error(source, key, f"{where}.{key.value}", "this key is given twice")
            self.entries[key.value] = (key, value)
        self.taken: set[str] = set()

    def line(self) -> int:
        return self.node.start_mark.line + 1

    def has(self, key: str) -> bool:
        return key in self.entries

    def node_of(self, key: str) -> yaml.Node:
        return self.entries[key][1] if key in self.entries else self.node

    def take(self, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        self.taken.add(key)
        if key not in self.entries:
            if default is ...:
                raise _error(self.source, self.node, f"{self.where}.{key}", "this key is required")
            return default
        value_node = self.entries[key][1]
        value = _construct(value_node)
        if kind is float and type(value) is int:
            value = float(value)
        if not isinstance(value, kind) or (kind is int and type(value) is bool):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise _error(self.source, value_node, f"{self.where}.{key}",
                         f"expected {names}, got {value!r}")
        return value

    def finish(self) -> None:
        for key in self.entries:
            if key not in self.taken:
                raise _error(self.source, self.entries[key][0], f"{self.where}.{key}", "unknown key")


def _construct(node: yaml.Node) -> Any:
    """The plain Python value of a composed node, as yaml.safe_load would build it."""
    return yaml.constructor.SafeConstructor().construct_object(node, deep=True)


def _error(source: str, node: yaml.Node, where: str, message: str) -> CourseError:
    return CourseError(f"{source}:{node.start_mark.line + 1}: {where}: {message}")


def _positive(fields: _Mapping, key: str, kind: type, default: Any) -> Any:
    value = fields.take(key, kind, default)
    if value is not None and value <= 0:
        raise _error(fields.source, fields.node_of(key), f"{fields.where}.{key}", "must be positive")
    return value


def _non_negative(fields: _Mapping, key: str) -> int:
    value = fields.take(key, int)
    if value < 0:
        raise _error(fields.source, fields.node_of(key), f"{fields.where}.{key}", "must not be negative")
    return value


def _limits(fields: _Mapping | None, base: Limits) -> Limits:
    if fields is None:
        return base
    values: dict[str, Any] = {}
    for name, kind in (("request_timeout", float), ("chapter_timeout", float),
                       ("memory_mb", int), ("output_kb", int)):
        given = fields.node_of(name) if fields.has(name) else None
        if isinstance(given, yaml.ScalarNode) and parse_multiple(given.value) is not None:
            raise _error(fields.source, given, f"{fields.where}.{name}", "only training_timeout can be a "
                         "multiple of the reference's time (the grader times the reference's training only); "
                         "give seconds")
        value = _positive(fields, name, kind, None)
        if value is not None:
            values[name] = value
    training = _training(fields, base.training_timeout)
    if training is not None:
        values["training_timeout"] = training
    fields.finish()
    return replace(base, **values)


def _training(fields: _Mapping, base: float | Relative) -> float | Relative | None:
    """`training_timeout`: seconds of CPU, or `10x` the reference's training time on the grading
    machine; `training_floor`: the seconds a multiple never goes below (inherited with it)."""
    where = f"{fields.where}.training_timeout"
    value = fields.take("training_timeout", (int, float, str), None)
    if isinstance(value, (str, bool)):
        times = parse_multiple(value) if isinstance(value, str) else None
        if times is None:
            raise _error(fields.source, fields.node_of("training_timeout"), where,
                         f"expected seconds or a multiple of the reference's time such as 10x, got {value!r}")
        value = Relative(times, base.floor) if isinstance(base, Relative) else Relative(times)
    if value is not None and (value.times if isinstance(value, Relative) else value) <= 0:
        raise _error(fields.source, fields.node_of("training_timeout"), where, "must be positive")
    floor = _positive(fields, "training_floor", float, None)
    if floor is None:
        return value
    rule = base if value is None else value
    if not isinstance(rule, Relative):
        raise _error(fields.source, fields.node_of("training_floor"), f"{fields.where}.training_floor",
                     "a floor applies only to a training_timeout given as a multiple (such as 10x)")
    return replace(rule, floor=floor)


def _criterion(node: yaml.Node, where: str, source: str) -> Criterion:
    f = _Mapping(node, where, source)
    ident = f.take("id", str)
    if not _ID.match(ident):
        raise _error(source, f.node_of("id"), f"{where}.id",
                     f"{ident!r} is not a valid id (lowercase letters, digits, - and _)")
    criterion = Criterion(
        id=ident,
        title=f.take("title", str),
        points=_non_negative(f, "points"),
        visibility=f.take("visibility", str, "visible"),
        help=f.take("help", str, "").strip(),
        depends_on=f.take("depends_on", str, None),
        partial=f.take("partial", str, "all"),
        line=f.line(),
        parts=_names(f, "parts"),
        scope=f.take("scope", str, "part"),
        note=" ".join(f.take("note", str, "").split()),
    )
    for key, allowed in (("visibility", VISIBILITIES), ("partial", PARTIALS), ("scope", SCOPES)):
        if getattr(criterion, key) not in allowed:
            raise _error(source, f.node_of(key), f"{where}.{key}",
                         f"must be one of {', '.join(allowed)}, not {getattr(criterion, key)!r}")
    if criterion.end_to_end and not criterion.note:
        raise _error(source, f.node, f"{where}.note",
                     "an end-to-end criterion needs a note telling the student what it depends on")
    if criterion.note and not criterion.end_to_end:
        raise _error(source, f.node_of("note"), f"{where}.note", "only an end-to-end criterion has a note")
    f.finish()
    return criterion


def _names(f: _Mapping, key: str) -> tuple[str, ...]:
    """A list of names ("Layer.forward"), each once."""
    names = f.take(key, list, [])
    if not all(isinstance(name, str) and name for name in names) or len(set(names)) != len(names):
        raise _error(f.source, f.node_of(key), f"{f.where}.{key}", "expected a list of distinct names")
    return tuple(names)


def _chapter(node: yaml.Node, where: str, source: str, limits: Limits) -> Chapter:
    f = _Mapping(node, where, source)
    number = _positive(f, "number", int, ...)
    criteria_node = f.node_of("criteria")
    f.take("criteria", list)
    criteria = tuple(_criterion(n, f"{where}.criteria[{i}]", source)
                     for i, n in enumerate(criteria_node.value))
    if not criteria:
        raise _error(source, criteria_node, f"{where}.criteria", "a chapter needs at least one criterion")
    limits_fields = _Mapping(f.node_of("limits"), f"{where}.limits", source) if f.has("limits") else None
    f.taken.add("limits")
    chapter = Chapter(
        number=number,
        title=f.take("title", str),
        file=f.take("file", str),
        tests=f.take("tests", str),
        requires=tuple(f.take("requires", list, [])),
        limits=_limits(limits_fields, limits),
        criteria=criteria,
        line=f.line(),
    )
    f.finish()
    ids = [c.id for c in criteria]
    for c, c_node in zip(criteria, criteria_node.value):
        if ids.count(c.id) > 1:
            raise _error(source, c_node, f"{where}.criteria", f"the id {c.id!r} is used twice")
        if c.depends_on is not None and c.depends_on not in ids[: ids.index(c.id)]:
            raise _error(source, c_node, f"{where}.criteria.{c.id}.depends_on",
                         f"{c.depends_on!r} is not an earlier criterion of this chapter")
    if not (HIDDEN_DIR / chapter.tests).is_file():
        raise _error(source, f.node_of("tests"), f"{where}.tests",
                     f"no hidden test module {chapter.tests!r} in {HIDDEN_DIR}")
    return chapter


# --- mistakes: course.yaml's `mistakes:` and the grader's bank share this format -------------

def _text(f: _Mapping, key: str, required: bool = True) -> str:
    value = f.take(key, str, ... if required else "").strip()
    if required and not value:
        raise _error(f.source, f.node_of(key), f"{f.where}.{key}", "must not be empty")
    return value


def _replacements(f: _Mapping) -> tuple[Replacement, ...]:
    if f.has("replace") == f.has("patch"):
        raise _error(f.source, f.node, f.where,
                     "give either `replace` (old and new text) or `patch` (a unified diff)")
    if f.has("patch"):
        node = f.node_of("patch")
        return _patch(f.take("patch", str), f.source, node, f"{f.where}.patch")
    node = f.node_of("replace")
    f.take("replace", (dict, list))
    listed = isinstance(node, yaml.SequenceNode)
    items = node.value if listed else [node]
    if not items:
        raise _error(f.source, node, f"{f.where}.replace", "needs at least one {old, new} pair")
    found = []
    for i, item in enumerate(items):
        where = f"{f.where}.replace" + (f"[{i}]" if listed else "")
        pair = _Mapping(item, where, f.source)
        old, new = pair.take("old", str), pair.take("new", str)
        if not old.strip():
            raise _error(f.source, pair.node_of("old"), f"{where}.old", "must not be empty")
        if old == new:
            raise _error(f.source, pair.node, where, "old and new are the same text")
        pair.finish()
        found.append(Replacement(old, new, pair.line()))
    return tuple(found)


def _patch(text: str, source: str, node: yaml.Node, where: str) -> tuple[Replacement, ...]:
    """A unified diff as replacements: each hunk's old lines (context and -) become its new lines
    (context and +). The @@ line numbers are not used: the old text must occur exactly once,
    which is the stricter test."""
    hunks: list[tuple[list[str], list[str], int]] = []
    first = node.start_mark.line + 2  # a block scalar's text starts on the line after its key
    for offset, line in enumerate(text.splitlines(keepends=True)):
        if line.startswith(("---", "+++", "diff ", "index ", "\\")):
            continue
        if line.startswith("@@"):
            hunks.append(([], [], first + offset))
        elif not hunks:
            raise CourseError(f"{source}:{first + offset}: {where}: expected a hunk header (@@ ... @@)")
        elif line.startswith(" ") or not line.strip():  # editors strip a blank context line's space
            kept = line[1:] if line.startswith(" ") else "\n"
            hunks[-1][0].append(kept)
            hunks[-1][1].append(kept)
        elif line.startswith("-"):
            hunks[-1][0].append(line[1:])
        elif line.startswith("+"):
            hunks[-1][1].append(line[1:])
        else:
            raise CourseError(f"{source}:{first + offset}: {where}: a hunk line must start with ' ', '-' or '+'")
    if not hunks:
        raise _error(source, node, where, "holds no hunk (@@ ... @@)")
    found = []
    for old, new, line in hunks:
        if old == new or not "".join(old).strip():
            raise CourseError(f"{source}:{line}: {where}: a hunk must remove or change some lines")
        found.append(Replacement("".join(old), "".join(new), line))
    return tuple(found)


def _mistake(node: yaml.Node, where: str, source: str, chapters: dict[int, Chapter]) -> Mistake:
    f = _Mapping(node, where, source)
    ident = f.take("id", str)
    if not _ID.match(ident):
        raise _error(source, f.node_of("id"), f"{where}.id",
                     f"{ident!r} is not a valid id (lowercase letters, digits, - and _)")
    number = f.take("chapter", int)
    if number not in chapters:
        raise _error(source, f.node_of("chapter"), f"{where}.chapter",
                     f"there is no chapter {number} (chapters: {', '.join(map(str, chapters))})")
    expect = f.take("expect", str, "loss")
    if expect not in EXPECTS:
        raise _error(source, f.node_of("expect"), f"{where}.expect",
                     f"must be one of {', '.join(EXPECTS)}, not {expect!r}")
    title, replacements = _text(f, "title"), _replacements(f)
    if expect == "no_loss":
        for key in ("caught_by", "did", "lesson", "diagnose"):
            if f.has(key):
                raise _error(source, f.entries[key][0], f"{where}.{key}",
                             "a harmless variant (expect: no_loss) is caught by nothing and never diagnosed")
        mistake = Mistake(ident, number, title, replacements, expect, why=_text(f, "why", required=False),
                          source=source, line=f.line())
        f.finish()
        return mistake
    caught = f.take("caught_by", (str, list))
    caught_by = tuple([caught] if isinstance(caught, str) else caught)
    ids = [c.id for c in chapters[number].criteria]
    problem = ("name at least one criterion" if not caught_by else
               "a criterion is named twice" if len(set(caught_by)) != len(caught_by) else
               next((f"{c!r} is not a criterion of chapter {number}" for c in caught_by if c not in ids), None))
    if problem:
        raise _error(source, f.node_of("caught_by"), f"{where}.caught_by", problem)
    mistake = Mistake(ident, number, title, replacements, expect, caught_by, did=_text(f, "did"),
                      why=_text(f, "why"), lesson=_text(f, "lesson"), diagnose=f.take("diagnose", bool, True),
                      source=source, line=f.line())
    f.finish()
    return mistake


def parse_mistakes(node: yaml.Node, where: str, source: str, chapters: tuple[Chapter, ...]) -> tuple[Mistake, ...]:
    """The entries of a `mistakes:` list, checked against the course's chapters."""
    if not isinstance(node, yaml.SequenceNode):
        raise _error(source, node, where, "expected a list of mistakes")
    by_number = {ch.number: ch for ch in chapters}
    seen: dict[str, Mistake] = {}
    for i, item in enumerate(node.value):
        mistake = _mistake(item, f"{where}[{i}]", source, by_number)
        if mistake.id in seen:
            other = seen[mistake.id]
            raise _error(source, item, f"{where}[{i}].id",
                         f"the id {mistake.id!r} is used twice (also at {other.source}:{other.line})")
        seen[mistake.id] = mistake
    return tuple(seen.values())


def parse_bank(text: str, source: str, chapters: tuple[Chapter, ...]) -> tuple[Mistake, ...]:
    """A mistake bank file (grader/mistakes/bank.yaml): a mapping whose one key, `mistakes`, lists
    entries in the format of course.yaml's `mistakes:`."""
    root = compose(text, source)
    if root is None:
        return ()
    fields = _Mapping(root, "bank", source)
    node = fields.node_of("mistakes")
    fields.take("mistakes", list)
    fields.finish()
    return parse_mistakes(node, "mistakes", source, chapters)


def compose(text: str, source: str) -> yaml.Node | None:
    """The YAML node tree of `text`, which keeps line numbers; a CourseError naming the line."""
    try:
        return yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise CourseError(f"{source}{line}: not valid YAML: {problem}") from None


ROSTER_FIELDS = ("submission", "student_id", "name", "email", "section")


def _roster_columns(f: _Mapping, source: str) -> dict[str, str]:
    """`roster:` maps a roster field to its column's header in the instructor's CSV file."""
    if not f.has("roster"):
        f.taken.add("roster")
        return {}
    fields = _Mapping(f.node_of("roster"), "course.roster", source)
    f.taken.add("roster")
    columns = {name: fields.take(name, str) for name in ROSTER_FIELDS if fields.has(name)}
    fields.finish()
    return columns


def parse_course(text: str, path: Path) -> Course:
    """Build a Course from the text of course.yaml (pure: the path only names things)."""
    source = path.name
    root = compose(text, source)
    if root is None:
        raise CourseError(f"{source}: the file is empty")
    f = _Mapping(root, "course", source)
    limits_fields = _Mapping(f.node_of("limits"), "course.limits", source) if f.has("limits") else None
    f.taken.add("limits")
    limits = _limits(limits_fields, Limits())
    chapters_node = f.node_of("chapters")
    f.take("chapters", list)
    chapters = tuple(_chapter(n, f"chapters[{i}]", source, limits) for i, n in enumerate(chapters_node.value))
    numbers = [ch.number for ch in chapters]
    for ch, node in zip(chapters, chapters_node.value):
        if numbers.count(ch.number) > 1:
            raise _error(source, node, "chapters", f"chapter {ch.number} is defined twice")
        for required in ch.requires:
            if required not in numbers or required >= ch.number:
                raise _error(source, node, f"chapters[{ch.number}].requires",
                             f"{required!r} is not an earlier chapter")
    all_ids = [c.id for ch in chapters for c in ch.criteria]
    for ch, node in zip(chapters, chapters_node.value):
        for c in ch.criteria:
            if all_ids.count(c.id) > 1:
                raise _error(source, node, "chapters", f"the criterion id {c.id!r} is used in two chapters")
    mistakes_node = f.node_of("mistakes") if f.has("mistakes") else None
    f.taken.add("mistakes")
    mistakes = parse_mistakes(mistakes_node, "course.mistakes", source, chapters) if mistakes_node else ()
    course = Course(
        title=f.take("title", str),
        version=str(f.take("version", (str, int, float))),
        seed=f.take("seed", int),
        limits=limits,
        chapters=tuple(sorted(chapters, key=lambda ch: ch.number)),
        path=path,
        sha256=hashlib.sha256(text.encode()).hexdigest(),
        reference=path.parent / f.take("reference", str, "reference"),
        exercises=path.parent / f.take("exercises", str, "exercises"),
        fail_under=f.take("fail_under", (int, float), None),
        roster=_roster_columns(f, source),
        mistakes=mistakes,
    )
    f.finish()
    return course


def load_course(path: Path) -> Course:
    return _parsed(read_text(path, CourseError, str(path)), path.resolve())


@functools.lru_cache(maxsize=4)
def _parsed(text: str, path: Path) -> Course:
    """parse_course, once per text: a warm server parses the course before it forks, and its
    judges, a watch's gradings and a resident judge's reuse it while the file says the same
    (~5 ms of every grading). A course with an error is not kept: it raises again."""
    return parse_course(text, path)


def find_course(start: Path) -> Path:
    """The nearest course.yaml in `start` or one of its parents."""
    for folder in (start, *start.parents):
        candidate = folder / "course.yaml"
        if candidate.is_file():
            return candidate
    raise CourseError(f"no course.yaml in {start} or any folder above it (use --course PATH)")
