"""GitHub Actions workflow commands: an `::error` annotation per criterion that did not pass,
pointing at the line of the student's chapter file where the failing call raised (or at the
file when nothing raised), and a `::notice` with the total."""

from __future__ import annotations

import os
from pathlib import Path, PurePath

from ..scorecard import Scorecard
from ..scoring import ChapterResult, CriterionResult
from .text import diagnoses, misconception_line, one_line, printable, score_text


def _data(text: str) -> str:
    # The escaping of GitHub's own toolkit (@actions/core): a newline in a message must not
    # start a new command, which is what a student's text could otherwise do.
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def command(level: str, message: str, **properties: object) -> str:
    props = ",".join(f"{key}={_property(str(value))}" for key, value in properties.items() if value is not None)
    return f"::{level}{' ' + props if props else ''}::{_data(message)}"


def annotation_path(submission: str, name: str, cwd: Path) -> str:
    """The student's file as GitHub wants it: relative to the working directory (the checkout)
    when it lies inside it, absolute otherwise."""
    path = Path(submission) / PurePath(name).name   # only ever a file in the submission folder
    try:
        return path.resolve().relative_to(cwd.resolve()).as_posix()
    except ValueError:
        return os.path.abspath(path)


def _message(c: CriterionResult) -> str:
    parts = [printable(c.message) or c.status]
    if c.visibility == "visible" and c.call:
        parts.append(f"call: {printable(c.call)}")
    if c.visibility == "visible" and c.expected is not None:
        parts.append(f"expected: {printable(c.expected)}, got: {printable(c.actual or '')}")
    if c.help:
        parts.append(f"hint: {c.help}")
    lines = [one_line(part, 400) for part in parts]
    return "\n".join(lines + [misconception_line(d, 600) for d in diagnoses(c)])


def _chapter(card: Scorecard, chapter: ChapterResult, cwd: Path) -> list[str]:
    title = f"Chapter {chapter.number}"
    if chapter.status == "missing":
        return [command("error", printable(chapter.run.note), title=f"{title}: not graded")]
    path = annotation_path(card.submission_path, chapter.file, cwd)
    if chapter.status != "graded":
        return [command("error", printable(chapter.run.note), file=path, title=f"{title}: not graded")]
    lines = []
    for c in chapter.criteria:
        if c.status in ("passed", "skipped"):  # skipped ones follow from a gate annotated already
            continue
        where = c.location if isinstance(c.location, dict) else {}
        line = where.get("line") if isinstance(where.get("line"), int) else None
        file = annotation_path(card.submission_path, str(where["file"]), cwd) if where.get("file") else path
        lines.append(command("error", _message(c), file=file, line=line,
                             title=f"{title}: {one_line(c.title, 120)} ({score_text(c.score)}/{c.max_score})"))
    return lines


def annotations(card: Scorecard, *, cwd: Path) -> list[str]:
    lines = [line for chapter in card.chapters for line in _chapter(card, chapter, cwd)]
    lines.append(command("notice", f"{score_text(card.score)}/{card.max_score} points",
                         title=one_line(card.course_title, 120)))
    return lines
