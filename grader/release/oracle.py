"""The oracle of a student release: the reference's recorded answers to the hidden tests'
questions (numbers and lists, under hashed keys), the names of the reference's functions and
classes per chapter, and what it was recorded for. No code: a JSON file of data.

A course folder with `oracle/oracle.json` next to its course.yaml is a student release."""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from ..course import HIDDEN_DIR, Course
from ..errors import CourseError
from .values import dumps

FORMAT = 1
ORACLE_DIR = "oracle"
ORACLE_FILE = "oracle.json"


@dataclass(frozen=True)
class Oracle:
    seed: int
    hidden_tests: str                              # sha256 of the hidden tests it was recorded with
    names: Mapping[int, Mapping[str, int | None]]  # chapter -> reference function/class -> home chapter
    answers: Mapping[str, Any]                     # question key -> tagged JSON answer
    course: str = ""                               # title and version, for messages
    grader_version: str = ""


def oracle_path(course: Course) -> Path:
    return course.root / ORACLE_DIR / ORACLE_FILE


def is_release(course: Course) -> bool:
    return oracle_path(course).is_file()


def hidden_tests_digest(folder: Path = HIDDEN_DIR) -> str:
    """What the recorded questions depend on: the hidden test modules, byte for byte (but for line
    endings, which a checkout on Windows may change)."""
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes().replace(b"\r\n", b"\n") + b"\0")
    return digest.hexdigest()


def oracle_json(oracle: Oracle) -> str:
    return dumps({"format": FORMAT, "course": oracle.course, "grader_version": oracle.grader_version,
                  "seed": oracle.seed, "hidden_tests": oracle.hidden_tests,
                  "names": {str(n): dict(sorted(v.items())) for n, v in sorted(oracle.names.items())},
                  "answers": dict(sorted(oracle.answers.items()))}) + "\n"


@functools.lru_cache(maxsize=4)
def _load(path: Path, stamp: tuple[int, int]) -> Oracle:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT:
            raise CourseError(f"{path}: recorded answers of format {data.get('format')!r}; this grader reads "
                              f"format {FORMAT}")
        return Oracle(seed=data["seed"], hidden_tests=data["hidden_tests"],
                      names={int(n): names for n, names in data["names"].items()}, answers=data["answers"],
                      course=data.get("course", ""), grader_version=data.get("grader_version", ""))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise CourseError(f"{path}: the recorded answers cannot be read ({type(error).__name__}: {error})") from None


def load_oracle(course: Course) -> Oracle:
    path = oracle_path(course)
    status = path.stat()
    return _load(path, (status.st_mtime_ns, status.st_size))
