"""The diagnosis's rates for the self-test: how often it names the right mistake on the hand bank and
on the held-out half of the generated bank (grader/mistakes/measure.py), and the check that it never
names a wrong one. The measurement replays the instructor's code in this process, as a grading's
diagnosis does, and leaves complete rows in the user's cache for the gradings that follow."""

from __future__ import annotations

from dataclasses import replace

from ..course import Course
from ..mistakes.bank import Bank
from ..mistakes.generated import generate_bank
from ..mistakes.measure import Rates, measure
from .verdict import Check, Verdict


def diagnosis_rates(course: Course, bank: Bank) -> tuple[Rates, ...]:
    """(hand bank, held-out generated mutants)."""
    return tuple(measure(course, bank, generate_bank(course)))


def with_diagnosis_check(verdict: Verdict, rates: tuple[Rates, ...]) -> Verdict:
    """`verdict` with the check that no measured diagnosis names a wrong mistake."""
    problems = tuple(f"{r.name}: {row.id} is named {', '.join(row.said)}, but it is {' or '.join(row.expected)}"
                     for r in rates for row in r.rows if row.verdict == "wrong")
    claim = ("the diagnosis names no wrong mistake, on the hand bank and on the held-out half of the generated "
             "bank (" + "; ".join(f"{r.name}: {r.count('right')} of {len(r.rows)} right" for r in rates) + ")")
    return replace(verdict, checks=verdict.checks + (Check(claim, problems),))
