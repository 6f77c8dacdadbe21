"""`grade release OUT_DIR`: record the oracle, write the student release, verify it, or fail.

1. Record: every grading of the plan (plan.py) runs here, as `grade chapter ... --integrated`
   in its own process, with the real reference answering behind the recording proxy.
2. Merge the answers into the oracle: a question answered two ways is an error (the reference
   then depends on something the question does not say), and so is anything unrecordable.
3. Write the release (tree.py).
4. Verify: every grading runs again with the release's own grader, in the release, answering
   from the oracle. Any question it has no answer for, and any criterion scored differently
   from step 1, fails the release step with the test named, and the release is removed: a gap
   is found here, never at a student's.
"""

from __future__ import annotations

import filecmp
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from .. import __version__, warm
from ..calibration import write_reference_time
from ..course import Course
from ..errors import CourseError, UsageError
from ..mistakes import load_bank
from ..sandbox.tiers import resolve_tier
from .oracle import ORACLE_DIR, ORACLE_FILE, Oracle, hidden_tests_digest, is_release
from .plan import Extra, Grading, plan_gradings
from .record import RECORD_ENV, load_recording
from .replay import MISSES_ENV
from .tree import SOURCE_ROOT, write_tree

RUN_SECONDS = 900.0


@dataclass(frozen=True)
class Ran:
    """One grading's run: its exit code, results.json and standard error."""

    grading: Grading
    code: int
    results: dict | None
    stderr: str
    seconds: float
    notes: dict | None = None   # what it wrote besides: its recorded answers, or its unrecorded questions


@dataclass(frozen=True)
class ReleaseSummary:
    out: Path
    contents: tuple[str, ...]
    recorded: int          # gradings the answers were recorded from
    checked: int           # gradings only verified with
    answers: int
    oracle_bytes: int
    record_seconds: float
    verify_seconds: float
    runs: tuple[tuple[Ran, Ran], ...] = field(default=(), repr=False)  # each grading: this tree's, the release's

    def lines(self) -> list[str]:
        checked = f" and {self.checked} more it was not recorded from" if self.checked else ""
        return [f"recorded {self.answers:,} answers in {self.recorded} gradings ({self.record_seconds:.1f} s); "
                f"{ORACLE_DIR}/{ORACLE_FILE} is {self.oracle_bytes / 1024:,.0f} KiB",
                f"wrote {self.out}: {', '.join(self.contents)}",
                f"verified: the release grades those {self.recorded} gradings{checked} as this tree does, "
                f"criterion by criterion, with no unrecorded question ({self.verify_seconds:.1f} s)"]


Progress = Callable[[str, Ran, int, int], None]


def build_release(*, course: Course, out: Path, jobs: int | None = None, sandbox: str = "auto",
                  extra: Sequence[Path] = (), check: Sequence[Path] = (), bank: bool = True,
                  progress: Progress | None = None) -> ReleaseSummary:
    _check_sources(course, out)
    extras = discover_extras(extra, course) + discover_extras(check, course, record=False)
    plan = plan_gradings(course, load_bank(course) if bank else None, extras)
    jobs = jobs or os.cpu_count() or 1
    out = out.resolve()

    def report(phase: str) -> Callable[[Ran, int], None]:
        return lambda ran, done: progress(phase, ran, done, len(plan)) if progress else None

    with tempfile.TemporaryDirectory(prefix="grade-release-") as scratch_name:
        scratch = Path(scratch_name)
        folders = [assemble(g, course, scratch / "submissions") for g in plan]
        clock = time.monotonic()
        recorded = run_all(plan, lambda g, i: _record(g, course, folders[i], scratch / f"record-{i}", sandbox),
                           jobs, report("recorded"))
        record_seconds = time.monotonic() - clock
        oracle = merge_recordings(course, recorded)
        contents = write_tree(course, oracle, out)
        write_reference_time(course, out, resolve_tier(sandbox)[0])  # relative training budgets, without the reference
        try:
            clock = time.monotonic()
            problems, released = verify_release(out, recorded, folders, scratch, jobs=jobs, sandbox=sandbox,
                                                done=report("verified"))
            if problems:
                raise CourseError("the release does not grade as this tree does, so it was not kept:\n  "
                                  + "\n  ".join(problems[:40])
                                  + (f"\n  ... and {len(problems) - 40} more" if len(problems) > 40 else ""))
        except BaseException:
            shutil.rmtree(out, ignore_errors=True)
            raise
    return ReleaseSummary(out, tuple(contents), sum(g.record for g in plan), sum(not g.record for g in plan),
                          len(oracle.answers), (out / ORACLE_DIR / ORACLE_FILE).stat().st_size,
                          round(record_seconds, 1), round(time.monotonic() - clock, 1), tuple(zip(recorded, released)))


def verify_release(release: Path, recorded: Sequence[Ran], folders: Sequence[Path], scratch: Path, *,
                   jobs: int, sandbox: str = "auto",
                   done: Callable[[Ran, int], Any] = lambda ran, n: None) -> tuple[list[str], list[Ran]]:
    """Grade every grading again with the release's own grader. Returns what differs from this
    tree's grading, and every question the oracle could not answer, each naming its grading and
    test; and the release's runs."""
    _check_release_grader(release)
    plan = [ran.grading for ran in recorded]
    released = run_all(plan, lambda g, i: _replay(g, release, folders[i], scratch / f"verify-{i}", sandbox),
                       jobs, done)
    return [p for before, after in zip(recorded, released) for p in compare(before, after)], released


def _check_sources(course: Course, out: Path) -> None:
    if is_release(course):
        raise UsageError(f"{course.path} belongs to a student release: releases are made from the instructor's "
                         f"tree, which has the reference")
    missing = [ch.file for ch in course.chapters if not (course.reference / ch.file).is_file()]
    if missing:
        raise CourseError(f"the reference folder {course.reference} lacks {', '.join(missing)}: nothing to record")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"{out} exists and is not an empty folder")
    if not (SOURCE_ROOT / "pyproject.toml").is_file():
        raise UsageError(f"grade release needs the grader's source tree (no pyproject.toml in {SOURCE_ROOT})")


def discover_extras(paths: Sequence[Path], course: Course, record: bool = True) -> list[Extra]:
    """The submissions of each --also folder: the folder itself if it holds chapter files, else
    each of its subfolders that does."""
    files = {ch.file for ch in course.chapters}
    final = course.chapter(max(ch.number for ch in course.chapters)).file
    found = []
    for path in paths:
        if not path.is_dir():
            raise UsageError(f"{path}: not a folder of submissions")
        candidates = [path] if any((path / f).is_file() for f in files) else sorted(p for p in path.iterdir() if p.is_dir())
        for folder in candidates:
            if any((folder / f).is_file() for f in files):
                differs = (folder / final).is_file() and not filecmp.cmp(folder / final, course.reference / final,
                                                                         shallow=False)
                found.append(Extra(folder.name, folder.resolve(), differs, record))
    return found


def assemble(grading: Grading, course: Course, scratch: Path) -> Path:
    """The submission folder a grading uses."""
    if grading.base == "folder":
        return grading.folder
    base = course.reference if grading.base == "reference" else course.exercises
    if not grading.files:
        return base.resolve()
    folder = scratch / "".join(c if c.isalnum() else "-" for c in grading.name)
    folder.mkdir(parents=True)
    for chapter in course.chapters:
        shutil.copyfile(base / chapter.file, folder / chapter.file)
    for name, source in grading.files.items():
        (folder / name).write_text(source, encoding="utf-8")
    return folder


# --- running gradings ---------------------------------------------------------------------------

def _environment(pythonpath: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in (RECORD_ENV, MISSES_ENV, "GITHUB_STEP_SUMMARY", "PYTEST_CURRENT_TEST", "PYTEST_ADDOPTS")}
    env.update(NO_COLOR="1", PYTHONPATH=str(pythonpath), PYTHONDONTWRITEBYTECODE="1", **extra)
    return env


def _grade_command(grading: Grading, course_yaml: Path, submission: Path, report_dir: Path, sandbox: str) -> list[str]:
    return ["chapter", *map(str, grading.chapters), "--course", str(course_yaml),
            "--submission", str(submission), "--report-dir", str(report_dir), "--sandbox", sandbox,
            "--format", "junit"]


def _run(grading: Grading, command: list[str], env: dict, cwd: Path, report_dir: Path) -> Ran:
    started = time.monotonic()
    # A warm judge of the grader PYTHONPATH names: this tree's while recording, the release's own
    # while verifying it (one fork server each).
    code, _, stderr = warm.run("grader", command, cwd=cwd, env=env, timeout=RUN_SECONDS)
    results_path = report_dir / "results.json"
    results = json.loads(results_path.read_text(encoding="utf-8")) \
        if code in (0, 1) and results_path.is_file() else None
    return Ran(grading, code, results, stderr.strip(), round(time.monotonic() - started, 2))


def _record(grading: Grading, course: Course, submission: Path, work: Path, sandbox: str) -> Ran:
    recording = work / "recorded.json"
    command = _grade_command(grading, course.path, submission, work, sandbox) + ["--integrated"]
    env = _environment(SOURCE_ROOT, **({RECORD_ENV: str(recording)} if grading.record else {}))
    ran = _run(grading, command, env, course.root, work)
    data = load_recording(recording) if recording.is_file() else {"answers": {}, "asked_by": {}, "names": {},
                                                                     "problems": []}
    return Ran(ran.grading, ran.code, ran.results, ran.stderr, ran.seconds, notes=data)


def _replay(grading: Grading, release: Path, submission: Path, work: Path, sandbox: str) -> Ran:
    command = _grade_command(grading, release / "course.yaml", submission, work, sandbox)
    misses = work / "unrecorded.txt"
    work.mkdir(parents=True, exist_ok=True)
    misses.unlink(missing_ok=True)
    ran = _run(grading, command, _environment(release, **{MISSES_ENV: str(misses)}), release, work)
    unrecorded = misses.read_text(encoding="utf-8").splitlines() if misses.is_file() else []
    return Ran(ran.grading, ran.code, ran.results, ran.stderr, ran.seconds, notes={"unrecorded": unrecorded})


def _check_release_grader(release: Path) -> None:
    """The verification must run the release's own grader, not this tree's."""
    done = subprocess.run([sys.executable, "-c", "import grader; print(grader.__file__)"], cwd=release,
                          env=_environment(release), capture_output=True, text=True, timeout=60)
    where = Path(done.stdout.strip() or ".").resolve()
    if done.returncode != 0 or release not in where.parents:
        raise CourseError(f"the release's grader cannot be run on its own from {release} "
                          f"(`import grader` found {where}): {done.stderr.strip()[-300:]}")


def run_all(plan: Sequence[Grading], run: Callable[[Grading, int], Ran], jobs: int,
            done: Callable[[Ran, int], Any]) -> list[Ran]:
    """Every grading, `jobs` at a time; results in plan order."""
    results: list[Ran | None] = [None] * len(plan)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(run, grading, i): i for i, grading in enumerate(plan)}
        for finished, future in enumerate(as_completed(futures), start=1):
            results[futures[future]] = ran = future.result()
            done(ran, finished)
    return results  # type: ignore[return-value]


# --- the oracle and the verdict (pure) ---------------------------------------------------------

def merge_recordings(course: Course, recorded: Sequence[Ran]) -> Oracle:
    """One oracle from every grading's recording; an error naming the test for anything that
    would make it wrong."""
    problems: list[str] = []
    answers: dict[str, Any] = {}
    asked_by: dict[str, str] = {}
    names: dict[int, dict[str, int | None]] = {}
    for ran in recorded:
        if ran.results is None:
            problems.append(f"{ran.grading.name}: the recording run failed (exit code {ran.code}): "
                            f"{ran.stderr[-400:]}")
            continue
        data = ran.notes
        if not ran.grading.record:
            continue
        problems += [f"{ran.grading.name}: {p}" for p in data["problems"]]
        for number, chapter_names in data["names"].items():
            names.setdefault(int(number), {}).update(chapter_names)
        for key, wire in data["answers"].items():
            if key in answers and json.dumps(answers[key]) != json.dumps(wire):
                problems.append(f"{ran.grading.name}: {data['asked_by'].get(key, '?')} got another answer than "
                                f"{asked_by[key]} to the same question: the reference depends on something "
                                f"the question does not say")
                continue
            answers[key] = wire
            asked_by.setdefault(key, data["asked_by"].get(key, "?"))
    if problems:
        raise CourseError("the answers cannot be recorded:\n  " + "\n  ".join(dict.fromkeys(problems)))
    return Oracle(seed=course.seed, hidden_tests=hidden_tests_digest(), names=names, answers=answers,
                  course=f"{course.title} {course.version}", grader_version=__version__)


def _criteria(results: dict) -> dict[str, tuple[str, float, str]]:
    return {c["id"]: (c["status"], c["score"], c.get("message", ""))
            for ch in results["chapters"] for c in ch["criteria"]}


def compare(recorded: Ran, released: Ran) -> list[str]:
    """What the release graded differently from this tree, for one grading."""
    name = recorded.grading.name
    if released.results is None:
        return [f"{name}: the release could not grade it (exit code {released.code}): {released.stderr[-400:]}"]
    problems = [f"{name}: {line}" for line in dict.fromkeys(released.notes["unrecorded"])]
    mine, theirs = _criteria(recorded.results), _criteria(released.results)
    for criterion in sorted(mine.keys() | theirs.keys()):
        before, after = mine.get(criterion), theirs.get(criterion)
        if before is None or after is None or before[:2] != after[:2]:
            problems.append(f"{name}: {criterion}: this tree {_verdict(before)}, the release {_verdict(after)}")
    for ch_mine, ch_theirs in zip(recorded.results["chapters"], released.results["chapters"]):
        if ch_mine["status"] != ch_theirs["status"]:
            problems.append(f"{name}: chapter {ch_mine['number']}: this tree {ch_mine['status']}, "
                            f"the release {ch_theirs['status']}")
    return problems


def _verdict(entry: tuple[str, float, str] | None) -> str:
    if entry is None:
        return "did not grade it"
    status, score, message = entry
    return f"{status} ({score} points{': ' + message[:160] if message and status != 'passed' else ''})"
