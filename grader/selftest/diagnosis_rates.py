"""The diagnosis's rates for the self-test: how often it names the right mistake on the hand bank and
on the held-out half of the generated bank (grader/mistakes/measure.py), and the check that it never
names a wrong one. The measurement replays the instructor's code in this process, as a grading's
diagnosis does, and leaves complete rows in the user's cache for the gradings that follow."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from dataclasses import replace
from typing import Iterator

from ..course import Course
from ..mistakes.bank import Bank
from ..mistakes.generated import generate_bank
from ..mistakes.measure import Rates, measure
from .verdict import Check, Verdict


# Replaying every candidate takes about a minute and a half of CPU the first time on a machine.
# A process of its own does it while the gradings run, leaving the rows in the user's cache
# folder (grader/mistakes/rows.py); the measurement afterwards then only looks them up. It is an
# optimisation only: when that process fails, or nothing can be kept, the measurement replays
# whatever it does not find.
_WARM = ("import sys; from pathlib import Path; from grader.course import load_course; "
         "from grader.mistakes.measure import warm_rows; warm_rows(load_course(Path(sys.argv[1])))")


@contextlib.contextmanager
def replays_meanwhile(course: Course, package_root: str) -> Iterator[subprocess.Popen | None]:
    """Replay every candidate of the course in a background process while the block runs (which
    waits for it through `diagnosis_rates`); stopped if the block fails or is interrupted."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))}
    try:
        process = subprocess.Popen([sys.executable, "-c", _WARM, str(course.path)], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:
        process = None
    try:
        yield process
    except BaseException:
        if process is not None:
            process.kill()
            process.wait()
        raise


def diagnosis_rates(course: Course, bank: Bank, replaying: subprocess.Popen | None = None) -> tuple[Rates, ...]:
    """(hand bank, held-out generated mutants), once the background replays are done."""
    if replaying is not None:
        replaying.wait()
    return tuple(measure(course, bank, generate_bank(course)))


def with_diagnosis_check(verdict: Verdict, rates: tuple[Rates, ...]) -> Verdict:
    """`verdict` with the check that no measured diagnosis names a wrong mistake."""
    problems = tuple(f"{r.name}: {row.id} is named {', '.join(row.said)}, but it is {' or '.join(row.expected)}"
                     for r in rates for row in r.rows if row.verdict == "wrong")
    claim = ("the diagnosis names no wrong mistake, on the hand bank and on the held-out half of the generated "
             "bank (" + "; ".join(f"{r.name}: {r.count('right')} of {len(r.rows)} right" for r in rates) + ")")
    return replace(verdict, checks=verdict.checks + (Check(claim, problems),))
