"""`grade batch` and `grade merge` on real classes: what they write, that nothing is lost or
different however the class is graded (one job or two, resumed, killed, sharded and merged),
and that a submission that hangs, crashes or attacks costs only its own time limit.

The classes leave chapter 7 out (it trains for seconds) except for one student in the SIGKILL
test, whose judge is killed mid-training."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from batch_support import (GRADE, PAGES, ROOT, batch_command, canonical, grade_batch, grades, manifest, run,
                           scores_bytes, short_course, sleepy, student, zip_bomb, zipped)

GRADED = ["<b>zoë", "ada", "ben", "chloe", "dev", "emma"]


def build_class(into: Path) -> Path:
    """Six gradable students with different mistakes, and four entries that must be refused."""
    into.mkdir(parents=True)
    student(into, "ada")                                            # ch1-6 right: 80 of 100
    student(into, "ben", "buggy-ch1-transpose-returns-rows")
    zipped(student(into, "chloe", "buggy-ch4-softmax-overflows"), into / "chloe.zip", top="chloe-mlp", junk=True)
    student(into, "dev", "missing-ch6-file")
    student(into, "emma", "unruly-syntax-error-ch4")
    student(into, "<b>zoë", keep=(1, 2, 3))                         # markup in an id; chapters 4-7 missing
    zip_bomb(into / "bomb.zip")
    (into / "dot..zip").write_bytes(b"")                            # student id "dot.", unsafe on Windows
    student(into, "=cmd()", keep=(1,))                              # a formula in a spreadsheet
    (into / "readme.txt").write_text("grade these please")
    return into


@pytest.fixture(scope="module")
def classroom(tmp_path_factory) -> Path:
    return build_class(tmp_path_factory.mktemp("class") / "submissions")


@pytest.fixture(scope="module")
def graded(classroom, tmp_path_factory):
    """The class graded once with two judges at a time, as the reference for the other runs."""
    report = tmp_path_factory.mktemp("report") / "class"
    started = time.monotonic()
    done = grade_batch(classroom, report, "--jobs", "2")
    return done, report, time.monotonic() - started


# --- what a batch writes ----------------------------------------------------------------------

def test_every_student_gets_a_folder_with_scorecard_and_results(graded):
    done, report, _ = graded
    assert done.returncode == 1, done.stderr        # 1: some entries were refused
    for name in GRADED:
        folder = report / name
        assert sorted(p.name for p in folder.iterdir()) == sorted([*PAGES, "results.json"])
        results = json.loads((folder / "results.json").read_text())
        assert len(results["chapters"]) == 7
        assert results["submission"]["path"] in (name, f"{name}.zip")   # the entry, not a scratch folder
    assert not (report / ".staging").exists()


def test_scores_are_those_of_each_students_mistakes(graded):
    _, report, _ = graded
    rows = {row["student"]: row for row in grades(report)}
    assert rows["ada"]["total"] == "80" and rows["ada"]["ch7"] == "0"
    assert rows["ben"]["ch1"] == "8" and rows["ben"]["total"] == "78"   # transpose costs its own 2 points only
    assert rows["chloe"]["ch4"] == "8"                               # graded from inside its zip's top folder
    assert rows["dev"]["ch6"] == "0" and rows["emma"]["ch4"] == "0"
    assert rows["<b>zoë"]["total"] == "32"


def test_refused_entries_are_reported_and_the_rest_go_on(graded):
    done, report, _ = graded
    refused = {r["name"]: r["reason"] for r in manifest(report)["scores"]["refused"]}
    assert set(refused) == {"dot..zip", "=cmd()", "readme.txt"}
    assert "formula" in refused["=cmd()"] and "ends with a space or a dot" in refused["dot..zip"]
    bomb = next(s for s in manifest(report)["scores"]["students"] if s["student"] == "bomb")
    assert bomb["status"] == "refused" and "bytes; at most" in bomb["reason"]
    rows = {row["student"]: row for row in grades(report)}
    assert rows["bomb"] == {**{k: "" for k in rows["bomb"]}, "student": "bomb", "status": "refused"}
    assert not (report / "bomb").exists() and not (report / "=cmd()").exists()
    chloe = next(s for s in manifest(report)["scores"]["students"] if s["student"] == "chloe")
    assert any("symbolic link" in note for note in chloe["notes"])
    for line in ("refused: readme.txt", "refused: bomb: bomb.zip would unpack to"):
        assert line in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_grades_csv_is_ready_for_a_gradebook(graded):
    _, report, _ = graded
    text = (report / "grades.csv").read_text()
    lines = text.splitlines()
    assert lines[0] == "student,ch1,ch2,ch3,ch4,ch5,ch6,ch7,total,status"
    assert [line.split(",")[0] for line in lines[1:]] == sorted(["bomb", *GRADED])
    assert not re.search(r"\d{4}-\d\d-\d\d", text)                 # no timestamps


def test_the_overview_shows_students_totals_and_criteria(graded):
    _, report, _ = graded
    page = (report / "index.html").read_text()
    assert 'href="%3Cb%3Ezo%C3%AB/index.html"' in page and "&lt;b&gt;zoë" in page and "<b>zoë" not in page
    assert page.count("<tr>") >= 7 and 'role="img"' in page and "Distribution of totals" in page
    assert "bomb.zip would unpack to" in page
    rates = re.search(r"transpose, including the empty matrix <small><code>ch1-transpose</code></small></th>"
                      r"<td class=\"num\">2</td><td class=\"num\">(.*?)</td>", page)
    assert rates and rates.group(1) == "5 of 6 (83.3%)"
    assert "Passed by the fewest students" in page
    for name in ("readme.txt", "=cmd()"):
        assert name in page


def test_progress_goes_to_stderr_as_plain_lines_off_a_terminal(graded):
    done, _, _ = graded
    lines = [line for line in done.stderr.splitlines() if line.startswith("[")]
    assert len(lines) == 10 and lines[-1].startswith("[10/10]")
    assert "\r" not in done.stderr
    assert "overview: " in done.stdout and "grades:" in done.stdout


# --- nothing lost, nothing different ------------------------------------------------------------

def test_one_job_two_jobs_resumed_and_sharded_runs_give_identical_scores(graded, classroom, tmp_path):
    _, reference, _ = graded
    one = tmp_path / "one"
    assert grade_batch(classroom, one, "--jobs", "1").returncode == 1
    resumed = tmp_path / "resumed"
    shutil.copytree(reference, resumed)
    again = grade_batch(classroom, resumed, "--jobs", "2")
    assert all(s["reused"] for name, s in manifest(resumed)["run"]["students"].items() if name in GRADED)
    assert "unchanged since the last run 6" in again.stdout
    shards = [tmp_path / f"shard-{i}" for i in (1, 2)]
    for i, shard in enumerate(shards, start=1):
        grade_batch(classroom, shard, "--shard", f"{i}/2")
    sizes = [len(manifest(s)["scores"]["students"]) + len(manifest(s)["scores"]["refused"]) for s in shards]
    assert sizes in ([5, 5], [5, 4], [4, 5]) or sum(sizes) == 10 and min(sizes) >= 4
    merged = tmp_path / "merged"
    merging = run([*GRADE, "merge", *map(str, shards), "--report-dir", str(merged)])
    assert merging.returncode == 1 and "merged 7 students" in merging.stdout, merging.stderr
    for other in (one, resumed, merged):
        assert scores_bytes(other) == scores_bytes(reference)
        assert (other / "grades.csv").read_bytes() == (reference / "grades.csv").read_bytes()
        assert (other / "index.html").read_bytes() == (reference / "index.html").read_bytes()
        assert canonical(other) == canonical(reference)


def test_resume_regrades_only_what_changed(graded, classroom, tmp_path):
    _, reference, _ = graded
    submissions, report = tmp_path / "submissions", tmp_path / "report"
    shutil.copytree(classroom, submissions)
    shutil.copytree(reference, report)
    shutil.copyfile(ROOT / "reference" / "01_math_foundations.py", submissions / "ben" / "01_math_foundations.py")
    done = grade_batch(submissions, report)
    students = manifest(report)["run"]["students"]
    assert not students["ben"]["reused"] and students["ben"]["seconds"] > 0
    assert all(students[name]["reused"] for name in GRADED if name != "ben")
    assert {row["student"]: row["total"] for row in grades(report)}["ben"] == "80"
    fresh = grade_batch(submissions, tmp_path / "fresh", "--no-resume", "--seed", "1")
    assert not any(s["reused"] for s in manifest(tmp_path / "fresh")["run"]["students"].values())
    assert manifest(tmp_path / "fresh")["scores"]["seed"] == 1, fresh.stderr


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        tree.setdefault(parent, []).append(int(stat.parent.name))
    return tree


def _judges_of(pid: int) -> list[int]:
    """The batch's warm judge server and the judges it forked (empty until one is grading)."""
    tree = _children()
    servers = [child for child in tree.get(pid, [])
               if b"grader.warm" in Path(f"/proc/{child}/cmdline").read_bytes()]
    judges = [judge for server in servers for judge in tree.get(server, [])]
    return [*servers, *judges] if judges else []


def _running(pid: int) -> bool:
    """Whether `pid` is a live process (a zombie waiting to be reaped is not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _check_whole(report: Path) -> int:
    """Every file under its real name is complete; returns how many students are finished."""
    finished = 0
    for folder in (p for p in report.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if (folder / "results.json").exists():
            json.loads((folder / "results.json").read_text())
            assert all((folder / page).exists() for page in PAGES), folder
            finished += 1
        for page in folder.glob("*.html"):
            assert page.read_text().rstrip().endswith("</html>"), page
    for name in ("batch.json",):
        if (report / name).exists():
            json.loads((report / name).read_text())
    return finished


def test_sigkill_at_any_moment_loses_nothing_finished(graded, classroom, tmp_path):
    _, reference, _ = graded
    submissions = tmp_path / "submissions"
    shutil.copytree(classroom, submissions)
    student(submissions, "full", keep=(1, 2, 3, 4, 5, 6, 7))       # trains the classifier: killed mid-way
    report = tmp_path / "report"
    finished_before = 0
    for trigger in ("started", "first", "third"):
        process = subprocess.Popen(batch_command(submissions, report, "--jobs", "2"), cwd=ROOT,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            done = len(list(report.glob("*/results.json"))) if report.exists() else 0
            if trigger == "started" and _judges_of(process.pid):
                break
            if trigger == "first" and done > finished_before:
                break
            if trigger == "third" and done >= 3:
                break
            time.sleep(0.05)
        assert process.poll() is None, f"the batch ended before the {trigger} kill"
        judges = _judges_of(process.pid)
        process.send_signal(signal.SIGKILL)
        process.wait()
        time.sleep(1.0)
        assert not [pid for pid in judges if _running(pid)], "a judge outlived the batch"
        finished = _check_whole(report)
        assert finished >= finished_before                          # nothing finished was lost
        finished_before = finished
    final = grade_batch(submissions, report, "--jobs", "2")
    assert final.returncode == 1, final.stderr
    students = manifest(report)["run"]["students"]
    assert sum(s["reused"] for s in students.values()) >= finished_before
    assert not (report / ".staging").exists()
    expected = canonical(reference)
    got = canonical(report)
    assert got.pop("full")[6][2] == 20                              # chapter 7 trained and passed
    assert got == expected


def test_hanging_and_crashing_submissions_cost_only_their_own_limit(tmp_path):
    course = short_course(tmp_path / "course")
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    student(submissions, "ada")
    sleepy(submissions, "sleeper")                                  # past its 5 s limit: stopped
    student(submissions, "exiter", "unruly-os-exit-at-ch3-import")
    student(submissions, "looper", "unruly-endless-loop-in-ch2-sigmoid")
    started = time.monotonic()
    process = subprocess.Popen(batch_command(submissions, tmp_path / "report", "--course", str(course), "--jobs", "2",
                                             "--timeout", "5"), cwd=ROOT, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, stderr = process.communicate(timeout=300)
    elapsed = time.monotonic() - started
    assert process.returncode == 1, stderr
    records = {s["student"]: s for s in manifest(tmp_path / "report")["scores"]["students"]}
    assert records["sleeper"]["status"] == "error" and "limit of 5 s" in records["sleeper"]["reason"]
    assert records["ada"]["score"] == 80 and records["exiter"]["score"] == 68
    looper = {ch["number"]: ch for ch in records["looper"]["chapters"]}
    assert ["ch2-sigmoid", "timeout", 0] in looper[2]["criteria"]
    assert [looper[n]["score"] for n in (1, 3, 4, 5, 6)] == [10, 12, 10, 24, 14]
    assert elapsed < 25, elapsed
    assert not [pid for pid in _judges_of(process.pid) if _running(pid)], "a judge outlived its batch"


# --- usage errors -----------------------------------------------------------------------------

@pytest.mark.parametrize("options, says", [
    (["--shard", "3/2"], "--shard '3/2'"),
    (["--jobs", "2", "--scheduler", "tcp://127.0.0.1:1"], "--jobs is for this machine"),
    (["--sandbox", "nonsense"], "Invalid value"),
])
def test_bad_options_are_one_line_and_exit_2(classroom, tmp_path, options, says):
    done = grade_batch(classroom, tmp_path / "r", *options)
    assert done.returncode == 2 and says in done.stderr and "Traceback" not in done.stderr


def test_a_missing_submissions_folder_is_a_usage_error(tmp_path):
    done = grade_batch(tmp_path / "nope", tmp_path / "r")
    assert done.returncode == 2 and "is not a folder" in done.stderr


def test_merge_refuses_the_same_student_twice_and_different_seeds(graded, tmp_path):
    _, reference, _ = graded
    twice = run([*GRADE, "merge", str(reference), str(reference),
                 "--report-dir", str(tmp_path / "m")])
    assert twice.returncode == 2 and "is in both" in twice.stderr
    other = tmp_path / "other"
    shutil.copytree(reference, other)
    data = manifest(other)
    data["scores"]["seed"] += 1
    (other / "batch.json").write_text(json.dumps(data))
    mixed = run([*GRADE, "merge", str(reference), str(other),
                 "--report-dir", str(tmp_path / "m2")])
    assert mixed.returncode == 2 and "different seed" in mixed.stderr


HOSTILE_IN_BATCH = ("hostile-fork-bomb-scores-zero-ch1-matvec", "hostile-kills-everything-scores-zero-ch1-matvec",
                    "hostile-memory-bomb-scores-zero-ch1-vector-ops", "hostile-daemon-leaves-nothing-ch1")
ATTACKED = {"hostile-fork-bomb-scores-zero-ch1-matvec": "ch1-matvec",
            "hostile-kills-everything-scores-zero-ch1-matvec": "ch1-matvec",
            "hostile-memory-bomb-scores-zero-ch1-vector-ops": "ch1-vector-ops"}


def test_judges_forked_from_one_warm_server_keep_submissions_apart(tmp_path):
    """Hostile submissions (a fork bomb, one that signals every process it can, a memory bomb, a
    daemon) graded two at a time beside honest ones, all judges forked from the same warm
    server: each honest student gets exactly the scores it gets in a class of its own."""
    import hostile_support
    from grader.sandbox.identity import privileged
    from grader.sandbox.tiers import protections

    if privileged() and not any(note.startswith("uid ") for note in protections("bwrap")):
        pytest.skip("the sandbox would run hostile code as root here")
    course = short_course(tmp_path / "course", request_timeout=2.0, chapter_timeout=10.0)
    honest_only, mixed = tmp_path / "honest", tmp_path / "mixed"
    targets = hostile_support.Targets(tmp_path / "unused-report", tmp_path / "canary", tmp_path / "decoy", "marker")
    for kind in ("reference", "bug-in-transpose", "bug-in-sigmoid-derivative"):
        for folder in (honest_only, mixed):
            hostile_support.honest(kind, folder / kind)
    for name in HOSTILE_IN_BATCH:
        hostile_support.assemble(name, mixed / name, targets)
    alone = grade_batch(honest_only, tmp_path / "alone", "--course", str(course), "--jobs", "1")
    together = grade_batch(mixed, tmp_path / "together", "--course", str(course), "--jobs", "2")
    assert alone.returncode in (0, 1) and together.returncode in (0, 1), together.stdout + together.stderr

    def scores(report: Path, student_id: str) -> dict[str, float]:
        results = json.loads((report / student_id / "results.json").read_text())
        return {c["id"]: c["score"] for ch in results["chapters"] for c in ch["criteria"]}

    for kind in ("reference", "bug-in-transpose", "bug-in-sigmoid-derivative"):
        assert scores(tmp_path / "together", kind) == scores(tmp_path / "alone", kind), kind
    for name, criterion in ATTACKED.items():
        assert scores(tmp_path / "together", name)[criterion] == 0, name


def test_a_judge_grades_alike_with_the_warm_servers_course_and_with_its_own_copy(graded, classroom, tmp_path):
    """Batch judges grade with the course their warm server pre-loaded (the job's, byte for byte);
    a judge started on its own writes the job's course out and loads it. Both give the same
    outcome of every test, message included."""
    from grader.batch.bundle import CourseFiles, Job, bundle_of, job_json
    from grader.course import load_course
    from grader.submission import locate_submission

    _, report, _ = graded
    course = load_course(ROOT / "course.yaml")
    for name in ("ben", "chloe"):
        folder = classroom / name if (classroom / name).is_dir() else None
        if folder is None:
            continue  # chloe arrives zipped: ben is enough
        batch = json.loads((report / name / "results.json").read_text())
        bundle = bundle_of(locate_submission(folder, course), course)
        job = job_json(Job(name, name, CourseFiles.of(course), bundle, batch["seed"], batch["sandbox"], 300.0))
        out = tmp_path / name
        done = subprocess.run([sys.executable, "-m", "grader.batch.judge", str(out)], input=json.dumps(job),
                              capture_output=True, text=True, cwd=ROOT, timeout=300)
        assert done.returncode == 0, done.stderr
        alone = json.loads((out / "results.json").read_text())

        def outcomes(results):
            return [(c["id"], c["score"], c["status"], c["message"]) for ch in results["chapters"]
                    for c in ch["criteria"]]
        assert outcomes(alone) == outcomes(batch)
