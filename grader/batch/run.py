"""run_batch: grade every submission of a class folder into a report folder, each in its own
judge process, locally or on a Dask cluster, skipping what an earlier run already graded."""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from .. import __version__
from ..budget import Calibration, wall_bound
from ..calibration import calibrate, trains
from ..course import Course
from ..errors import GraderError, UsageError
from ..sandbox.tiers import resolve_tier
from ..submission import locate_submission
from .bundle import Bundle, CourseFiles, Job, bundle_of, job_json
from .entries import Collected, Entry, Refusal, Shard, collect_entries, select_shard
from .outputs import ClassFiles, write_class_outputs
from .pool import LocalExecutor, default_jobs
from .progress import Progress
from .records import Outline, StudentRecord
from .roster import Roster
from .store import ResumeKey, Store, complete, key_of
from .unzip import ZipRefused, safe_unzip

# A judge's own time beyond its chapters' limits: starting Python and pytest, probing the
# sandbox, writing the reports. Generous: this limit only catches a judge that is stuck.
MARGIN = 60.0


@dataclass(frozen=True)
class BatchOptions:
    jobs: int | None = None          # local judges at a time (default: this machine's cores)
    resume: bool = True
    shard: Shard | None = None
    scheduler: str | None = None     # a Dask scheduler address: grade there instead of locally
    seed: int | None = None
    sandbox: str = "auto"
    timeout: float | None = None     # wall-clock seconds per submission (default: wall_limit)
    roster: Roster | None = None     # who each submission belongs to: canvas.csv and moodle.csv


@dataclass(frozen=True)
class Staged:
    """A submission ready to grade: its entry, its chapter files, and what was left out of it."""

    entry: Entry
    bundle: Bundle
    notes: tuple[str, ...]
    cost: float                      # its chapters' time limits added up: the slowest go first


@dataclass(frozen=True)
class BatchSummary:
    report_dir: Path
    records: tuple[StudentRecord, ...]
    refusals: tuple[Refusal, ...]
    files: ClassFiles
    seconds: float

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.records)

    @property
    def reused(self) -> int:
        return sum(r.reused for r in self.records)

    @property
    def complete(self) -> bool:
        """Every entry of the folder was graded (none refused, none failed)."""
        return not self.refusals and all(r.status == "graded" for r in self.records)


def wall_limit(course: Course, calibrations: dict[int, Calibration] | None = None) -> float:
    """A judge's chapters' limits added up, training included, plus MARGIN."""
    training = sum(wall_bound(ch.limits.training_timeout, (calibrations or {}).get(ch.number))
                   for ch in course.chapters if trains(ch))
    return sum(ch.limits.chapter_timeout for ch in course.chapters) + training + MARGIN


def stage(entry: Entry, course: Course, scratch: Path) -> Staged | StudentRecord:
    """Unpack (a zip) and locate one submission's chapter files; a refusal becomes its record."""
    notes: tuple[str, ...] = ()
    folder = entry.path
    if entry.kind == "zip":
        try:
            unzipped = safe_unzip(entry.path, scratch / entry.student)
        except ZipRefused as refused:
            return StudentRecord(entry.student, entry.name, "refused", reason=f"{entry.name} {refused.reason}")
        folder, notes = unzipped.folder, unzipped.notes
    try:
        located = locate_submission(folder, course)
    except (GraderError, OSError) as error:
        return StudentRecord(entry.student, entry.name, "refused", reason=f"{entry.name} cannot be read ({error})")
    present = set(located.files) | set(located.problems)
    cost = sum(course.chapter(n).limits.chapter_timeout
               + (wall_bound(course.chapter(n).limits.training_timeout, None) if trains(course.chapter(n)) else 0)
               for n in present)
    return Staged(entry, bundle_of(located, course), notes, cost)


def up_to_date(previous: dict[str, Any] | None, key: ResumeKey, outline: Outline) -> bool:
    return previous is not None and key_of(previous) == key and complete(previous, outline)


def _mismatch(results: dict[str, Any], course: Course, seed: int, outline: Outline) -> str:
    """Why results from a judge cannot be this batch's (a worker with another grader or course)."""
    if results.get("grader_version") != __version__:
        return f"graded by grader {results.get('grader_version')}, not {__version__}"
    if key_of(results) is None or results["course"]["sha256"] != course.sha256 or results["seed"] != seed:
        return "graded with another course.yaml or seed"
    if not complete(results, outline):
        return "the results do not cover every chapter"
    return ""


def accept(answer: dict[str, Any], staged: Staged, store: Store, course: Course, seed: int,
           outline: Outline) -> StudentRecord:
    """Turn a task's answer into the student's record, publishing their reports if graded."""
    student, entry = staged.entry.student, staged.entry.name
    extra = {"notes": staged.notes, "seconds": float(answer.get("seconds") or 0.0), "host": str(answer.get("host", ""))}
    if answer.get("status") != "graded":
        return StudentRecord(student, entry, "error", reason=str(answer.get("reason") or "unknown failure"), **extra)
    try:
        results = json.loads(answer["files"]["results.json"])
        problem = _mismatch(results, course, seed, outline)
    except (KeyError, TypeError, ValueError) as error:
        results, problem = None, f"the judge's results cannot be read ({error})"
    if problem:
        return StudentRecord(student, entry, "error", reason=problem, **extra)
    try:
        store.publish_student(student, answer["files"])
    except ValueError as error:
        return StudentRecord(student, entry, "error", reason=str(error), **extra)
    return StudentRecord(student, entry, "graded", results, **extra)


def _jobs(staged: list[Staged], course_files: CourseFiles, seed: int, options: BatchOptions,
          timeout: float) -> Iterator[dict[str, Any]]:
    for item in staged:
        yield job_json(Job(item.entry.student, item.entry.name, course_files, item.bundle, seed,
                           options.sandbox, timeout))


def _check_apart(submissions: Path, report_dir: Path) -> None:
    """The report folder holds a folder per student: inside the submissions folder it would be
    graded as a student, and a student could be written over the submissions."""
    inside, outside = submissions.resolve(), report_dir.resolve()
    if inside == outside or inside in outside.parents or outside in inside.parents:
        raise UsageError(f"--report-dir {report_dir} and SUBMISSIONS {submissions} must not be inside one another")


def executor(options: BatchOptions, workers: int):
    """Where the judges run: a Dask cluster (connected and checked now, before any grading), or
    this machine."""
    if options.scheduler:
        from .cluster import DaskExecutor   # Dask is imported only when asked for
        return DaskExecutor(options.scheduler)
    return LocalExecutor(workers)


def run_batch(*, course: Course, submissions: Path, report_dir: Path, options: BatchOptions = BatchOptions(),
              progress: Progress | None = None) -> BatchSummary:
    """Grade the class folder `submissions` into `report_dir`."""
    clock = time.monotonic()
    _check_apart(submissions, report_dir)
    if options.roster and options.shard:
        raise UsageError("--roster needs the whole class: a shard would mark every student of the other shards "
                         "missing; give it to `grade merge` when the shards are merged")
    collected = select_shard(collect_entries(submissions), options.shard)
    calibrations: dict[int, Calibration] = {}
    if not options.scheduler:
        tier = resolve_tier(options.sandbox)[0]  # a tier this machine lacks is one error, not one per student
        # Measured here, once, before the judges start: they find it in the cache instead of all
        # timing the reference at once, and the judges' time limit includes the training's.
        calibrations = calibrate(course, [ch.number for ch in course.chapters], tier)
    seed = course.seed if options.seed is None else options.seed
    timeout = options.timeout or wall_limit(course, calibrations)
    outline, course_files = Outline.of(course), CourseFiles.of(course)
    progress = progress or Progress(tty=False)
    workers = options.jobs or default_jobs()
    store = Store(report_dir)
    store.prepare()
    records: list[StudentRecord] = []
    try:
        with executor(options, workers) as judges:
            pending = _stage_all(collected, course, store, seed, options.resume, outline, records, progress)
            ordered = sorted(pending.values(), key=lambda s: (-s.cost, s.entry.student))
            for answer in judges.run(_jobs(ordered, course_files, seed, options, timeout)):
                record = accept(answer, pending[answer["student"]], store, course, seed, outline)
                records.append(record)
                progress.add(record)
        run = {"shard": str(options.shard) if options.shard else None,
               "executor": f"dask {options.scheduler}" if options.scheduler else "local",
               "jobs": None if options.scheduler else workers, "timeout_seconds": timeout,
               "wall_seconds": round(time.monotonic() - clock, 3)}
        refusals = [(r.name, r.reason) for r in collected.refusals]
        files = write_class_outputs(store, outline=outline, grader_version=__version__, seed=seed,
                                    records=records, refusals=refusals, run=run, roster=options.roster)
        progress.finish()
    finally:
        progress.stop()
        store.finish()
    return BatchSummary(report_dir, tuple(sorted(records, key=lambda r: r.student)), collected.refusals, files,
                        round(time.monotonic() - clock, 3))


def _stage_all(collected: Collected, course: Course, store: Store, seed: int, resume: bool, outline: Outline,
               records: list[StudentRecord], progress: Progress) -> dict[str, Staged]:
    """Stage every entry; what is refused or still graded from an earlier run is recorded now,
    the rest is returned to be graded."""
    progress.start(len(collected.entries) + len(collected.refusals))
    for refusal in collected.refusals:
        progress.add(StudentRecord(refusal.name, refusal.name, "refused", reason=refusal.reason))
    pending: dict[str, Staged] = {}
    # Unpacked zips live in the report folder's staging area: a killed run's are cleared by the next.
    with tempfile.TemporaryDirectory(prefix="unzipped-", dir=store.staging()) as scratch:
        for entry in collected.entries:
            staged = stage(entry, course, Path(scratch))
            if isinstance(staged, StudentRecord):
                records.append(staged)
                progress.add(staged)
                continue
            previous = store.results(entry.student) if resume else None
            if up_to_date(previous, ResumeKey(staged.bundle.sha256, course.sha256, __version__, seed), outline):
                record = StudentRecord(entry.student, entry.name, "graded", previous, notes=staged.notes, reused=True)
                records.append(record)
                progress.add(record)
                continue
            pending[entry.student] = staged
    return pending
