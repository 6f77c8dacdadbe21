"""Runs the hidden tests of some chapters of one submission: prepares each chapter's worker
folder, drives pytest in this (the judge's) process, and returns the raw outcomes."""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .budget import Calibration, TrainingBudget, budget_for
from .course import Chapter, Course
from .errors import CourseError, GraderError
from .outcomes import ChapterRun, TestOutcome
from .plugin import ChapterContext, JudgePlugin, rubric_problems
from .prepared import Prepared, current
from .reference import ReferenceSource
from .remote import Session
from .sandbox.channel import SealedModule, WorkerSpec
from .sandbox.standby import Standby
from .submission import Submission

# pytest must not pick up anything from the submission, the current folder or installed plugins.
# Nor does it need most of pytest's own plugins: each one blocked is start-up time saved (the
# unraisable-exception plugin alone runs gc.collect() twice per session). The hidden tests use no
# bare `assert` (their checks raise Mismatch with a message), so rewriting them buys nothing.
UNUSED_PLUGINS = ("cacheprovider", "terminal", "warnings", "doctest", "junitxml", "pastebin", "unraisableexception",
                  "threadexception", "faulthandler", "logging", "debugging", "unittest", "legacypath", "tmpdir",
                  "monkeypatch", "recwarn", "setuponly", "setupplan", "stepwise", "subtests")
PYTEST_ARGS = [*(arg for name in UNUSED_PLUGINS for arg in ("-p", f"no:{name}")), "--noconftest", "-c", os.devnull,
               "--capture=sys", "--assert=plain"]


@dataclass(frozen=True)
class RunOptions:
    tier: str = "process"
    integrated: bool = False
    seed: int = 0
    calibrations: dict[int, Calibration] = field(default_factory=dict)  # chapters with relative budgets
    standby: Standby | None = None   # workers started ahead of need, in a judge that keeps some


@dataclass(frozen=True)
class Workdir:
    """A chapter's worker folder and what the worker starts with."""

    origin: dict[str, str]              # file name -> who wrote it: "student" or "reference"
    sealed: tuple[SealedModule, ...]    # earlier chapters the worker gets as code, not files
    files: tuple[tuple[str, bytes], ...] = ()  # the student's files, which the worker writes itself

    @property
    def student_files(self) -> tuple[str, ...]:
        return tuple(f for f, who in self.origin.items() if who == "student")


def prepare_workdir(reference: ReferenceSource, course: Course, submission: Submission, chapter: Chapter,
                    folder: Path, integrated: bool) -> Workdir:
    """Make the worker's (empty) `folder`, and say what goes into it: the student's chapter file,
    and the student's earlier chapters it imports when `integrated`. The worker writes them there
    itself, from its first request, so that it can be started before they are known. The
    reference's earlier chapters never go there: the worker gets them sealed (grader/reference.py),
    so no reference file is within the student's reach."""
    folder.mkdir(parents=True)
    files = [(chapter.file, submission.sources[chapter.number])]
    origin = {chapter.file: "student"}
    sealed = []
    for number in course.closure(chapter.number):
        earlier = course.chapter(number)
        if integrated and submission.has(number):
            files.append((earlier.file, submission.sources[number]))
            origin[earlier.file] = "student"
        elif (module := reference.sealed(number)) is not None:
            sealed.append(module)
            origin[earlier.file] = "reference"
    return Workdir(origin, tuple(sealed), tuple(files))


def _session_factory(chapter: Chapter, folder: Path, workdir: Workdir, options: RunOptions,
                     training: TrainingBudget):
    limits = chapter.limits
    # The judge stops a training at its CPU budget; the rlimit is only the backstop above it.
    spec = WorkerSpec(workdir=folder, student_files=workdir.student_files, tier=options.tier,
                      cpu_seconds=math.ceil(limits.chapter_timeout + training.cpu_seconds) + 1,
                      memory_bytes=limits.memory_mb << 20, sealed=workdir.sealed, files=workdir.files)
    return lambda: Session(spec, chapter.module, request_timeout=limits.request_timeout,
                           chapter_timeout=limits.chapter_timeout, output_bytes=limits.output_kb << 10,
                           training=training, standby=options.standby)


def run_chapters(course: Course, submission: Submission, numbers: list[int], options: RunOptions,
                 reference: ReferenceSource) -> tuple[list[ChapterRun], list[TestOutcome]]:
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
            workdir = prepare_workdir(reference, course, submission, chapter, folder, options.integrated)
            origins[number] = workdir.origin
            source = submission.sources[number].decode("utf-8-sig", errors="replace")  # as import does: a BOM is no code
            contexts[chapter.tests_path.resolve()] = ChapterContext(
                chapter, source, _session_factory(chapter, folder, workdir, options,
                                                  budget_for(chapter.limits.training_timeout,
                                                             options.calibrations.get(number))))
        paths = list(contexts)
        prepared = current()
        if prepared is not None and not prepared.covers(paths):
            prepared = None
        plugin = (prepared.plugin.begin(course, contexts, options.seed, reference) if prepared
                  else JudgePlugin(course, contexts, options.seed, reference))
        try:
            if contexts:
                # The first chapter's worker starts and confines itself while pytest gets ready.
                first = next(iter(contexts.values()))
                first.session = first.new_session()
                first.session.prestart()
                if prepared:
                    _run_prepared(prepared, paths, plugin)
                else:
                    _run_pytest([str(path) for path in paths], plugin)
        finally:
            for context in contexts.values():  # one pytest never reached: its worker goes too
                if context.session is not None:
                    context.session.close()
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


def _run_prepared(prepared: Prepared, paths: list[Path], plugin: JudgePlugin) -> None:
    """The tests of `paths` in the session this warm judge collected before the grading."""
    assert plugin.course is not None
    items = [item for path in paths for item in prepared.items[path]]
    plugin.problems += rubric_problems(plugin.course, items, lambda item: plugin._context(item).chapter)
    if not plugin.problems:
        prepared.run(paths)
        plugin.finish()
    _raise_problems(plugin)


def _raise_problems(plugin: JudgePlugin) -> None:
    if plugin.problems:
        raise CourseError("the hidden tests do not match the rubric:\n  " + "\n  ".join(plugin.problems))


def _run_pytest(paths: list[str], plugin: JudgePlugin) -> None:
    previous = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    try:
        code = pytest.main([*PYTEST_ARGS, "--rootdir", str(Path(paths[0]).parent), *paths], plugins=[plugin])
    finally:
        if previous is None:
            os.environ.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
    _raise_problems(plugin)
    if code == pytest.ExitCode.INTERRUPTED:  # Ctrl-C: pytest stopped the workers; the caller stops too
        raise KeyboardInterrupt
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        raise GraderError(f"the hidden tests could not run (pytest exit code {int(code)})")
