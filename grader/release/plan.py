"""Which gradings record the oracle, and then verify the release (pure).

The same gradings do both: each is run once in this tree, with the reference answering live and
every answer kept, and once in the written release, answering from the oracle; the two must
agree criterion by criterion. All are integrated, as every grading in a release is. The more
ways of failing they cover, the more of a student's paths through the hidden tests the oracle
has answers for: the reference, the starters, every entry of the mistake bank (in its chapter
and the next one that imports it, as the self-test grades them), and any extra submissions. Extra submissions given to check only are graded both ways but
add nothing to the oracle: they prove it covers students it was not recorded from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

from ..course import Course
from ..mistakes import Bank
from ..selftest.plan import final_chapter, neighbour


@dataclass(frozen=True)
class Grading:
    name: str
    chapters: tuple[int, ...]
    base: str                                       # reference | exercises | folder
    folder: Path | None = None                      # base "folder": a submission used as it is
    files: Mapping[str, str] = field(default_factory=dict)  # chapter file -> source replacing the base's
    record: bool = True                             # False: only verified (proves the oracle covers it)


@dataclass(frozen=True)
class Extra:
    """A submission folder given with --also, and whether its final chapter differs from the
    reference's (only then is the final project, which trains for seconds, graded too)."""

    name: str
    folder: Path
    final_differs: bool
    record: bool = True


def plan_gradings(course: Course, bank: Bank | None, extras: Sequence[Extra] = ()) -> tuple[Grading, ...]:
    everything = tuple(ch.number for ch in course.chapters)
    last = final_chapter(course)
    before_last = tuple(n for n in everything if n != last)
    plan = [Grading("reference", everything, "reference"), Grading("starters", everything, "exercises")]
    for mistake in bank.mistakes if bank else ():
        chapters = (last,) if mistake.chapter == last else \
            tuple(sorted({mistake.chapter, neighbour(course, mistake.chapter)}))
        plan.append(Grading(f"bank: {mistake.id}", chapters, "reference",
                            files={course.chapter(mistake.chapter).file: bank.sources[mistake.id]}))
    for extra in extras:
        plan.append(Grading(f"{'also' if extra.record else 'check'}: {extra.name}",
                            everything if extra.final_differs else before_last, "folder", folder=extra.folder,
                            record=extra.record))
    # Those that train go first, so that the last few running together finish together.
    return tuple(sorted(plan, key=lambda g: last not in g.chapters or g.base == "exercises"))
