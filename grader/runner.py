"""Runs the hidden tests of some chapters of one submission: prepares each chapter's worker
folder, drives pytest in this (the judge's) process, and returns the raw outcomes."""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .budget import Calibration, TrainingBudget, budget_for
from .course import Chapter, Course
from .errors import CourseError, GraderError
from .outcomes import ChapterRun, TestOutcome
from .plugin import ChapterContext, JudgePlugin
from .release.oracle import is_release
from .remote import Session
from .sandbox.channel import WorkerSpec
from .submission import Submission

# pytest must not pick up anything from the submission, the current folder or installed plugins.
PYTEST_ARGS = ["-p", "no:cacheprovider", "-p", "no:terminal", "-p", "no:warnings", "-p", "no:doctest",
               "-p", "no:junitxml", "-p", "no:pastebin", "--noconftest", "-c", os.devnull,
               "--capture=sys"]


@dataclass(frozen=True)
class RunOptions:
    tier: str = "process"
    integrated: bool = False
    seed: int = 0
    calibrations: dict[int, Calibration] = field(default_factory=dict)  # chapters with relative budgets


def prepare_workdir(course: Course, submission: Submission, chapter: Chapter, folder: Path,
                    integrated: bool) -> dict[str, str]:
    """Copy into `folder` the student's chapter file and the earlier chapters it imports: the
    reference's (isolated grading) or the student's own (`integrated`). Returns who wrote each."""
    folder.mkdir(parents=True)
    (folder / chapter.file).write_bytes(submission.sources[chapter.number])
    origin = {chapter.file: "student"}
    for number in course.closure(chapter.number):
        earlier = course.chapter(number)
        if integrated and submission.has(number):
            (folder / earlier.file).write_bytes(submission.sources[number])
            origin[earlier.file] = "student"
        elif not is_release(course):  # a student release has none: the import names what is missing
            shutil.copyfile(course.reference / earlier.file, folder / earlier.file)
            origin[earlier.file] = "reference"
    return origin


def _session_factory(chapter: Chapter, folder: Path, student_files: tuple[str, ...], tier: str,
                     training: TrainingBudget):
    limits = chapter.limits
    # The judge stops a training at its CPU budget; the rlimit is only the backstop above it.
    spec = WorkerSpec(workdir=folder, student_files=student_files, tier=tier,
                      cpu_seconds=math.ceil(limits.chapter_timeout + training.cpu_seconds) + 1,
                      memory_bytes=limits.memory_mb << 20)
    return lambda: Session(spec, chapter.module, request_timeout=limits.request_timeout,
                           chapter_timeout=limits.chapter_timeout, output_bytes=limits.output_kb << 10,
                           training=training)


def run_chapters(course: Course, submission: Submission, numbers: list[int],
                 options: RunOptions) -> tuple[list[ChapterRun], list[TestOutcome]]:
    """Grade the chapters `numbers` of `submission`; faults in student code become outcomes."""
    runs: dict[int, ChapterRun] = {}
    contexts: dict[Path, ChapterContext] = {}
    origins: dict[int, dict[str, str]] = {}
    with tempfile.TemporaryDirectory(prefix="grade-") as scratch:
        for number in numbers:
            chapter = course.chapter(number)
            if number in submission.problems:
                runs[number] = ChapterRun(number, "error", note=submission.problems[number])
                continue
            if not submission.has(number):
                runs[number] = ChapterRun(number, "missing", note=f"{chapter.file} was not found in the submission")
                continue
            folder = Path(scratch) / f"chapter-{number:02d}"
            origins[number] = prepare_workdir(course, submission, chapter, folder, options.integrated)
            student_files = tuple(f for f, who in origins[number].items() if who == "student")
            source = submission.sources[number].decode("utf-8-sig", errors="replace")  # as import does: a BOM is no code
            contexts[chapter.tests_path.resolve()] = ChapterContext(
                chapter, source, _session_factory(chapter, folder, student_files, options.tier,
                                                  budget_for(chapter.limits.training_timeout,
                                                             options.calibrations.get(number))))
        plugin = JudgePlugin(course, contexts, options.seed)
        if contexts:
            _run_pytest([str(path) for path in contexts], plugin)
    for context in contexts.values():
        number = context.chapter.number
        session = context.session
        runs[number] = ChapterRun(
            number, "graded",
            stdout=session.stdout.data.decode(errors="replace") if session else "",
            stderr=session.stderr.data.decode(errors="replace") if session else "",
            output_truncated=bool(session and (session.stdout.truncated or session.stderr.truncated)),
            restarts=session.restarts if session else 0,
            duration=round(context.finished - context.started, 3) if session else 0.0,
            files=origins[number],
            training_cpu=session.training_cpu if session else None,
        )
    return [runs[n] for n in numbers], plugin.outcomes


def _run_pytest(paths: list[str], plugin: JudgePlugin) -> None:
    previous = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    try:
        code = pytest.main([*PYTEST_ARGS, "--rootdir", str(Path(paths[0]).parent), *paths], plugins=[plugin])
    finally:
        if previous is None:
            os.environ.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
    if plugin.problems:
        raise CourseError("the hidden tests do not match the rubric:\n  " + "\n  ".join(plugin.problems))
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        raise GraderError(f"the hidden tests could not run (pytest exit code {int(code)})")
