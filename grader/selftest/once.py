"""A mistake costs its points once (pure): a mistake in one student part may cost points only in
the criteria course.yaml says grade that part (`parts:`) and in the chapter's end-to-end ones
(`scope: end-to-end`). A criterion about a part that composes others is graded relative to the
student's own lower parts (grader/checks.py: passes_as_own; worker stand-ins), so a slip in
Layer.forward is not charged again by Network.forward's criterion."""

from __future__ import annotations

import ast
from typing import Iterable

from ..course import Chapter, Course
from ..mistakes import Bank
from ..mutation.parts import functions_of, student_parts


def owners(chapter: Chapter, parts: Iterable[str]) -> frozenset[str]:
    """The criteria a mistake in `parts` may cost: theirs and the end-to-end ones."""
    names = set(parts)
    return frozenset(c.id for c in chapter.criteria if c.end_to_end or names & set(c.parts))


def spilled(chapter: Chapter, parts: Iterable[str], lost: Iterable[str]) -> tuple[str, ...]:
    """The criteria in `lost` that a mistake in `parts` should not have cost."""
    allowed = owners(chapter, parts)
    return tuple(c for c in lost if c not in allowed)


def changed_parts(reference: str, source: str, parts: Iterable[str]) -> tuple[str, ...]:
    """The student parts whose code differs between a reference chapter and an edit of it (its
    ast, so comments and spacing do not count). None when the edit cannot be parsed."""
    try:
        before, after = functions_of(ast.parse(reference)), functions_of(ast.parse(source))
    except SyntaxError:
        return ()
    same = lambda name: name in before and name in after and ast.dump(before[name]) == ast.dump(after[name])
    return tuple(name for name in parts if not same(name))


def bank_changes(course: Course, bank: Bank) -> dict[str, tuple[str, ...]]:
    """mistake id -> the student parts its edit changes, each reference chapter read once."""
    inventory = student_parts(course)
    references: dict[int, str] = {}
    changes = {}
    for mistake in bank.errors:
        number = mistake.chapter
        if number not in references:
            references[number] = (course.reference / course.chapter(number).file).read_text(encoding="utf-8")
        names = [p.name for p in inventory if p.chapter == number]
        changes[mistake.id] = changed_parts(references[number], bank.sources[mistake.id], names)
    return changes


def declaration_problems(course: Course) -> tuple[str, ...]:
    """Where course.yaml's `parts:` fall short: a criterion worth points that names no part and is
    not end-to-end, a name that is no student part of its chapter, a part no criterion grades."""
    inventory = student_parts(course)
    problems = []
    for chapter in course.chapters:
        mine = {p.name for p in inventory if p.chapter == chapter.number}
        for c in chapter.criteria:
            if c.points > 0 and not c.parts and not c.end_to_end:
                problems.append(f"{c.id}: worth {c.points} points but names no student part (parts:) "
                                f"and is not declared scope: end-to-end")
            problems += [f"{c.id}: {name} is not a student part of chapter {chapter.number}"
                         for name in c.parts if name not in mine]
        graded = {name for c in chapter.criteria if c.points > 0 for name in c.parts}
        problems += [f"{p.label}: no criterion worth points names it in parts:" for p in inventory
                     if p.chapter == chapter.number and p.name not in graded]
    return tuple(problems)
