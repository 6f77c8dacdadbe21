"""The training budget's parts: the rule resolved into CPU and wall-clock limits, the messages,
the CPU meter of a process tree, and the calibration cache's key (what makes it measure again)."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from grader import calibration
from grader.budget import Relative, TrainingBudget, over_cpu_message, over_wall_message, resolve_budget
from grader.course import load_course
from grader.sandbox import cputime
from grader.sandbox.cputime import tree_cpu_seconds
from submissions import ROOT


# --- the rule -----------------------------------------------------------------------------------

def test_a_relative_budget_is_the_multiple_of_the_reference_above_its_floor():
    assert resolve_budget(Relative(10, 30), 8.0) == TrainingBudget(80.0, 800.0, 10, 8.0)
    assert resolve_budget(Relative(10, 30), 2.0) == TrainingBudget(30.0, 300.0, 10, 2.0)  # the floor
    assert resolve_budget(150) == TrainingBudget(150.0, 1500.0)  # plain seconds: CPU, and a 10x ceiling
    with pytest.raises(ValueError):
        resolve_budget(Relative(10, 30))


def test_the_messages_give_the_numbers_the_ratio_and_the_usual_causes():
    budget = resolve_budget(Relative(10, 30), 5.5)
    message = over_cpu_message(61.0, budget)
    assert message.startswith("your training used 61 s of CPU, 11× the reference's 5.5 s on this machine; "
                              "the course allows 10×. It was stopped there; the usual causes: ")
    assert "forward pass recomputed for every weight" in message
    floored = over_cpu_message(32.0, resolve_budget(Relative(10, 30), 2.0))
    assert "16× the reference's 2 s on this machine; the course allows 10× (at least 30 s)." in floored
    assert over_cpu_message(151.0, resolve_budget(150)).startswith(
        "your training used 151 s of CPU; the course allows 150 s.")
    waiting = over_wall_message(320.0, 0.4, budget)
    assert waiting.startswith("your training ran 320 s of wall clock but used only 0.4 s of CPU (the budget is 55 s)")


# --- the meter ----------------------------------------------------------------------------------

BUSY_CHILD = """
import os, time
pid = os.fork()
start = time.process_time()
while time.process_time() - start < 0.6:
    pass
if pid:
    os.waitpid(pid, 0)
    print("done", flush=True)
    time.sleep(30)
"""


def test_the_meter_counts_a_process_and_the_children_it_started():
    """Two processes each compute 0.6 s; after the child ends (and is waited for) the parent's tree
    still counts both."""
    process = subprocess.Popen([sys.executable, "-c", BUSY_CHILD], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "done"
        used = tree_cpu_seconds(process.pid)
        assert 1.15 <= used <= 1.8, used
        time.sleep(0.3)  # sleeping costs nothing
        assert tree_cpu_seconds(process.pid) - used < 0.05
    finally:
        process.kill()
        process.wait()
    assert tree_cpu_seconds(process.pid) == 0.0  # gone


def test_the_watch_reads_proc_only_when_the_limit_could_have_been_reached(monkeypatch):
    """With 2 cores and 8 s of CPU left, the limit cannot be passed within 4 s: no look before."""
    clock, cpu, looks = [100.0], [5.0], []
    monkeypatch.setattr(cputime.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(cputime, "_CORES", 2)
    monkeypatch.setattr(cputime, "tree_cpu_seconds", lambda root: looks.append(clock[0]) or cpu[0])
    watch = cputime.CpuWatch(1234, limit=8.0)  # starts at 5 s of CPU: 8 s may be spent from here
    for step in range(40):  # the tree computes on one core for 10 s of wall clock
        clock[0], cpu[0] = 100.0 + 0.25 * (step + 1), 5.0 + 0.25 * (step + 1)
        if watch.exceeded():
            break
    assert watch.last > 8.0 and clock[0] - 100.0 <= 8.0 + 2 * cputime.CpuWatch.POLL
    assert looks[1] == 104.0  # the first look: 8 s left / 2 cores
    assert len(looks) <= 8  # the start, then looks that halve what is left, down to POLL


# --- the calibration's cache --------------------------------------------------------------------

@pytest.fixture
def course_tree(tmp_path):
    """A course of its own: course.yaml and the reference copied, so both can be edited."""
    shutil.copytree(ROOT / "reference", tmp_path / "reference")
    text = (ROOT / "course.yaml").read_text().replace("exercises: exercises", f"exercises: {ROOT / 'exercises'}")
    (tmp_path / "course.yaml").write_text(text)
    return tmp_path


@pytest.fixture
def measured(monkeypatch, tmp_path):
    """Replace the measurement (seconds of real training) by a counted stand-in: these tests are
    about when the grader measures, not what."""
    calls = []

    def fake_measure(course, chapter, tier):
        calls.append((course.sha256, tier))
        return (0.8, 0.9, 0.85), 50, 500

    monkeypatch.setattr(calibration, "measure", fake_measure)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return calls


def calibrate(course_tree: Path, tier: str = "process"):
    return calibration.calibrate(load_course(course_tree / "course.yaml"), [1, 7], tier)


def test_the_calibration_is_measured_once_then_reused(course_tree, measured):
    first = calibrate(course_tree)
    assert list(first) == [7]  # only chapter 7's budget is relative
    assert first[7].reference_cpu == 8.5 and first[7].samples == (0.8, 0.9, 0.85) and not first[7].reused
    again = calibrate(course_tree)
    assert again[7].reused and dataclasses.replace(again[7], reused=False) == first[7]
    assert len(measured) == 1


@pytest.mark.parametrize("change", ["course.yaml", "reference", "interpreter", "tier"])
def test_the_calibration_is_measured_again_when_what_it_depends_on_changes(course_tree, measured, monkeypatch, change):
    before = calibrate(course_tree)[7]
    tier = "process"
    if change == "course.yaml":
        path = course_tree / "course.yaml"
        path.write_text(path.read_text().replace("title: MLP from scratch", "title: MLP from scratch, 2027"))
    elif change == "reference":
        path = course_tree / "reference" / "05_backpropagation.py"  # an earlier chapter the training runs
        path.write_text(path.read_text() + "\n# faster now\n")
    elif change == "interpreter":
        monkeypatch.setattr(calibration, "PYTHON", "/opt/python3.13/bin/python3.13")
    else:
        tier = "bwrap"
    after = calibrate(course_tree, tier)[7]
    assert not after.reused and after.key != before.key
    assert len(measured) == 2
    assert calibrate(course_tree, tier)[7].reused  # and that one is cached in turn


def test_judges_starting_together_measure_once(course_tree, monkeypatch, tmp_path):
    """A batch's judges may all start on a cold cache: the lock lets one measure, the rest reuse."""
    calls = []

    def slow_measure(course, chapter, tier):
        calls.append(tier)
        time.sleep(0.5)
        return (0.8, 0.9, 0.85), 50, 500

    monkeypatch.setattr(calibration, "measure", slow_measure)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: calibrate(course_tree)[7], range(4)))
    assert len(calls) == 1 and sum(not r.reused for r in results) == 1
    assert len({r.reference_cpu for r in results}) == 1


def test_a_damaged_cache_file_is_measured_again(course_tree, measured, tmp_path):
    calibrate(course_tree)
    (cached,) = (tmp_path / "cache" / "mlp-grader").glob("calibration-*.json")
    cached.write_text("{not json")
    assert not calibrate(course_tree)[7].reused and len(measured) == 2


def test_without_the_reference_the_yardstick_and_the_recorded_ratio_stand_in(course_tree, measured, tmp_path):
    """A student release: no reference, but reference-time.json (written where the reference was
    timed) gives the training in yardsticks; the yardstick is timed here."""
    course = load_course(course_tree / "course.yaml")
    release = tmp_path / "release"
    release.mkdir()
    calibration.write_reference_time(course, release, "process")
    ratio = __import__("json").loads((release / "reference-time.json").read_text())["chapters"]["7"]["per_yardstick"]
    (release / "course.yaml").write_text((course_tree / "course.yaml").read_text())  # its reference: absent
    estimated = calibration.calibrate(load_course(release / "course.yaml"), [7], "process")[7]
    assert estimated.per_yardstick == ratio and len(measured) == 1  # the reference was not run again
    yardstick = sorted(estimated.samples)[1]
    assert estimated.reference_cpu == pytest.approx(ratio * yardstick, rel=1e-3)
    assert "the yardstick" in estimated.describe()
    (release / "reference-time.json").unlink()
    with pytest.raises(calibration.CourseError, match="lacks the reference's chapters and there is no reference-time.json"):
        calibration.calibrate(load_course(release / "course.yaml"), [7], "process")


def test_a_batch_gives_each_judge_its_chapters_limits_and_the_trainings_ceiling():
    from grader.batch.run import MARGIN, wall_limit
    course = load_course(ROOT / "course.yaml")
    chapters = sum(ch.limits.chapter_timeout for ch in course.chapters)
    # Only chapter 7 trains: its ceiling is 10 x its CPU budget of 10 x 8.5 s.
    assert wall_limit(course, {7: _calibration(8.5)}) == pytest.approx(chapters + 850.0 + MARGIN)
    # On a cluster the reference is not timed first: the ceiling assumes 30 s.
    assert wall_limit(course) == pytest.approx(chapters + 3000.0 + MARGIN)


def _calibration(reference_cpu: float):
    return calibration.Calibration(chapter=7, reference_cpu=reference_cpu, epochs=500, sample_epochs=50, samples=(0.1,) * 3,
                                   measured_at="", machine="", python="", tier="process", key="")
