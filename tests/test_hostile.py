"""Hostile submissions cannot raise a score, harm the grader, or leave anything behind.

Every fixture in tests/fixtures/submissions/hostile-* is graded with the real `grade` command
under both sandbox tiers, and each test checks, for its fixture:

- the criteria it attacks score zero (with the status the attack deserves);
- every other criterion and chapter scores exactly what the plain reference scores;
- `grade` exits 0 or 1 and writes a complete results.json (the grader's, not a forgery);
- no process it started survives, no file it made is left in the shared temporary folders, the
  report folder holds what the grader wrote and the planted canary, untouched;
- the grader (and every process it waited for) stayed within one worker's memory limit;
- the course tree is byte-for-byte what it was: the copy the fixtures attack (see
  hostile_support), the real files they name, and, once every grading has run, all of
  course.yaml, reference/, exercises/, grader/, reports/ and tests/fixtures/.

The gradings the selected tests need run up front, three at a time; the tests then read them.
Before any hostile code runs, a probe checks the sandbox would not run it as root (it would
then fork without limit or kill every process on the machine): the tests fail instead.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from grader.sandbox.identity import privileged
from grader.sandbox.tiers import protections, tier_problem
from hostile_support import (CANARY, CHAPTERS, COURSE_TREE, LIMITS, PROCESSES, ROOT, HostileGrader, Run,
                             assemble, changes, honest, incomplete, memory_bound_kb, snapshot)

TIERS = ("bwrap", "process")
FAILED = ("failed", "error", "timeout", "skipped")
CH1 = ("ch1-imports", "ch1-stdlib", "ch1-vector-ops", "ch1-dot", "ch1-transpose", "ch1-matvec", "ch1-matmul")


@dataclass(frozen=True)
class Expect:
    """What one hostile fixture must get."""

    zero: tuple[str, ...] = ()                 # criteria that must score 0 ...
    statuses: tuple[str, ...] = FAILED         # ... ending with one of these statuses
    chapter_status: tuple[int, str] | None = None  # a chapter that cannot be graded at all
    fill: tuple[int, ...] = CHAPTERS           # reference chapters added when the fixture lacks them
    folder: str = "submission"                 # the submission folder's name


HOSTILE = {
    # results that lie
    "hostile-lying-objects-score-zero-ch1-vector-ops": Expect(("ch1-vector-ops",), ("failed",)),
    "hostile-list-and-float-subclasses-score-zero-ch1-matvec-matmul":
        Expect(("ch1-matvec", "ch1-matmul"), ("failed",)),
    "hostile-nan-and-infinity-score-zero-ch1-matvec": Expect(("ch1-matvec",), ("failed",)),
    "hostile-deep-and-huge-results-score-zero-ch1-matmul": Expect(("ch1-matmul",), ("failed",)),
    "hostile-cyclic-results-score-zero-ch1-vector-ops": Expect(("ch1-vector-ops",), ("failed",)),
    "hostile-forged-answer-lines-score-zero-ch1-vector-ops-matvec":
        Expect(("ch1-vector-ops", "ch1-matvec"), ("error",)),
    # attacks on the harness
    "hostile-patches-grader-scores-zero-ch1-matvec": Expect(("ch1-matvec",), ("failed",)),
    "hostile-os-exit-at-import-scores-zero-ch1": Expect(CH1),
    "hostile-sys-exit-at-import-scores-zero-ch1": Expect(CH1),
    "hostile-exits-in-calls-score-zero-ch1-vector-ops": Expect(("ch1-vector-ops",), ("error",)),
    "hostile-raises-base-exceptions-score-zero-ch1-matvec-matmul": Expect(("ch1-matvec", "ch1-matmul"), ("error",)),
    "hostile-ignores-signals-and-loops-scores-zero-ch1-matvec": Expect(("ch1-matvec",), ("timeout",)),
    "hostile-kills-everything-scores-zero-ch1-matvec": Expect(("ch1-matvec",), ("error",)),
    # resources
    "hostile-infinite-loop-at-import-scores-zero-ch1": Expect(CH1),
    "hostile-infinite-loop-in-call-scores-zero-ch1-matvec": Expect(("ch1-matvec",), ("timeout",)),
    "hostile-memory-bomb-scores-zero-ch1-vector-ops": Expect(("ch1-vector-ops",)),
    "hostile-output-flood-scores-zero-ch1-matvec": Expect(("ch1-matvec",), ("timeout",)),
    "hostile-huge-files-score-zero-ch1-matvec": Expect(("ch1-matvec",), ("failed", "timeout")),
    "hostile-deep-folders-scores-zero-ch1-matvec": Expect(("ch1-matvec",)),
    "hostile-fork-bomb-scores-zero-ch1-matvec": Expect(("ch1-matvec",), ("timeout",)),
    "hostile-daemon-leaves-nothing-ch1": Expect(),
    "hostile-recursion-crash-scores-zero-ch1-matmul": Expect(("ch1-matmul",), ("error",)),
    # files
    "hostile-writes-course-and-reports-scores-zero-ch1-matvec": Expect(("ch1-matvec",), ("failed",)),
    # malformed source
    "hostile-syntax-error-scores-zero-ch1": Expect(CH1),
    "hostile-non-utf8-source-scores-zero-ch1": Expect(CH1),
    "hostile-chapter-is-a-directory-scores-zero-ch1": Expect(CH1, chapter_status=(1, "error")),
    "hostile-chapter-is-a-symlink-scores-zero-ch1": Expect(CH1, chapter_status=(1, "error")),
    "hostile-misnamed-chapter-files-score-zero-ch1": Expect(CH1, chapter_status=(1, "missing"), fill=(2,)),
    "hostile-unicode-names-graded-normally": Expect(folder="Ana María — entrega final 空白"),
    # a second chapter under attack while the first is graded normally
    "hostile-ch2-attacks-score-zero-ch2-sigmoid-relu-neuron": Expect(("ch2-sigmoid", "ch2-relu", "ch2-neuron")),
}
READS_ANSWERS = "hostile-reads-answers-scores-zero-under-bwrap-ch1"
BATCH_HOSTILE = ("hostile-fork-bomb-scores-zero-ch1-matvec", "hostile-memory-bomb-scores-zero-ch1-vector-ops",
                 "hostile-daemon-leaves-nothing-ch1", "hostile-kills-everything-scores-zero-ch1-matvec")
BATCH_HONEST = ("reference", "starters", "bug-in-transpose", "bug-in-sigmoid-derivative")


# The one fixture each single-purpose test below looks at (so that `-k` grades only what it needs).
USES = {
    "test_reading_the_answers_scores_zero_where_files_are_hidden": READS_ANSWERS,
    "test_daemon_cannot_write_after_the_grade": "hostile-daemon-leaves-nothing-ch1",
    "test_output_floods_are_capped_and_reports_stay_valid": "hostile-output-flood-scores-zero-ch1-matvec",
    "test_fork_bombs_are_contained": "hostile-fork-bomb-scores-zero-ch1-matvec",
    "test_huge_files_stay_in_the_workers_folder": "hostile-huge-files-score-zero-ch1-matvec",
}
SIGNALS_EVERYTHING = "hostile-kills-everything-scores-zero-ch1-matvec"


def available(tier: str) -> str | None:
    problem = tier_problem(tier)
    return f"the {tier} tier cannot run here: {problem}" if problem else None


def tier_params() -> list:
    return [pytest.param(t, marks=pytest.mark.skipif(bool(available(t)), reason=available(t) or ""))
            for t in TIERS]


def unsafe(tier: str) -> str | None:
    """Why hostile code must not run under `tier` at all: run by root, a worker that has not
    switched to its own user could fork without limit or kill every process on the machine."""
    notes = protections(tier)
    if privileged() and not any(note.startswith("uid ") for note in notes):
        return f"the {tier} tier would run student code as root (its worker reported {list(notes)})"
    return None


def unsafe_fixture(name: str, tier: str) -> str | None:
    """kill(-1) from a process-tier worker running as you reaches every process you run, unless
    Landlock (ABI 6) scopes its signals to the sandbox: then that fixture must not run."""
    if name != SIGNALS_EVERYTHING or tier != "process" or privileged():
        return None
    abi = max((int(n.split()[-1]) for n in protections(tier) if n.startswith("Landlock ABI")), default=0)
    return None if abi >= 6 else "a process-tier worker could signal every process of this account here"


def runnable(name: str, tier: str) -> None:
    """Stop the test before any hostile code runs where that would be unsafe."""
    if unsafe(tier):
        pytest.fail(unsafe(tier))
    if unsafe_fixture(name, tier):
        pytest.skip(unsafe_fixture(name, tier))


def selected_gradings(items: list[pytest.Item]) -> list[tuple[str, str]]:
    """(fixture, tier) for every selected test of this module, baselines first."""
    wanted: dict[tuple[str, str], None] = {}
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        tier = params.get("tier")
        name = params.get("name") or USES.get(getattr(item, "originalname", ""))
        if item.module.__name__ == __name__ and tier and not available(tier) and not unsafe(tier):
            wanted[("honest:reference", tier)] = None
            if name and not unsafe_fixture(name, tier):
                wanted[(name, tier)] = None
            if getattr(item, "originalname", "") == "test_batch_gives_honest_submissions_the_scores_they_get_alone":
                wanted.update({(f"honest:{kind}", tier): None for kind in BATCH_HONEST})
    return sorted(wanted, key=lambda job: not job[0].startswith("honest:"))


@pytest.fixture(scope="module")
def workspace():
    """Where submissions, reports and the course tree's copy go: readable by everyone, like a real
    course folder, so that only the sandbox (not a private temp folder) keeps the student out."""
    folder = Path(tempfile.mkdtemp(prefix="hostile-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def canary_dir(workspace):
    """A folder anyone may write to (so only the sandbox stops a write there); must stay empty."""
    folder = workspace / "canary"
    folder.mkdir()
    folder.chmod(0o777)
    return folder


# Fixtures write to a copy of the course tree (see hostile_support), checked whole after each
# grading; in the real tree each test checks the files the fixtures name, and one test checks all
# of it (which also notices a person editing the course while the tests run).
ATTACKED = ("course.yaml", "reference/01_math_foundations.py", "reference/02_single_neuron.py",
            "exercises/01_math_foundations.py", "grader/checks.py", "grader/plugin.py", "grader/scoring.py",
            "grader/hidden/test_ch01_math.py", "reports")


@pytest.fixture(scope="module")
def course_before():
    return snapshot(ROOT, COURSE_TREE)


@pytest.fixture(scope="module")
def grader(request, workspace, canary_dir, course_before) -> HostileGrader:
    """The gradings the selected tests look at, run up front, three at a time."""
    grader = HostileGrader(workspace, canary_dir)
    jobs = [lambda n=n, t=t: grade_fixture(grader, n, t) for n, t in selected_gradings(request.session.items)]
    HostileGrader.many(jobs, parallel=3)
    return grader


def grade_fixture(grader: HostileGrader, name: str, tier: str) -> Run:
    """The (cached) grading of fixture `name`, or of honest submission `honest:KIND`."""
    if name.startswith("honest:"):
        return grader.honest(name.removeprefix("honest:"), tier)
    expect = HOSTILE.get(name, Expect())
    return grader.fixture(name, tier, expect.fill, expect.folder)


def check_left_nothing(run: Run) -> None:
    """The run's common guarantees: a clean exit, a complete report, nothing left behind."""
    assert run.exit_code in (0, 1), f"grade exited {run.exit_code}:\n{run.stderr[-3000:]}"
    assert not run.survivors, f"processes outlived the grading: {run.survivors}"
    assert not run.leftovers, f"files were left in shared folders: {run.leftovers}"
    assert (run.report_dir / CANARY).read_text().startswith("planted before grading")
    assert run.max_rss_kb < memory_bound_kb(), f"a process of the run held {run.max_rss_kb} KiB"


def check_scores(run: Run, expect: Expect, baseline: Run, criteria: dict[int, list[str]]) -> None:
    assert not incomplete(run, criteria), incomplete(run, criteria)
    reference = baseline.scores()
    for criterion_id, (points, status) in run.scores().items():
        if criterion_id in expect.zero:
            assert points == 0 and status in expect.statuses, (criterion_id, points, status,
                                                               run.criterion(criterion_id)["message"])
        else:
            found = run.criterion(criterion_id)
            assert (points, status) == reference[criterion_id], (criterion_id, found.get("message"),
                                                                 found.get("call"), run.stdout[-2000:])
    if expect.chapter_status:
        number, status = expect.chapter_status
        assert run.chapter(number)["status"] == status, run.chapter(number)


# --- one test per fixture and tier ------------------------------------------------------------

@pytest.mark.parametrize("tier", tier_params())
@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_submission(name, tier, grader, course_before):
    runnable(name, tier)
    expect = HOSTILE[name]
    run = grade_fixture(grader, name, tier)
    check_left_nothing(run)
    check_scores(run, expect, grader.honest("reference", tier), grader.criteria)
    assert not changes(grader.decoy_before, snapshot(grader.decoy)), "the course tree's copy changed"
    attacked = {key: value for key, value in course_before.items() if key.startswith(ATTACKED)}
    assert not changes(attacked, snapshot(ROOT, ATTACKED)), "the course tree changed"


@pytest.mark.parametrize("tier", tier_params())
def test_reading_the_answers_scores_zero_where_files_are_hidden(tier, grader):
    """Under bwrap the reference and the hidden tests are not there to read; under the process tier
    Landlock hides them when the kernel has it, and otherwise the report says it could not."""
    runnable(READS_ANSWERS, tier)
    run = grade_fixture(grader, READS_ANSWERS, tier)
    check_left_nothing(run)
    found = re.search(r"hostile-reads-answers found: (.*)", run.output(1))
    assert found, run.output(1)
    if tier == "bwrap" or "Landlock" in run.results["sandbox_note"]:
        assert found.group(1) == "[]", found.group(1)
        assert run.chapter(1)["score"] == 0
        assert {c["status"] for c in run.chapter(1)["criteria"] if c["max_score"]} == {"failed"}
    else:
        assert "cannot hide files" in run.results["sandbox_note"]
    assert run.chapter(2)["score"] == grader.honest("reference", tier).chapter(2)["score"]


@pytest.mark.parametrize("tier", tier_params())
def test_daemon_cannot_write_after_the_grade(tier, grader, canary_dir):
    runnable("hostile-daemon-leaves-nothing-ch1", tier)
    run = grade_fixture(grader, "hostile-daemon-leaves-nothing-ch1", tier)
    time.sleep(max(0.0, run.ended + 4.0 - time.monotonic()))  # the daemon meant to write at 2.5 s
    assert snapshot(run.report_dir) == run.report_at_exit, changes(run.report_at_exit, snapshot(run.report_dir))
    assert not list(canary_dir.iterdir()), list(canary_dir.iterdir())
    assert run.results["score"] == grader.honest("reference", tier).results["score"]


@pytest.mark.parametrize("tier", tier_params())
def test_output_floods_are_capped_and_reports_stay_valid(tier, grader):
    runnable("hostile-output-flood-scores-zero-ch1-matvec", tier)
    run = grade_fixture(grader, "hostile-output-flood-scores-zero-ch1-matvec", tier)
    output = run.chapter(1)["output"]
    assert output["truncated"]
    assert len(output["stdout"]) <= LIMITS["output_kb"] << 10 and len(output["stderr"]) <= LIMITS["output_kb"] << 10
    assert (run.report_dir / "index.html").exists()  # the HTML renderer survived the markup and escapes


@pytest.mark.parametrize("tier", tier_params())
def test_fork_bombs_are_contained(tier, grader):
    runnable("hostile-fork-bomb-scores-zero-ch1-matvec", tier)
    run = grade_fixture(grader, "hostile-fork-bomb-scores-zero-ch1-matvec", tier)
    started = re.search(r"hostile-fork-bomb: started (\d+), refused (\d+)", run.output(1))
    assert started, run.output(1)[-2000:]
    assert int(started.group(1)) < PROCESSES  # each round needs three new tasks; never more than two


@pytest.mark.parametrize("tier", tier_params())
def test_huge_files_stay_in_the_workers_folder(tier, grader):
    runnable("hostile-huge-files-score-zero-ch1-matvec", tier)
    run = grade_fixture(grader, "hostile-huge-files-score-zero-ch1-matvec", tier)
    report = re.search(r"hostile-huge-files: (.*)", run.output(1))
    assert report, run.output(1)[-2000:]
    assert ".: huge file stopped" in report.group(1)            # the file-size limit
    if tier == "bwrap":  # its folder is a 64 MiB tmpfs: the files stop long before 100 MiB
        assert re.search(r"\.: \d+ files, then No space left on device", report.group(1)), report.group(1)
    for shared in ("/tmp", "/dev/shm", "/var/tmp"):
        assert f"{shared}: 40 files written" not in report.group(1), report.group(1)


@pytest.mark.parametrize("tier", tier_params())
def test_reports_name_the_tier_and_what_it_cannot_do(tier, grader):
    runnable("honest:reference", tier)
    results = grader.honest("reference", tier).results
    assert results["sandbox"] == tier
    if tier == "process":
        assert results["sandbox_note"].startswith("process tier:")
        assert "Landlock" in results["sandbox_note"] or "cannot hide files" in results["sandbox_note"]


def test_the_course_tree_is_unchanged(grader, course_before):
    """Checked after the gradings of every selected test have run (the `grader` fixture runs them)."""
    assert not changes(course_before, snapshot(ROOT, COURSE_TREE))


# --- a batch: hostile and honest submissions graded together ----------------------------------

@pytest.mark.parametrize("tier", tier_params())
def test_batch_gives_honest_submissions_the_scores_they_get_alone(tier, grader):
    for name in BATCH_HOSTILE:
        runnable(name, tier)
    alone = {kind: grader.honest(kind, tier).scores() for kind in BATCH_HONEST}
    jobs = [lambda k=k: grader.grade(k, tier, lambda folder, _: honest(k, folder)) for k in BATCH_HONEST]
    jobs += [lambda n=n: grader.grade(n, tier, lambda folder, targets: assemble(n, folder, targets))
             for n in BATCH_HOSTILE]
    interleaved = [job for pair in zip(jobs[:4], jobs[4:]) for job in pair]
    for parallel in (1, 2):
        runs = HostileGrader.many(interleaved, parallel)
        for run in runs:
            check_left_nothing(run)
        for kind, run in zip(BATCH_HONEST, runs[::2]):
            assert run.scores() == alone[kind], (kind, parallel)
    assert alone["reference"] != alone["starters"]  # the comparison can tell submissions apart


# --- choosing the tier ------------------------------------------------------------------------

FAKE_BWRAP = """#!/bin/sh
echo "bwrap: No permissions to create new namespace, likely because the kernel does not allow \
non-privileged user namespaces." >&2
exit 1
"""


@pytest.fixture
def broken_bwrap(tmp_path) -> dict[str, str]:
    """An environment whose `bwrap` fails the way it does where user namespaces are disabled."""
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "bwrap").write_text(FAKE_BWRAP)
    (folder / "bwrap").chmod(0o755)
    return {"PATH": f"{folder}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}"}


@pytest.mark.skipif(bool(available("process")), reason=available("process") or "")
def test_sandbox_bwrap_fails_clearly_when_bubblewrap_cannot_run(grader, broken_bwrap):
    run = grader.grade("bwrap-broken", "bwrap", lambda folder, _: honest("reference", folder),
                       env=broken_bwrap)
    assert run.exit_code == 2, run.stderr
    assert "--sandbox bwrap" in run.stderr and "non-privileged user namespaces" in run.stderr
    assert "Traceback" not in run.stderr and run.results is None


@pytest.mark.skipif(bool(available("process")), reason=available("process") or "")
def test_auto_falls_back_to_the_process_tier_and_says_so(grader, broken_bwrap):
    run = grader.grade("bwrap-broken", "auto", lambda folder, _: honest("reference", folder),
                       env=broken_bwrap)
    assert run.exit_code == 0, run.stderr
    assert run.results["sandbox"] == "process"
    assert "bubblewrap cannot run here" in run.results["sandbox_note"]
    assert "non-privileged user namespaces" in run.results["sandbox_note"]
    assert run.results["score"] == grader.honest("reference", "process").results["score"]
