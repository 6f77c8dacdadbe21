"""Which gradings prove the rubric, decided from the course, its reference and starter files, and
the bank."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from ..course import Course, Mistake
from ..hidden.training import ENTRY_POINTS
from ..mistakes import Bank
from ..mutation.parts import Part, reached_from, reverted, student_parts, trains_alike

REFERENCE, STARTERS, MISTAKE, VARIANT, PART = "reference", "starters", "mistake", "variant", "part"
RECORD, REPLAY, SKIP = "record", "replay", "skip"   # the final chapter's training (grader/hidden/training.py)


@dataclass(frozen=True)
class Run:
    """One `grade` run of the self-test: a submission folder and the chapters to grade."""

    name: str
    kind: str                          # reference | starters | mistake | variant | part
    chapters: tuple[int, ...]
    base: str = "reference"            # the folder the submission starts from: reference | exercises
    files: Mapping[str, str] = field(default_factory=dict)  # chapter file -> source replacing it
    integrated: bool = False
    mistake: str | None = None         # the bank entry it grades
    decoys: tuple[str, ...] = ()       # mistakes in other chapters that must not be noticed
    slow: bool = False                 # grades the final chapter, which trains a network
    parts: tuple[Part, ...] = ()       # the student parts put back to their starter, one per chapter
    training: str = ""                 # record | replay | skip: a stand-in for the final chapter's training
    mutants: tuple[tuple[int, str], ...] = ()   # (chapter, mutant id) it grades (grader/selftest/mutants.py)

    @property
    def copies(self) -> bool:
        return bool(self.files)


def final_chapter(course: Course) -> int:
    """The final project: the one chapter whose grading trains a network (about ten seconds)."""
    return max(ch.number for ch in course.chapters)


def neighbour(course: Course, number: int) -> int:
    """A second chapter to grade beside a mistake in chapter `number`, to show it costs nothing
    there: the first chapter that imports `number` (the one that would see the mistake if
    isolation failed), or else the nearest one; never the final project, whose own runs carry
    decoys in every earlier chapter instead (see `plan_runs`)."""
    last = final_chapter(course)
    others = [ch.number for ch in course.chapters if ch.number not in (number, last)]
    dependents = [ch.number for ch in course.chapters if number in ch.requires and ch.number != last]
    if dependents:
        return dependents[0]
    return min(others, key=lambda n: (abs(n - number), n < number))  # ties: the next chapter


def decoys(course: Course, bank: Bank) -> tuple[Mistake, ...]:
    """The first mistake of each chapter before the final one, planted in the final chapter's runs:
    with chapter isolation the final chapter's grading must not notice any of them."""
    last = final_chapter(course)
    firsts = {}
    for mistake in bank.errors:
        if mistake.chapter != last:
            firsts.setdefault(mistake.chapter, mistake)
    return tuple(firsts[n] for n in sorted(firsts))


def plan_runs(course: Course, bank: Bank) -> tuple[Run, ...]:
    """The reference (isolated and integrated) and the starters in every chapter; each mistake and
    variant in its own chapter plus a neighbour. Slow runs first, so two workers finish together."""
    everything = tuple(ch.number for ch in course.chapters)
    last = final_chapter(course)
    planted = decoys(course, bank)
    # Integrated, the reference's earlier chapters come from the submission, byte for byte the
    # reference's: the training is the recorded one, so it is replayed (its budget is checked in
    # the isolated run; every other chapter-7 check still runs on the integrated chapters).
    runs = [Run("reference", REFERENCE, everything, slow=True, training=RECORD),
            Run("reference --integrated", REFERENCE, everything, integrated=True, training=REPLAY),
            Run("starters", STARTERS, everything, base="exercises", slow=True)]
    for mistake in bank.mistakes:
        kind = VARIANT if mistake.harmless else MISTAKE
        file = course.chapter(mistake.chapter).file
        if mistake.chapter == last:
            files = {course.chapter(d.chapter).file: bank.sources[d.id] for d in planted}
            files[file] = bank.sources[mistake.id]
            # A mistake the training cannot reach replays the reference's recorded training.
            replay = trains_alike((course.reference / file).read_text(encoding="utf-8"), bank.sources[mistake.id],
                                  ENTRY_POINTS)
            runs.append(Run(mistake.id, kind, (last,), files=files, mistake=mistake.id,
                            decoys=tuple(d.id for d in planted), slow=not replay, training=REPLAY if replay else ""))
        else:
            chapters = tuple(sorted((mistake.chapter, neighbour(course, mistake.chapter))))
            runs.append(Run(mistake.id, kind, chapters, files={file: bank.sources[mistake.id]},
                            mistake=mistake.id))
    runs += part_runs(course)
    # Trainings first, so two workers finish together; replays last, after the recording.
    return tuple(sorted(runs, key=lambda run: (run.training == REPLAY, not run.slow)))


def replayable(course: Course, part: Part) -> bool:
    """Whether changing only `part` cannot change the final chapter's training: it is a part of the
    final chapter that the training's entry points cannot reach."""
    if part.chapter != final_chapter(course):
        return False
    reference = (course.reference / part.file).read_text(encoding="utf-8")
    return part.name not in reached_from(reference, ENTRY_POINTS)


def part_runs(course: Course) -> list[Run]:
    """Every student part put back to its starter's version, in rounds: round k grades the k-th
    part of each chapter in one `grade chapter ...` run. Each chapter is graded with the
    reference's earlier chapters (the verdict checks it), so a chapter's loss is its own part's
    and no part reaches another chapter. None of them trains: the final chapter's parts either
    leave the training alone (it is replayed) or are part of it and raise NotImplementedError."""
    by_chapter: dict[int, list[Part]] = {}
    for part in student_parts(course):
        by_chapter.setdefault(part.chapter, []).append(part)
    last = final_chapter(course)
    runs = []
    for k in range(max((len(parts) for parts in by_chapter.values()), default=0)):
        chosen = tuple(parts[k] for _, parts in sorted(by_chapter.items()) if k < len(parts))
        files = {}
        for part in chosen:
            reference = (course.reference / part.file).read_text(encoding="utf-8")
            starter = (course.exercises / part.file).read_text(encoding="utf-8")
            files[part.file] = reverted(reference, starter, part.name)
        final = next((part for part in chosen if part.chapter == last), None)
        runs.append(Run(f"starter parts, round {k + 1}", PART, tuple(part.chapter for part in chosen), files=files,
                        parts=chosen, training=REPLAY if final and replayable(course, final) else ""))
    return runs
