"""What running the hidden tests produced, before any scoring: one TestOutcome per test and one
ChapterRun per chapter."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

STATUSES = ("passed", "failed", "error", "timeout", "skipped")
# How an outcome begins when the grader itself, not the student's code, could not check something.
GRADER_FAULT = "the grader could not check this"
# The key under which a test records that a composing part passed only relative to the student's
# own lower parts (grader/checks.py: expect_own); the scorecard shows it as a note.
RELATIVE = "relative"


@dataclass(frozen=True)
class Diagnosis:
    """A known mistake that reproduces a student's failure exactly (see grader/diagnosis.py)."""

    mistake: str        # its id in the mistake bank
    title: str
    did: str            # what the student probably did
    why: str            # why that is wrong
    lesson: str         # the section of the course guide to read again
    guide: str = ""     # the guide's path, relative to the course


@dataclass(frozen=True)
class TestOutcome:
    __test__ = False  # not a pytest test class, despite the name

    nodeid: str
    chapter: int
    criterion: str
    status: str
    message: str = ""
    call: str = ""
    expected: str | None = None
    actual: str | None = None
    location: dict | None = None   # {"file", "line", "function", "code"} in the student's file
    duration: float = 0.0
    data: dict[str, list[Any]] = field(default_factory=dict)  # recorded by the test, per key
    diagnosis: tuple[Diagnosis, ...] = ()  # the known mistakes that explain its criterion's failures


@dataclass(frozen=True)
class ChapterRun:
    """How a chapter's run went as a whole."""

    number: int
    status: str                    # graded | missing | error
    note: str = ""
    stdout: str = ""
    stderr: str = ""
    output_truncated: bool = False
    restarts: int = 0
    duration: float = 0.0
    files: dict[str, str] = field(default_factory=dict)  # file name -> "student" | "reference"
    training_cpu: float | None = None  # CPU seconds of the student's training, when the tests trained
