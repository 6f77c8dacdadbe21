"""Chapter 7's training budget, end to end with the real `grade` command, on both sandbox tiers.

Every grading of this module starts at once, so each runs beside the others on a shared machine:
a correct chapter 5 five times slower than the reference (graded --integrated), the reference on
a tenth of one core (a cgroup CPU quota), an endless and a sleeping training (on a course whose
budget is half the reference's, so that they are stopped within seconds), and a course whose
budget is in plain seconds. The reference is calibrated first, in a cache of the module's own,
so every grading reuses that one measurement per course and tier.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

import cpu_quota
from grader.budget import WALL_FACTOR
from grader.calibration import calibrate
from grader.course import load_course
from grader.sandbox.tiers import tier_problem
from submissions import GRADE, ROOT, assemble

TIERS = tuple(t for t in ("bwrap", "process") if not tier_problem(t))
RELATIVE = "      training_timeout: 10x\n      training_floor: 30\n"
SLOW = "budget-slow-ch5-five-times-the-reference-full-marks-ch7-integrated"
ENDLESS = "budget-endless-training-times-out-ch7-accuracy-agreement"
SLEEPING = "budget-sleeping-training-times-out-ch7-accuracy-agreement"
ACCURACY = "ch7-accuracy"


def course_copy(folder: Path, training: str) -> Path:
    """course.yaml with chapter 7's training budget replaced, reading this tree's reference."""
    text = (ROOT / "course.yaml").read_text()
    assert RELATIVE in text
    text = text.replace(RELATIVE, training).replace("reference: reference", f"reference: {ROOT / 'reference'}")
    folder.mkdir(parents=True)
    (folder / "course.yaml").write_text(text.replace("exercises: exercises", f"exercises: {ROOT / 'exercises'}"))
    return folder / "course.yaml"


@dataclass
class Run:
    name: str
    process: subprocess.Popen
    report: Path
    started: float
    ended: float = 0.0
    code: int = 0
    stdout: str = ""
    results: dict | None = None

    def criterion(self, ident: str) -> dict:
        return next(c for ch in self.results["chapters"] for c in ch["criteria"] if c["id"] == ident)

    @property
    def chapter(self) -> dict:
        return self.results["chapters"][0]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    if not TIERS:
        pytest.skip("no sandbox tier runs here")
    scratch = tmp_path_factory.mktemp("budget")
    cache = scratch / "cache"
    env = {**os.environ, "NO_COLOR": "1", "XDG_CACHE_HOME": str(cache)}
    courses = {"real": ROOT / "course.yaml",
               "half": course_copy(scratch / "half", "      training_timeout: 0.5x\n      training_floor: 1\n"),
               "plain": course_copy(scratch / "plain", "      training_timeout: 150\n")}
    with pytest.MonkeyPatch.context() as patch:  # this process calibrates into the module's cache
        patch.setenv("XDG_CACHE_HOME", str(cache))
        calibrations = {(name, tier): calibrate(load_course(courses[name]), [7], tier)[7]
                        for name in ("real", "half") for tier in TIERS}
    submissions = scratch / "submissions"
    for name in (SLOW, ENDLESS, SLEEPING):
        assemble(name, submissions)
    assemble_correct(submissions)
    groups = {}
    for tier in TIERS:
        group = cpu_quota.make_quota(f"grade-budget-test-{os.getpid()}-{tier}", 0.1)
        groups[tier] = group
    gradings = []
    for tier in TIERS:
        gradings += [(f"slow-{tier}", "real", SLOW, tier, ["--integrated"], None),
                     (f"endless-{tier}", "half", ENDLESS, tier, [], None),
                     (f"sleeping-{tier}", "half", SLEEPING, tier, [], None),
                     (f"plain-{tier}", "plain", "correct", tier, [], None)]
        if isinstance(groups[tier], Path):
            gradings.append((f"quota-{tier}", "real", "correct", tier, [], groups[tier]))
    started: dict[str, Run] = {}
    try:
        for name, course, submission, tier, extra, group in gradings:
            report = scratch / "reports" / name
            command = [*GRADE, "chapter", "7", "--course", str(courses[course]), "--submission",
                       str(submissions / submission), "--sandbox", tier, "--report-dir", str(report), *extra]
            process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                       preexec_fn=cpu_quota.enter(group) if group else None)
            started[name] = Run(name, process, report, time.monotonic())
        for run in started.values():
            run.stdout, _ = run.process.communicate(timeout=900)
            run.ended, run.code = time.monotonic(), run.process.returncode
            results = run.report / "results.json"
            run.results = json.loads(results.read_text()) if results.exists() else None
        throttled = {tier: cpu_quota.throttled_periods(g) for tier, g in groups.items() if isinstance(g, Path)}
    finally:
        for run in started.values():
            if run.process.poll() is None:
                run.process.kill()
        for group in groups.values():
            if isinstance(group, Path):
                cpu_quota.remove(group)
    return started, calibrations, groups, throttled, cache


def assemble_correct(into: Path) -> None:
    """The reference as a student would hand it in."""
    folder = into / "correct"
    folder.mkdir(parents=True)
    for chapter in sorted((ROOT / "reference").glob("0*.py")):
        folder.joinpath(chapter.name).write_bytes(chapter.read_bytes())


def training_of(run: Run) -> dict:
    (training,) = run.results["training"]
    return training


@pytest.mark.parametrize("tier", TIERS)
def test_a_correct_chapter_five_times_slower_passes_integrated_beside_other_gradings(runs, tier):
    started, calibrations, *_ = runs
    run = started[f"slow-{tier}"]
    assert run.code == 0, run.stdout
    assert run.results["integrated"] and run.chapter["files"]["05_backpropagation.py"] == "student"
    assert run.chapter["score"] == 20, run.stdout
    # It really was about five times the reference's work, and really ran beside other gradings.
    reference = calibrations[("real", tier)].reference_cpu
    assert 3.5 * reference < run.chapter["training_cpu"] < 10 * reference, (run.chapter["training_cpu"], reference)
    others = [r for r in started.values() if r is not run]
    assert sum(min(run.ended, r.ended) - max(run.started, r.started) > 0.5 * (run.ended - run.started)
               for r in others) >= 2


@pytest.mark.parametrize("tier", TIERS)
def test_a_correct_submission_on_a_tenth_of_one_core_gets_full_marks(runs, tier):
    started, calibrations, groups, throttled, _ = runs
    if not isinstance(groups[tier], Path):
        pytest.skip(groups[tier])
    run = started[f"quota-{tier}"]
    assert run.code == 0, run.stdout
    assert run.chapter["score"] == 20, run.stdout
    assert throttled[tier] > 0  # the quota held it back...
    used = run.chapter["training_cpu"]
    assert run.chapter["duration"] > 5 * used, (run.chapter["duration"], used)  # ...to well under a core
    assert used < training_of(run)["cpu_seconds"]


@pytest.mark.parametrize("tier", TIERS)
def test_an_endless_training_is_stopped_at_its_cpu_budget_with_the_numbers(runs, tier):
    started, calibrations, *_ = runs
    run = started[f"endless-{tier}"]
    assert run.code == 1, run.stdout
    accuracy = run.criterion(ACCURACY)
    assert accuracy["status"] == "timeout" and accuracy["score"] == 0
    assert run.criterion("ch7-agreement")["status"] == "timeout"
    # Every criterion that trains runs out of budget; everything else (architecture, dataset,
    # predict, predict_probs, evaluate) still counts in full.
    trains = {ACCURACY, "ch7-agreement", "ch7-defaults"}
    for criterion in run.chapter["criteria"]:
        if criterion["id"] in trains:
            assert criterion["status"] == "timeout" and criterion["score"] == 0, criterion
        else:
            assert criterion["score"] == criterion["max_score"], criterion
    reference = calibrations[("half", tier)].reference_cpu
    budget = training_of(run)["cpu_seconds"]
    assert budget == pytest.approx(0.5 * reference, abs=0.01)
    used = run.chapter["training_cpu"]
    assert budget < used < budget + 1.5  # stopped within a poll or a few of the budget
    said = re.match(r"your training used ([\d.]+) s of CPU, ([\d.]+)× the reference's ([\d.]+) s on this machine; "
                    r"the course allows 0\.5×\. It was stopped there; the usual causes: work repeated in the "
                    r"innermost loops", accuracy["message"])
    assert said, accuracy["message"]
    shown_used, shown_ratio, shown_reference = map(float, said.groups())
    assert shown_used == pytest.approx(used, abs=0.05) and shown_reference == pytest.approx(reference, abs=0.05)
    assert shown_ratio == pytest.approx(used / reference, abs=0.005)
    assert "the usual causes" in run.stdout and "the course allows 0.5×" in run.stdout  # the terminal shows it whole


@pytest.mark.parametrize("tier", TIERS)
def test_a_sleeping_training_is_stopped_at_the_wall_clock_ceiling(runs, tier):
    started, *_ = runs
    run = started[f"sleeping-{tier}"]
    accuracy = run.criterion(ACCURACY)
    assert accuracy["status"] == "timeout", run.stdout
    ceiling = training_of(run)["wall_seconds"]
    assert ceiling == pytest.approx(WALL_FACTOR * training_of(run)["cpu_seconds"], abs=0.01)
    assert f"your training ran {ceiling:.0f} s of wall clock but used only" in accuracy["message"]
    assert run.chapter["training_cpu"] < training_of(run)["cpu_seconds"]


@pytest.mark.parametrize("tier", TIERS)
def test_the_calibration_is_measured_once_and_reused_by_every_grading(runs, tier):
    started, calibrations, _, _, cache = runs
    for name, course in (("slow", "real"), ("endless", "half"), ("sleeping", "half")):
        calibration = training_of(started[f"{name}-{tier}"])["calibration"]
        expected = calibrations[(course, tier)]
        assert calibration["reused"] is True
        assert (calibration["key"], calibration["reference_cpu"]) == (expected.key, expected.reference_cpu)
        assert calibration["tier"] == tier and calibration["sample_epochs"] * 10 == calibration["epochs"] == 500
    assert calibrations[("real", tier)].key != calibrations[("half", tier)].key  # another course.yaml
    assert len(list(cache.glob("mlp-grader/calibration-*.json"))) == 2 * len(TIERS)
    # The provenance says so, in the terminal and on the scorecard.
    run = started[f"slow-{tier}"]
    assert "Chapter 7 calibration: the reference's training" in run.stdout and "reused" in run.stdout
    page = (run.report / "chapter-07.html").read_text()
    assert "Chapter 7 calibration" in page and "Chapter 7 training budget" in page


@pytest.mark.parametrize("tier", TIERS)
def test_a_course_with_plain_seconds_still_grades_without_calibrating(runs, tier):
    started, *_ = runs
    run = started[f"plain-{tier}"]
    assert run.code == 0, run.stdout
    assert run.chapter["score"] == 20
    (training,) = run.results["training"]
    assert training["rule"] == "150 s" and training["calibration"] is None
    assert (training["cpu_seconds"], training["wall_seconds"]) == (150, 1500)
    assert "calibration" not in run.stdout
