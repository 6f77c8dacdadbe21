"""Runs the self-test's gradings: each one the real `grade` command, in its own process (a warm
judge), on a submission folder assembled from the reference (or the starters) and the bank's
sources."""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Callable

from .. import warm
from ..course import Course
from ..hidden.training import TRAINING_ENV
from ..warm import COURSE_ENV
from .plan import RECORD, REPLAY, SKIP, Run
from .verdict import Graded

PACKAGE_ROOT = Path(__file__).resolve().parents[2]   # the folder holding the grader package
RUN_SECONDS = 900.0   # a single grading; the course's own limits stop runaway code well before


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def assemble(run: Run, course: Course, scratch: Path) -> Path:
    """The submission folder of `run`: its base folder itself, or a copy with the run's files."""
    base = course.reference if run.base == "reference" else course.exercises
    if not run.copies:
        return base
    folder = scratch / slug(run.name)
    folder.mkdir(parents=True)
    for chapter in course.chapters:
        if (base / chapter.file).is_file():
            shutil.copyfile(base / chapter.file, folder / chapter.file)
    for file, source in run.files.items():
        (folder / file).write_text(source, encoding="utf-8")
    return folder


def training_env(run: Run, scratch: Path) -> dict[str, str]:
    """The stand-in for the final chapter's training that `run` asks for, if it can have it: a
    replay needs the reference's recording, and without one the run trains for real."""
    recording = scratch / "training.json"
    if run.training == SKIP:
        return {TRAINING_ENV: SKIP}
    if run.training == RECORD or (run.training == REPLAY and recording.is_file()):
        return {TRAINING_ENV: f"{run.training}:{recording}"}
    return {}


def grade_run(run: Run, course: Course, scratch: Path, reports: Path, sandbox: str) -> Graded:
    """`grade chapter ...` on the run's submission, as a student would run it; its results.json."""
    report_dir = reports / slug(run.name)
    shutil.rmtree(report_dir, ignore_errors=True)
    argv = ["chapter", *map(str, run.chapters), "--course", str(course.path),
            "--submission", str(assemble(run, course, scratch)), "--report-dir", str(report_dir),
            "--sandbox", sandbox, "--format", "html", *(["--integrated"] if run.integrated else [])]
    # A warm judge (grader/warm.py) with the course pre-loaded: the real `grade` command, in a
    # process of its own, without its start-up.
    env = {**{k: v for k, v in os.environ.items() if k != TRAINING_ENV}, "NO_COLOR": "1",
           COURSE_ENV: str(course.path),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(PACKAGE_ROOT), os.environ.get("PYTHONPATH")])),
           **training_env(run, scratch)}
    started = time.monotonic()
    code, _, stderr = warm.run("grader", argv, cwd=Path.cwd(), env=env, timeout=RUN_SECONDS)
    seconds = round(time.monotonic() - started, 2)
    results_path = report_dir / "results.json"
    results = json.loads(results_path.read_text(encoding="utf-8")) if code in (0, 1) and results_path.is_file() else None
    index = report_dir / "index.html"
    return Graded(run, code, results, stderr, seconds, str(index) if index.is_file() else "")


def grade_all(runs: tuple[Run, ...], course: Course, scratch: Path, reports: Path, *, jobs: int, sandbox: str,
              progress: Callable[[Graded, int, int], None] | None = None) -> list[Graded]:
    """Every run, `jobs` at a time, in the plan's order (slow ones first); results in plan order."""
    graded: dict[str, Graded] = {}
    recorded = threading.Event()
    if not any(run.training == RECORD for run in runs):
        recorded.set()

    def grade_one(run: Run) -> Graded:
        if run.training == REPLAY:
            recorded.wait()   # the plan puts replays last: this is only ever a short wait
        try:
            return grade_run(run, course, scratch, reports, sandbox)
        finally:
            if run.training == RECORD:
                recorded.set()

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(grade_one, run) for run in runs]
        for future in as_completed(futures):
            result = future.result()
            graded[result.run.name] = result
            if progress:
                progress(result, len(graded), len(runs))
    return [graded[run.name] for run in runs]


def guide_headings(course: Course) -> set[str] | None:
    """The section headings of the course guide (exercises/README.md), or None without one."""
    guide = course.exercises / "README.md"
    if not guide.is_file():
        return None
    return {line.lstrip("#").strip() for line in guide.read_text(encoding="utf-8").splitlines()
            if line.startswith("#")}
