"""Loads the mistake bank and applies each entry to its reference chapter."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from ..course import Chapter, Course, Mistake, parse_bank
from ..errors import CourseError

BANK_PATH = Path(__file__).parent / "bank.yaml"


@dataclass(frozen=True)
class Bank:
    """Every known mistake and harmless variant, with the chapter source each one produces."""

    mistakes: tuple[Mistake, ...]
    sources: Mapping[str, str]      # mistake id -> the reference chapter with the mistake in it

    def get(self, mistake_id: str) -> Mistake:
        return next(m for m in self.mistakes if m.id == mistake_id)

    def of_chapter(self, number: int) -> tuple[Mistake, ...]:
        return tuple(m for m in self.mistakes if m.chapter == number)

    @property
    def errors(self) -> tuple[Mistake, ...]:
        return tuple(m for m in self.mistakes if not m.harmless)

    @property
    def variants(self) -> tuple[Mistake, ...]:
        return tuple(m for m in self.mistakes if m.harmless)


def mutate(text: str, mistake: Mistake, file_name: str) -> str:
    """`text` (a reference chapter) with the mistake's edits applied, each of whose old text
    must occur exactly once: an edit that matches nowhere, or twice, is the bank's error."""
    for replacement in mistake.replacements:
        count = text.count(replacement.old)
        if count != 1:
            found = "is not in" if count == 0 else f"occurs {count} times in"
            raise CourseError(f"{mistake.source}:{replacement.line}: mistake {mistake.id!r}: the text to "
                              f"replace {found} {file_name} (it must occur exactly once):\n"
                              f"{_excerpt(replacement.old)}")
        text = text.replace(replacement.old, replacement.new, 1)
    return text


def _excerpt(text: str) -> str:
    lines = text.splitlines()
    shown = "\n".join(f"    | {line}" for line in lines[:6])
    return shown + (f"\n    | ... ({len(lines) - 6} more lines)" if len(lines) > 6 else "")


_parse_bank = functools.lru_cache(maxsize=8)(parse_bank)  # the same file, read again per grading run


def _display(path: Path) -> str:
    """The bank's path as error messages show it: relative to the grader's own folder."""
    try:
        return str(path.resolve().relative_to(Path(__file__).resolve().parents[2]))
    except ValueError:
        return str(path)


def load_bank(course: Course, path: Path = BANK_PATH) -> Bank:
    """The bank file's entries, then course.yaml's, each applied to its reference chapter."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise CourseError(f"{path}: the mistake bank cannot be read ({error})") from None
    builtin = _parse_bank(text, _display(path), course.chapters)
    taken = {m.id: m for m in builtin}
    for mistake in course.mistakes:
        if mistake.id in taken:
            other = taken[mistake.id]
            raise CourseError(f"{mistake.source}:{mistake.line}: mistake {mistake.id!r} is already defined "
                              f"at {other.source}:{other.line}")
    mistakes = builtin + course.mistakes
    references = {ch.number: _reference(course, ch) for ch in course.chapters
                  if any(m.chapter == ch.number for m in mistakes)}
    sources = {m.id: mutate(references[m.chapter], m, f"{course.reference.name}/{course.chapter(m.chapter).file}")
               for m in mistakes}
    return Bank(mistakes, sources)


def _reference(course: Course, chapter: Chapter) -> str:
    path = course.reference / chapter.file
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise CourseError(f"{path}: the reference chapter cannot be read ({error})") from None


def fingerprint(bank: Bank) -> str:
    """A short hash of every mutated source: the self-test report says which bank it proved."""
    digest = hashlib.sha256()
    for mistake in bank.mistakes:
        digest.update(mistake.id.encode() + b"\0" + bank.sources[mistake.id].encode() + b"\0")
    return digest.hexdigest()[:16]
