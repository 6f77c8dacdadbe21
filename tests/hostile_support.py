"""Grading hostile submissions with the real `grade` command, and finding what they left behind.

A hostile fixture (tests/fixtures/submissions/hostile-*) holds only the chapter files it attacks
with; `assemble` builds the submission in a temporary folder: the reference's chapters for the
rest, and these substitutions in its .py files, so fixtures need not copy the reference's code
or know this machine's paths:

    # @reference-source@         (a whole line) the reference's file of the same name
    # @reference-source:NAME@    (a whole line) the reference's file NAME
    "@course-root@"  "@decoy-root@"  "@report-dir@"  "@canary-dir@"  "@marker@"   (string literals)

`@course-root@` is this repository: fixtures only *read* there. Attacks that *write* aim at
`@decoy-root@`, a copy of the course tree in a temporary folder, owned and protected exactly like
the real one, so that a broken sandbox damages the copy (and fails the tests), never a checkout.
`@marker@` is unique to one run: fixtures name the processes and files they create with it, so a
survivor or a leftover file can be traced to the run that made it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import yaml

from grader.outcomes import STATUSES
from grader.sandbox.identity import PROCESSES, privileged, uids_of
from grader.sandbox.sweep import SHARED_FOLDERS

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "submissions"
REFERENCE = ROOT / "reference"
GRADE = str(Path(sys.executable).parent / "grade")
CHAPTERS = (1, 2)             # chapter 1's hidden tests are complete; chapter 2 is "the other chapter"
FORMATS = "html,junit,gradescope,markdown,github,classroom"  # every report must survive hostile text
LIMITS = {"request_timeout": 2, "chapter_timeout": 10, "memory_mb": 256, "output_kb": 16}
COURSE_TREE = ("course.yaml", "reference", "exercises", "grader", "reports", "tests/fixtures")
CANARY = "canary.txt"         # planted in every report folder; must survive untouched
_SOURCE_LINE = re.compile(rb"^# @reference-source(?::([^@\n]+))?@[ \t]*$", re.MULTILINE)


# --- the course and the submissions -----------------------------------------------------------

def short_course(into: Path) -> Path:
    """course.yaml with short time limits and 256 MiB per worker (the tests grade chapters 1 and 2)."""
    data = yaml.safe_load((ROOT / "course.yaml").read_text())
    data["limits"].update(LIMITS)
    data["reference"], data["exercises"] = str(ROOT / "reference"), str(ROOT / "exercises")
    for chapter in data["chapters"]:
        chapter.pop("limits", None)
    path = into / "course.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return path


def criteria_of(course: Path) -> dict[int, list[str]]:
    data = yaml.safe_load(course.read_text())
    return {ch["number"]: [c["id"] for c in ch["criteria"]] for ch in data["chapters"] if ch["number"] in CHAPTERS}


def chapter_file(number: int, folder: Path = REFERENCE) -> Path:
    return next(folder.glob(f"{number:02d}_*.py"))


def make_decoy(folder: Path) -> Path:
    """A copy of the course tree (without bytecode caches) for the fixtures to attack."""
    folder.mkdir(parents=True)
    for entry in COURSE_TREE:
        source = ROOT / entry
        if source.is_dir():
            shutil.copytree(source, folder / entry, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.exists():
            (folder / entry).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, folder / entry)
    return folder


@dataclass(frozen=True)
class Targets:
    """What a fixture's placeholders become for one run."""

    report_dir: Path
    canary_dir: Path
    decoy_root: Path
    marker: str

    def substitute(self, source: bytes, name: str) -> bytes:
        def reference(match: re.Match) -> bytes:
            wanted = match.group(1).decode() if match.group(1) else name
            return (REFERENCE / wanted).read_bytes()

        source = _SOURCE_LINE.sub(reference, source)
        for token, value in (("course-root", ROOT), ("decoy-root", self.decoy_root),
                             ("report-dir", self.report_dir), ("canary-dir", self.canary_dir),
                             ("marker", self.marker)):
            source = source.replace(f'"@{token}@"'.encode(), json.dumps(str(value)).encode())
        return source


def assemble(fixture: str, folder: Path, targets: Targets, fill: Iterable[int] = CHAPTERS) -> Path:
    """The submission for `fixture`: its files (placeholders filled, symlinks kept but pointed at
    what they name in the repository), plus the reference's files of chapters `fill` it lacks.
    An empty `<file>.missing` keeps that chapter out."""
    source = FIXTURES / fixture
    shutil.copytree(source, folder, symlinks=True)
    missing = set()
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            target = (source / path.relative_to(folder)).resolve()
            path.unlink()
            path.symlink_to(target)
        elif path.name.endswith(".missing"):
            missing.add(path.name.removesuffix(".missing"))
            path.unlink()
        elif path.suffix == ".py" and path.is_file():
            path.write_bytes(targets.substitute(path.read_bytes(), path.name))
    for number in fill:
        reference = chapter_file(number)
        wanted = folder / reference.name
        if reference.name not in missing and not wanted.exists() and not wanted.is_symlink():
            shutil.copyfile(reference, wanted)
    return folder


def honest(kind: str, folder: Path) -> Path:
    """An honest submission: the reference, the starters, or the reference with one plain bug."""
    folder.mkdir(parents=True)
    source = ROOT / "exercises" if kind == "starters" else REFERENCE
    for number in CHAPTERS:
        shutil.copyfile(chapter_file(number, source), folder / chapter_file(number).name)
    bugs = {"bug-in-transpose": (1, "zip(*matrix)", "matrix"),                 # returns the rows
            "bug-in-sigmoid-derivative": (2, "return a * (1 - a)", "return a * (1 + a)")}
    if kind in bugs:
        number, old, new = bugs[kind]
        path = folder / chapter_file(number).name
        text = path.read_text()
        assert old in text, f"the reference's {path.name} changed: update the bug for {kind}"
        path.write_text(text.replace(old, new, 1))
    return folder


# --- what a run leaves behind -----------------------------------------------------------------

def snapshot(root: Path, entries: Iterable[str] = ("",)) -> dict[str, str]:
    """path -> content hash of every file (and link target) under root/entry, bytecode caches aside."""
    found: dict[str, str] = {}
    for entry in entries:
        top = root / entry if entry else root
        paths = [top] if not top.is_dir() or top.is_symlink() else sorted(top.rglob("*"))
        for path in paths:
            if "__pycache__" in path.parts or path.suffix == ".pyc":
                continue
            key = str(path.relative_to(root))
            if path.is_symlink():
                found[key] = f"link to {os.readlink(path)}"
            elif path.is_file():
                found[key] = hashlib.sha256(path.read_bytes()).hexdigest()
            elif path.is_dir():
                found[key] = "folder"
            elif not path.exists():
                found[key] = "absent"
    return found


def changes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(f"{key}: {before.get(key, 'absent')} -> {after.get(key, 'absent')}"
                  for key in before.keys() | after.keys() if before.get(key) != after.get(key))


def _process_info(pid: str) -> tuple[str, int, str] | None:
    """(state, real uid, command line) of a live process, None once it is gone or a zombie."""
    try:
        status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                      if ":" in line)
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (OSError, ValueError):
        return None
    state = status.get("State", "?").split()[0]
    if state in ("Z", "X"):
        return None
    return state, int(status["Uid"].split()[0]), cmdline


def survivors(judge_pid: int, marker: str, grace: float = 3.0) -> list[str]:
    """Live processes a run started: run by its sandbox users, or carrying its marker. Killed
    processes take a moment to go, so this waits up to `grace` seconds for the list to empty."""
    uids = uids_of(judge_pid) if privileged() else range(0)
    deadline = time.monotonic() + grace
    while True:
        found = []
        for entry in Path("/proc").iterdir():
            info = _process_info(entry.name) if entry.name.isdigit() else None
            if info and (info[1] in uids or marker in info[2]):
                found.append(f"pid {entry.name} uid {info[1]} state {info[0]}: {info[2][:120]}")
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def leftovers(judge_pid: int, marker: str) -> list[str]:
    """Files in the machine's shared folders that a run's sandbox users own or that carry its marker."""
    uids = uids_of(judge_pid) if privileged() else range(0)
    found = []
    for folder in SHARED_FOLDERS:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                owner = entry.stat(follow_symlinks=False).st_uid
            except OSError:
                continue
            if marker in entry.name or owner in uids:
                found.append(f"{entry.path} (uid {owner})")
    return found


# --- running the grader -----------------------------------------------------------------------

@dataclass
class Run:
    """One grading of one submission, and what was found right after it exited."""

    label: str
    tier: str
    exit_code: int
    stdout: str
    stderr: str
    results: dict | None
    report_dir: Path
    marker: str
    judge_pid: int
    max_rss_kb: int          # the largest resident set of the grader or any process it waited for
    seconds: float
    ended: float             # time.monotonic() when it exited
    report_at_exit: dict[str, str] = field(default_factory=dict)
    survivors: list[str] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)

    def chapter(self, number: int) -> dict:
        return next(ch for ch in self.results["chapters"] if ch["number"] == number)

    def criterion(self, criterion_id: str) -> dict:
        return next(c for ch in self.results["chapters"] for c in ch["criteria"] if c["id"] == criterion_id)

    def scores(self) -> dict[str, tuple[float, str]]:
        """criterion id -> (points, status)."""
        return {c["id"]: (c["score"], c["status"]) for ch in self.results["chapters"] for c in ch["criteria"]}

    def output(self, number: int) -> str:
        out = self.chapter(number)["output"]
        return out["stdout"] + out["stderr"]


def _wait_with_rusage(process: subprocess.Popen, timeout: float) -> tuple[int, int]:
    """Wait for `process` (killing it after `timeout`); its exit code and max RSS in KiB, which
    includes every descendant it reaped (wait4 reports RUSAGE_BOTH)."""
    timer = threading.Timer(timeout, lambda: process.send_signal(signal.SIGKILL))
    timer.start()
    try:
        _, status, usage = os.wait4(process.pid, 0)
    finally:
        timer.cancel()
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, usage.ru_maxrss


def run_grade(label: str, submission: Path, tier: str, course: Path, report_dir: Path, marker: str,
              *, env: dict[str, str] | None = None, timeout: float = 180) -> Run:
    """`grade chapter 1 2` on `submission` in a subprocess, as an instructor would run it."""
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / CANARY).write_text(f"planted before grading {label}\n")
    logs = report_dir.parent / f"{report_dir.name}.log"
    argv = [GRADE, "chapter", *map(str, CHAPTERS), "--course", str(course), "--submission", str(submission),
            "--report-dir", str(report_dir), "--sandbox", tier, "--format", FORMATS]
    started = time.monotonic()
    with open(f"{logs}.out", "wb") as out, open(f"{logs}.err", "wb") as err:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=ROOT,
                                   env={**os.environ, "NO_COLOR": "1", **(env or {})})
        code, max_rss = _wait_with_rusage(process, timeout)
    ended = time.monotonic()
    results_path = report_dir / "results.json"
    run = Run(label, tier, code, Path(f"{logs}.out").read_text(errors="replace"),
              Path(f"{logs}.err").read_text(errors="replace"),
              json.loads(results_path.read_text()) if results_path.exists() else None,
              report_dir, marker, process.pid, max_rss, round(ended - started, 2), ended)
    run.report_at_exit = snapshot(report_dir)
    run.survivors = survivors(process.pid, marker)
    run.leftovers = leftovers(process.pid, marker)
    return run


class HostileGrader:
    """Grades submissions for the hostile tests, each in a folder of its own, caching the runs so
    that many tests can look at one grading, and running many gradings at once."""

    def __init__(self, workspace: Path, canary_dir: Path):
        self.workspace, self.canary_dir = workspace, canary_dir
        self.course = short_course(workspace)
        self.criteria = criteria_of(self.course)
        self.decoy = make_decoy(workspace / "course-decoy")
        self.decoy_before = snapshot(self.decoy)
        self._runs: dict[tuple[str, str], Run] = {}
        self._lock = threading.Lock()

    def _targets(self, name: str) -> tuple[Path, Targets]:
        folder = self.workspace / f"{name}-{uuid.uuid4().hex[:8]}"
        folder.mkdir(parents=True)
        return folder, Targets(folder / "report", self.canary_dir, self.decoy, f"hostile-{uuid.uuid4().hex}")

    def grade(self, name: str, tier: str, build: Callable[[Path, Targets], Path], *,
              submission_folder: str = "submission", env: dict[str, str] | None = None) -> Run:
        """Assemble a submission with `build` and grade it (never cached)."""
        folder, targets = self._targets(name)
        submission = build(folder / submission_folder, targets)
        return run_grade(f"{name} [{tier}]", submission, tier, self.course, targets.report_dir,
                         targets.marker, env=env)

    def fixture(self, name: str, tier: str, fill: Iterable[int] = CHAPTERS,
                submission_folder: str = "submission") -> Run:
        """The (cached) run of fixture `name` under `tier`."""
        key = (name, tier)
        with self._lock:
            if key in self._runs:
                return self._runs[key]
        run = self.grade(name, tier, lambda folder, targets: assemble(name, folder, targets, fill),
                         submission_folder=submission_folder)
        with self._lock:
            return self._runs.setdefault(key, run)

    def honest(self, kind: str, tier: str) -> Run:
        """The (cached) run of an honest submission graded alone."""
        key = (f"honest:{kind}", tier)
        with self._lock:
            if key in self._runs:
                return self._runs[key]
        run = self.grade(kind, tier, lambda folder, _: honest(kind, folder))
        with self._lock:
            return self._runs.setdefault(key, run)

    @staticmethod
    def many(jobs: list[Callable[[], Run]], parallel: int) -> list[Run]:
        """Run the gradings in `jobs`, `parallel` at a time, in order of the list."""
        with ThreadPoolExecutor(max_workers=parallel) as pool:
            return list(pool.map(lambda job: job(), jobs))


# --- checking results -------------------------------------------------------------------------

def incomplete(run: Run, criteria: dict[int, list[str]]) -> list[str]:
    """Why results.json is not a complete record of the run (empty when it is)."""
    results = run.results
    if results is None:
        return ["no results.json was written"]
    problems = []
    if results.get("schema") != "mlp-grader/results/1" or "sha256" not in results.get("course", {}):
        problems.append("results.json is not the grader's")
    chapters = {ch.get("number"): ch for ch in results.get("chapters", [])}
    if sorted(chapters) != sorted(criteria):
        problems.append(f"chapters {sorted(chapters)} instead of {sorted(criteria)}")
    for number, ids in criteria.items():
        chapter = chapters.get(number, {})
        found = [c.get("id") for c in chapter.get("criteria", [])]
        if found != ids:
            problems.append(f"chapter {number} lists criteria {found}, expected {ids}")
        problems += [f"{c.get('id')}: status {c.get('status')!r}" for c in chapter.get("criteria", [])
                     if c.get("status") not in STATUSES]
    return problems


def memory_bound_kb() -> int:
    """The most any one process of a run may hold: a worker's address-space limit (256 MiB)."""
    return (LIMITS["memory_mb"] << 10) + (32 << 10)


__all__ = ["CHAPTERS", "COURSE_TREE", "CANARY", "HostileGrader", "LIMITS", "PROCESSES", "ROOT", "Run",
           "assemble", "changes", "honest", "incomplete", "memory_bound_kb", "snapshot"]
