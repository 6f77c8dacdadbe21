"""Replayed rows, kept between gradings: how each candidate mistake (a hand-bank entry or a
generated mutant) ends the replayable hidden tests of a chapter, test by test, in order.

A replay runs the instructor's code on inputs that depend only on the course seed and the test's
id (grader/diagnosis.py), and a relative oracle's "the student's own lower parts" are, in a
replay, the candidate's own. So a candidate's row is the same for every student whose run left
the same replayable tests in the same order; it is computed once and looked up afterwards.

A row is a prefix: the signatures of the first k tests of the sequence, as far as some grading
needed them (a replay that already differs from a student stops there). A prefix is exact
whatever the student: a test's ending depends only on the tests before it. A longer row is
computed only when a student's endings agree with the whole stored prefix, which is rare.

Nothing here can make a name wrong: a row is keyed by everything a replay depends on (the sha256
of the grader's code, hidden tests included, of course.yaml, concepts.yaml, the bank and the
reference chapters, the seed, the interpreter, and the exact sequence of tests), and a timeout,
which depends on the machine's load rather than on the code, is never stored: a row ends just
before it. The environment the self-test sets for training (GRADE_SELFTEST_TRAINING) is not in the
key: only the `trained` fixture reads it, and a test that takes that fixture is never replayed.

The file lives in the user's cache folder (beside calibration.py's), never in the course folder: a
student's grading writes nothing there. It is updated under a lock, merging rows so that the
judges of a batch extend one another's work; when the folder cannot be written, rows are computed
for the grading at hand and forgotten.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Mapping

from ..calibration import cache_dir
from ..course import Course
from ..scorecard import write_atomically

METHOD = 1                  # bump when the meaning of a row changes: old files are then ignored
Signature = tuple           # as grader/diagnosis.py's `signature`
Row = tuple[Signature, ...]
GRADER = Path(__file__).resolve().parent.parent   # the grader package: its code makes the signatures
TIMEOUT = "timeout"


@dataclass(frozen=True)
class Sequence:
    """The replayable tests of one chapter, in the order a grading ran them, under one course key."""

    course_key: str
    chapter: int
    nodeids: tuple[str, ...]

    @property
    def key(self) -> str:
        text = json.dumps([METHOD, self.course_key, self.chapter, list(self.nodeids)])
        return hashlib.sha256(text.encode()).hexdigest()


def course_key(course: Course, seed: int) -> str:
    """sha256 of everything a replay's endings depend on but the tests' order (see the module's
    docstring)."""
    hasher = hashlib.sha256(f"{METHOD} {platform.python_version()} seed {seed}\n".encode())
    files = [course.path, course.root / "concepts.yaml", *sorted(course.reference.glob("*.py")),
             *sorted(GRADER.rglob("*.py")), *sorted(GRADER.rglob("*.yaml"))]
    for path in files:
        hasher.update(str(path.name).encode() + b"\0")
        with contextlib.suppress(OSError):
            hasher.update(hashlib.sha256(path.read_bytes()).digest())
    return hasher.hexdigest()


@dataclass
class Rows:
    """The stored rows of one Sequence, and those computed since they were read (mutable: a
    grading adds to it, then `save` merges the additions into the file)."""

    sequence: Sequence
    path: Path | None                      # None: no usable cache folder
    stored: dict[str, Row] = field(default_factory=dict)
    added: dict[str, Row] = field(default_factory=dict)

    def get(self, ident: str) -> Row:
        return self.added.get(ident) or self.stored.get(ident, ())

    def put(self, ident: str, endings: list[Signature]) -> None:
        """Keep a computed row, up to its first timeout (exclusive)."""
        row = _until_timeout(endings)
        if len(row) > len(self.get(ident)):
            self.added[ident] = row

    def complete(self, row: Row) -> bool:
        return len(row) == len(self.sequence.nodeids)


def _until_timeout(endings: list[Signature]) -> Row:
    for index, ending in enumerate(endings):
        if ending[0] == TIMEOUT:
            return tuple(endings[:index])
    return tuple(endings)


def open_rows(sequence: Sequence) -> Rows:
    """The rows stored for `sequence` (none when there is no file yet, or it is unreadable)."""
    folder = usable_cache_dir()
    if folder is None:
        return Rows(sequence, None)
    path = folder / f"diagnosis-{sequence.key[:32]}.json"
    return Rows(sequence, path, _read(path, sequence))


def usable_cache_dir() -> Path | None:
    """The user's cache folder, created if need be; None where there is none to write (no home
    folder, a read-only one): then nothing is kept, and nothing fails."""
    try:
        folder = cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
    except (OSError, RuntimeError, KeyError):
        return None
    return folder


def _read(path: Path, sequence: Sequence) -> dict[str, Row]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data["key"] != sequence.key:
            return {}
        return {ident: tuple(tuple(ending) for ending in row) for ident, row in data["rows"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}  # absent, or not ours to trust: computed again


def save(rows: Rows) -> None:
    """Merge the rows computed since reading into the file (the longer row of each candidate wins:
    both are prefixes of the same endings)."""
    if rows.path is None or not rows.added:
        return
    with contextlib.suppress(OSError), _locked(rows.path.parent):
        merged = _read(rows.path, rows.sequence)
        for ident, row in rows.added.items():
            if len(row) > len(merged.get(ident, ())):
                merged[ident] = row
        write_atomically(rows.path, json.dumps({"key": rows.sequence.key, "chapter": rows.sequence.chapter,
                                                "tests": list(rows.sequence.nodeids), "rows": merged}) + "\n")
        rows.stored, rows.added = merged, {}


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    with open(folder / "diagnosis.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def differs(row: Row, expected: Row) -> bool:
    """Whether a (prefix) row already ends some test otherwise than `expected`."""
    return any(mine != theirs for mine, theirs in zip(row, expected))


def as_mapping(sequence: Sequence, row: Row) -> Mapping[str, Signature]:
    """nodeid -> ending, for the tests the row covers."""
    return dict(zip(sequence.nodeids, row))
