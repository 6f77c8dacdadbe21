"""Calibration: how much CPU time the reference's own training takes on this machine, measured
once per machine, course, reference, hidden tests, interpreter and sandbox tier, and cached.

The measurement is made the way a student's training is: the reference chapter is imported in a
sandboxed worker of the same tier, the hidden tests' own `train` runs in it, and the judge reads
the worker's CPU time from /proc. Chapter 7's 500 epochs take seconds, so a tenth of them is
timed three times and the median scaled up (every epoch is the same work: 50 epochs take a tenth
of 500 to within a few percent).

A course folder without its reference (a student release) carries `reference-time.json` instead:
the reference's training time in units of a yardstick, a fixed pure-Python workload timed beside
it where the release was made. Here the yardstick is timed again, and the product is the estimate.

The cache lives in the user's cache folder ($XDG_CACHE_HOME, else ~/.cache, then mlp-grader/),
not next to course.yaml: a batch judge grades from a temporary copy of the course, a Dask worker
is another machine, and a measurement is worth nothing on another machine, so it must not be
committed or copied with the course. The key says everything the figure depends on; a change of
any of them is a new key, hence a new measurement.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib
import json
import os
import platform
import random
import shutil
import statistics
import tempfile
import time
import warnings
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from .budget import WALL_FACTOR, Calibration, Relative, TrainingBudget
from .course import Chapter, Course
from .errors import CourseError, GraderError
from .remote import Session, StudentFault, StudentModule
from .sandbox.channel import WorkerSpec
from .sandbox.tiers import PYTHON
from .scorecard import write_atomically

METHOD = 1            # bump when the way of measuring changes: old figures are then not reused
SAMPLES = 3           # timed runs, of which the median counts
SAMPLE_SHARE = 10     # each timed run does 1/SAMPLE_SHARE of the hidden tests' epochs
SAMPLE_CPU_LIMIT = 300.0  # a timed run of the reference that takes longer is a broken reference
REFERENCE_TIME = "reference-time.json"  # next to course.yaml when the reference is not
YARDSTICK = 1         # the yardstick's version: a ratio to another yardstick is worthless


# --- the key: what a figure depends on --------------------------------------------------------

def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def machine_description() -> str:
    return f"{platform.node()} · {_cpu_model()} · {os.cpu_count()} cores"


def _digest(paths: list[Path]) -> str:
    hasher = hashlib.sha256()
    for path in paths:
        hasher.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return hasher.hexdigest()


def reference_files(course: Course, chapter: Chapter) -> list[Path]:
    return [course.reference / course.chapter(n).file for n in (*course.closure(chapter.number), chapter.number)]


def _has_reference(course: Course, chapter: Chapter) -> bool:
    return all(path.is_file() for path in reference_files(course, chapter))


def key_fields(course: Course, chapter: Chapter, tier: str) -> dict[str, Any]:
    """Everything a measurement depends on, as data (the cache file repeats it, for people)."""
    recorded = course.root / REFERENCE_TIME
    try:
        reference = _digest(reference_files(course, chapter) if _has_reference(course, chapter) else [recorded])
    except OSError:
        raise CourseError(f"{course.path.name}:{chapter.line}: chapter {chapter.number}'s training_timeout is a "
                          f"multiple of the reference's time, but {course.reference} lacks the reference's "
                          f"chapters and there is no {REFERENCE_TIME} beside the course") from None
    return {"method": METHOD, "machine": machine_description(), "python": f"{platform.python_version()} {PYTHON}",
            "course_sha256": course.sha256, "reference_sha256": reference,
            "hidden_sha256": _digest([chapter.tests_path]), "chapter": chapter.number, "tier": tier}


def key_of(fields: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


# --- the cache ----------------------------------------------------------------------------------

def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mlp-grader"


def _read(path: Path, key: str) -> Calibration | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        calibration = Calibration(**{**data["calibration"], "samples": tuple(data["calibration"]["samples"])})
    except (OSError, ValueError, KeyError, TypeError):
        return None  # absent, or not ours to trust: measure again
    return calibration if calibration.key == key and calibration.reference_cpu > 0 else None


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[bool]:
    """Hold the cache's lock (so the judges of a batch measure once, not once each); yields whether
    the cache can be used at all."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = open(folder / "calibration.lock", "a")
    except OSError:
        yield False
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield True


# --- measuring ----------------------------------------------------------------------------------

def _training_work(chapter: Chapter) -> tuple[Any, int]:
    """The hidden tests' `train(module, worker, epochs)` and their EPOCHS: the work the budget is for."""
    import pytest  # the hidden tests' own import; loaded here only when a budget needs them

    with warnings.catch_warnings():  # their criterion marker is registered when pytest runs them
        warnings.simplefilter("ignore", pytest.PytestUnknownMarkWarning)
        module = importlib.import_module(f"grader.hidden.{chapter.tests_path.stem}")
    train, epochs = getattr(module, "train", None), getattr(module, "EPOCHS", None)
    if not callable(train) or type(epochs) is not int:
        raise CourseError(f"{chapter.tests} defines no train(module, worker, epochs) and EPOCHS, so chapter "
                          f"{chapter.number}'s training_timeout cannot be a multiple of the reference's time")
    return train, epochs


def _yardstick_run() -> float:
    """CPU seconds of one run of the yardstick: the arithmetic of a small dense layer trained by
    SGD on lists of floats, as chapter 7's training does (about 0.1 s on a 2020s core)."""
    rng = random.Random(YARDSTICK)
    weights = [[rng.uniform(-0.5, 0.5) for _ in range(26)] for _ in range(32)]
    samples = [[1.0 if j == i else 0.0 for j in range(26)] for i in range(26)]
    started = time.process_time()
    for _ in range(48):
        for x in samples:
            z = [sum(w * v for w, v in zip(row, x)) for row in weights]
            dz = [value if value > 0 else 0.0 for value in z]
            for row, grad in zip(weights, dz):
                for j in range(26):
                    row[j] -= 0.01 * grad * x[j]
    return time.process_time() - started


def yardstick_samples() -> tuple[float, ...]:
    return tuple(_yardstick_run() for _ in range(SAMPLES))


def _recorded_ratio(course: Course, chapter: Chapter) -> float:
    """The reference's training time in yardsticks, from the course's reference-time.json."""
    path = course.root / REFERENCE_TIME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        ratio = data["chapters"][str(chapter.number)]["per_yardstick"]
        fits = data["yardstick"] == YARDSTICK and type(ratio) is float and ratio > 0
    except (OSError, ValueError, KeyError, TypeError):
        fits = False
    if not fits:
        raise CourseError(f"{path}: no usable time of chapter {chapter.number}'s reference training "
                          f"(made by another version of the grader, or damaged)")
    return ratio


def write_reference_time(course: Course, folder: Path, tier: str) -> None:
    """Write `folder`/reference-time.json: the reference's training time in yardsticks, for each
    chapter with a relative budget, so that a copy of the course without the reference (a student
    release) can estimate that time on any machine."""
    chapters = {}
    for number, calibration in calibrate(course, [ch.number for ch in course.chapters], tier).items():
        chapters[str(number)] = {"per_yardstick": calibration.reference_cpu / statistics.median(yardstick_samples()),
                                 "measured_on": calibration.machine}
    if chapters:
        (folder / REFERENCE_TIME).write_text(json.dumps({"yardstick": YARDSTICK, "chapters": chapters}, indent=2) + "\n",
                                             encoding="utf-8")


def trains(chapter: Chapter) -> bool:
    """Whether the chapter's hidden tests train something, on its training budget."""
    try:
        _training_work(chapter)
    except CourseError:
        return False
    return True


def measure(course: Course, chapter: Chapter, tier: str) -> tuple[tuple[float, ...], int, int]:
    """Time the reference's training in a worker: (CPU seconds per sample, sample epochs, epochs)."""
    train, epochs = _training_work(chapter)
    sample_epochs = max(1, epochs // SAMPLE_SHARE)
    samples = []
    with tempfile.TemporaryDirectory(prefix="grade-calibration-") as scratch:
        folder = Path(scratch) / "reference"
        folder.mkdir()
        for path in reference_files(course, chapter):
            shutil.copyfile(path, folder / path.name)
        spec = WorkerSpec(workdir=folder, student_files=(chapter.file,), tier=tier,
                          cpu_seconds=int(SAMPLE_CPU_LIMIT * SAMPLES) + 10, memory_bytes=chapter.limits.memory_mb << 20)
        limit = TrainingBudget(SAMPLE_CPU_LIMIT, SAMPLE_CPU_LIMIT * WALL_FACTOR)
        session = Session(spec, chapter.module, request_timeout=chapter.limits.request_timeout,
                          chapter_timeout=chapter.limits.chapter_timeout, output_bytes=64 << 10, training=limit)
        try:
            for _ in range(SAMPLES):
                train(StudentModule(session), session, sample_epochs)  # the reference, as a worker's module
                samples.append(session.training_cpu)
        except StudentFault as fault:
            raise GraderError(f"the reference's training could not be timed: {fault.message}") from None
        finally:
            session.close()
    if any(s is None for s in samples):
        raise GraderError("the reference's training could not be timed: no CPU time was measured")
    return tuple(samples), sample_epochs, epochs


def calibrate_chapter(course: Course, chapter: Chapter, tier: str) -> Calibration:
    """The chapter's calibration: from the cache when its key matches, else measured (and cached)."""
    fields = key_fields(course, chapter, tier)
    key = key_of(fields)
    folder = cache_dir()
    path = folder / f"calibration-{key[:24]}.json"
    with _locked(folder) as usable:
        cached = _read(path, key) if usable else None
        if cached is not None:
            return Calibration(**{**asdict(cached), "samples": cached.samples, "reused": True})
        if _has_reference(course, chapter):
            samples, sample_epochs, epochs = measure(course, chapter, tier)
            per_yardstick, reference_cpu = None, statistics.median(samples) * epochs / sample_epochs
        else:
            per_yardstick, samples = _recorded_ratio(course, chapter), yardstick_samples()
            sample_epochs = epochs = _training_work(chapter)[1]
            reference_cpu = per_yardstick * statistics.median(samples)
        calibration = Calibration(
            chapter=chapter.number, reference_cpu=round(reference_cpu, 3), epochs=epochs,
            sample_epochs=sample_epochs, samples=tuple(round(s, 4) for s in samples),
            measured_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            machine=fields["machine"], python=platform.python_version(), tier=tier, key=key,
            per_yardstick=per_yardstick)
        if usable:
            with contextlib.suppress(OSError):  # a read-only cache costs a measurement next time, nothing more
                write_atomically(path, json.dumps({"key": fields, "calibration": asdict(calibration)}, indent=2) + "\n")
        return calibration


def calibrate(course: Course, numbers: list[int], tier: str) -> dict[int, Calibration]:
    """Calibrations for the chapters among `numbers` whose training budget is relative."""
    return {n: calibrate_chapter(course, course.chapter(n), tier) for n in numbers
            if isinstance(course.chapter(n).limits.training_timeout, Relative)}
