"""The class roster: which student each submission belongs to, read from the CSV file an LMS or
a registrar gives (`grade batch --roster ROSTER.csv`).

Its columns are `submission, student_id, name, email, section` (section may be left out); a
course whose roster names them otherwise says so in course.yaml:

    roster:
      submission: Folder
      student_id: SIS User ID
      email: Email address

A submission is the name `grade batch` gives an entry of the class folder: a folder's name, or a
.zip's name without `.zip`; it is matched regardless of case, as the class folder is.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

from ..course import ROSTER_FIELDS
from ..errors import UsageError, read_text

FIELDS = ROSTER_FIELDS
REQUIRED = ("submission", "student_id", "name", "email")


@dataclass(frozen=True)
class Student:
    submission: str
    student_id: str
    name: str
    email: str
    section: str = ""


@dataclass(frozen=True)
class Roster:
    source: str
    students: tuple[Student, ...]      # in the roster's order

    def by_submission(self) -> dict[str, Student]:
        return {s.submission.casefold(): s for s in self.students}


@dataclass(frozen=True)
class Matched:
    """The class folder against the roster."""

    source: str                                         # the roster file
    students: tuple[tuple[Student, str | None], ...]   # roster order: each student and their submission's name
    unmatched: tuple[str, ...]                          # submissions of nobody on the roster, sorted

    @property
    def missing(self) -> tuple[Student, ...]:
        return tuple(student for student, name in self.students if name is None)


def header_names(columns: Mapping[str, str]) -> dict[str, str]:
    """field -> the header it has in the file: the default name unless course.yaml renames it."""
    return {field: columns.get(field, field) for field in FIELDS}


def parse_roster(text: str, source: str, columns: Mapping[str, str] | None = None) -> Roster:
    """Read the roster CSV `text` (pure); a UsageError names the file, line and column at fault."""
    names = header_names(columns or {})
    rows = csv.reader(io.StringIO(text.lstrip("\ufeff")))   # a spreadsheet's byte-order mark is not a name
    header = [cell.strip() for cell in next(rows, [])]
    if not any(header):
        raise UsageError(f"{source}: the roster is empty; its first line must name the columns "
                         f"{', '.join(names[f] for f in FIELDS)}")
    where: dict[str, int] = {}
    for field in FIELDS:
        if names[field] in header:
            where[field] = header.index(names[field])
        elif field in REQUIRED:
            raise UsageError(f"{source}: line 1 has no column {names[field]!r} (it has {', '.join(map(repr, header))}); "
                             f"name the columns in course.yaml under `roster:` if they differ")
    students: list[Student] = []
    seen: dict[str, dict[str, int]] = {"submission": {}, "student_id": {}}
    for line, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        values = {field: (row[i].strip() if i < len(row) else "") for field, i in where.items()}
        for field in ("submission", "student_id"):
            value = values[field]
            if not value:
                raise UsageError(f"{source}: line {line}: the {names[field]!r} cell is empty")
            key = value.casefold() if field == "submission" else value
            if key in seen[field]:
                raise UsageError(f"{source}: line {line}: {names[field]} {value!r} is also on line {seen[field][key]}")
            seen[field][key] = line
        students.append(Student(**values))
    return Roster(source, tuple(students))


def load_roster(path: Path, columns: Mapping[str, str] | None = None) -> Roster:
    return parse_roster(read_text(path, UsageError, f"--roster {path}"), str(path), columns)


def match(roster: Roster, submissions: Iterable[str]) -> Matched:
    names = {name.casefold(): name for name in submissions}
    rostered = roster.by_submission()
    return Matched(roster.source, tuple((s, names.get(s.submission.casefold())) for s in roster.students),
                   tuple(sorted(name for key, name in names.items() if key not in rostered)))
