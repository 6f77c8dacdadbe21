"""The pure parts of batch grading: student ids, shards, safe unzipping, the histogram, grades.csv,
progress, resume keys and atomic publication. No grading runs here."""

from __future__ import annotations

import io
import json
import os
import stat
import struct
import zipfile
from pathlib import Path

import pytest

from grader.batch.entries import Shard, collect_entries, parse_shard, select_shard, unsafe_id
from grader.batch.gradebook import grades_csv
from grader.batch.histogram import bin_counts, histogram
from grader.batch.progress import Progress, bar_line, clock_text, eta_seconds
from grader.batch.records import Outline, StudentRecord, canonical_results, scores_json
from grader.batch.store import ResumeKey, Store, key_of
from grader.batch.unzip import Limits, ZipRefused, member_parts, safe_unzip
from grader.course import load_course
from grader.errors import UsageError

from submissions import ROOT

COURSE = load_course(ROOT / "course.yaml")
OUTLINE = Outline.of(COURSE)


# --- student ids and entries ------------------------------------------------------------------

@pytest.mark.parametrize("student", ["alice", "Zoë Müller", "s1234567", "alice@uni.example", "<b>bold",
                                     "O'Brien (2)", "李雷"])
def test_ordinary_ids_are_accepted(student):
    assert unsafe_id(student) is None


@pytest.mark.parametrize("student, says", [
    ("..", "usable"), (".", "usable"), ("", "usable"), ("a\\b", "separator"), ("tab\there", "control"),
    ("zero\u200bwidth", "control"), (".hidden", "dot"), (" lead", "starts with a space"),
    ("trail.", "ends with"), ("trail ", "ends with"), ("index.html", "uses itself"), ("GRADES.CSV", "uses itself"),
    ("=HYPERLINK(1)", "formula"), ("+1", "formula"), ("-x", "formula"), ("@x", "formula"), ("x" * 200, "longer"),
])
def test_unsafe_ids_are_refused_with_a_reason(student, says):
    assert says in unsafe_id(student)


def test_collect_entries_takes_folders_and_zips_and_refuses_the_rest(tmp_path):
    for name in ("bob", "alice", "=evil"):
        (tmp_path / name).mkdir()
    (tmp_path / "carol.zip").write_bytes(b"")
    (tmp_path / "CAROL.ZIP").write_bytes(b"")     # the same student on a case-blind disk
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / ".DS_Store").write_text("x")
    (tmp_path / "link").symlink_to(tmp_path / "bob")
    collected = collect_entries(tmp_path)
    assert [(e.student, e.kind) for e in collected.entries] == [("alice", "folder"), ("bob", "folder")]
    reasons = {r.name: r.reason for r in collected.refusals}
    assert set(reasons) == {"=evil", "CAROL.ZIP", "carol.zip", "link", "notes.txt"}
    assert "formula" in reasons["=evil"] and "one student" in reasons["carol.zip"]
    assert "symbolic link" in reasons["link"] and "neither a folder nor a .zip" in reasons["notes.txt"]


def test_shards_partition_the_class_and_its_refusals(tmp_path):
    for i in range(7):
        (tmp_path / f"s{i}").mkdir()
    (tmp_path / "junk.txt").write_text("x")
    collected = collect_entries(tmp_path)
    parts = [select_shard(collected, Shard(i, 3)) for i in (1, 2, 3)]
    students = [e.student for part in parts for e in part.entries]
    assert sorted(students) == [e.student for e in collected.entries]       # each student exactly once
    assert sum(len(part.refusals) for part in parts) == 1
    assert select_shard(collected, Shard(2, 3)) == select_shard(collect_entries(tmp_path), Shard(2, 3))


@pytest.mark.parametrize("text", ["0/2", "3/2", "1", "a/b", "1/0", "/"])
def test_bad_shards_are_usage_errors(text):
    with pytest.raises(UsageError):
        parse_shard(text)


# --- safe unzipping ---------------------------------------------------------------------------

def make_zip(path: Path, members: dict[str, bytes], *, links: dict[str, str] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zipped:
        for name, data in members.items():
            zipped.writestr(name, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zipped.writestr(info, target)
    return path


def test_a_zip_with_a_nested_top_folder_unpacks_and_drops_macos_forks(tmp_path):
    archive = make_zip(tmp_path / "a.zip", {"work/01_math_foundations.py": b"x = 1\n",
                                            "__MACOSX/work/._01_math_foundations.py": b"junk",
                                            "work/sub/": b""})
    unzipped = safe_unzip(archive, tmp_path / "out")
    assert (tmp_path / "out" / "work" / "01_math_foundations.py").read_bytes() == b"x = 1\n"
    assert not (tmp_path / "out" / "__MACOSX").exists()
    assert unzipped.notes == ()


def test_symbolic_links_in_a_zip_are_never_created(tmp_path):
    archive = make_zip(tmp_path / "a.zip", {"ok.py": b"1"},
                       links={"01_math_foundations.py": "/etc/passwd", "up": "../../.."})
    unzipped = safe_unzip(archive, tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["ok.py"]
    assert len(unzipped.notes) == 2 and all("symbolic link" in note for note in unzipped.notes)


@pytest.mark.parametrize("name, says", [("/etc/evil.py", "absolute"), ("../evil.py", "'..'"),
                                        ("a/../../evil.py", "'..'"), ("C:/evil.py", "absolute"),
                                        ("..\\evil.py", "'..'")])
def test_members_that_would_land_outside_are_refused(tmp_path, name, says):
    archive = make_zip(tmp_path / "a.zip", {"fine.py": b"1", name: b"boom"})
    with pytest.raises(ZipRefused, match=says):
        safe_unzip(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists() and not (tmp_path / "evil.py").exists()


def test_too_many_files_are_refused_before_unpacking(tmp_path):
    archive = make_zip(tmp_path / "a.zip", {f"f{i}.py": b"" for i in range(30)})
    with pytest.raises(ZipRefused, match="30 entries"):
        safe_unzip(archive, tmp_path / "out", Limits(files=20))


def test_a_zip_bomb_is_refused(tmp_path):
    archive = make_zip(tmp_path / "a.zip", {"bomb.bin": bytes(50 << 20)})   # 50 MiB of zeros, ~50 KB packed
    assert archive.stat().st_size < 200_000
    with pytest.raises(ZipRefused, match="bytes; at most|zip bomb"):
        safe_unzip(archive, tmp_path / "out")
    with pytest.raises(ZipRefused, match="zip bomb"):   # under the size cap, it is the ratio that gives it away
        safe_unzip(archive, tmp_path / "out2", Limits(total_bytes=1 << 30))


def test_a_zip_that_lies_about_its_sizes_cannot_unpack_more_than_it_declares(tmp_path):
    real = 3_000_001
    archive = make_zip(tmp_path / "a.zip", {"lie.bin": os.urandom(1000) * (real // 1000) + b"x"})
    data = archive.read_bytes()
    packed = struct.pack("<I", real)
    assert data.count(packed) == 2                  # the local header and the central directory
    archive.write_bytes(data.replace(packed, struct.pack("<I", 100)))
    try:
        safe_unzip(archive, tmp_path / "out", Limits(total_bytes=1000))
    except ZipRefused:
        assert not (tmp_path / "out").exists()
    else:  # the sizes that were checked are the sizes that were written
        assert (tmp_path / "out" / "lie.bin").stat().st_size <= 100


def test_what_is_not_a_zip_is_refused_not_raised(tmp_path):
    (tmp_path / "a.zip").write_bytes(b"PK\x03\x04 this is not really a zip")
    with pytest.raises(ZipRefused, match="not a readable zip"):
        safe_unzip(tmp_path / "a.zip", tmp_path / "out")


def test_encrypted_members_are_refused(tmp_path):
    archive = make_zip(tmp_path / "a.zip", {"secret.py": b"1"})
    data = bytearray(archive.read_bytes())
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(signature)
        data[at + flag_offset] |= 0x1
    archive.write_bytes(bytes(data))
    with pytest.raises(ZipRefused, match="encrypted"):
        safe_unzip(archive, tmp_path / "out")


def test_unpacking_counts_the_bytes_really_produced():
    from grader.batch.unzip import _copy_capped
    with pytest.raises(ZipRefused, match="larger than the archive says"):
        _copy_capped(io.BytesIO(b"x" * 100), io.BytesIO(), budget=1000, declared=10, name="m")
    with pytest.raises(ZipRefused, match="zip bomb"):
        _copy_capped(io.BytesIO(b"x" * 100), io.BytesIO(), budget=50, declared=100, name="m")
    assert _copy_capped(io.BytesIO(b"x" * 100), io.BytesIO(), budget=100, declared=100, name="m") == 100


def test_member_parts_ignore_empty_and_dot_components():
    assert member_parts("a//./b.py") == ("a", "b.py")


# --- the histogram, grades.csv and batch.json -------------------------------------------------

def test_bins_hold_their_lower_edge_and_the_last_holds_full_marks():
    assert bin_counts([0, 9.99, 10, 55, 99.5, 100], 100) == [2, 1, 0, 0, 0, 1, 0, 0, 0, 2]
    assert bin_counts([3, 4], 4) == [0, 0, 0, 2]


def test_histogram_geometry_counts_every_student():
    figure = histogram([10, 20, 20, 100], 100)
    assert sum(c.count for c in figure.columns) == 4
    assert [t.label for t in figure.x_ticks][0::5] == ["0", "50", "100"]
    tallest = max(figure.columns, key=lambda c: c.count)
    assert tallest.count == 2 and tallest.y == figure.top
    assert "mean 37.5" in figure.summary


def results_for(score_by_chapter: dict[int, int], sha: str = "a" * 64) -> dict:
    chapters = [{"number": ch.number, "status": "graded" if ch.number in score_by_chapter else "missing",
                 "score": score_by_chapter.get(ch.number, 0), "max_score": ch.max_score,
                 "criteria": [{"id": c.id, "status": "passed" if ch.number in score_by_chapter else "failed",
                               "score": 0} for c in ch.criteria]} for ch in OUTLINE.chapters]
    return {"grader_version": "0.1.0", "seed": 7, "course": {"sha256": COURSE.sha256},
            "submission": {"sha256": sha}, "sandbox": "process",
            "score": sum(score_by_chapter.values()), "max_score": 100, "chapters": chapters}


def test_grades_csv_is_sorted_and_leaves_ungraded_students_empty():
    records = [StudentRecord("zoe", "zoe", "graded", results_for({1: 10, 2: 7.5})),
               StudentRecord("adam", "adam.zip", "refused", reason="bomb")]
    text = grades_csv(records, OUTLINE)
    assert text.splitlines() == ["student,ch1,ch2,ch3,ch4,ch5,ch6,ch7,total,status",
                                 "adam,,,,,,,,,refused",
                                 "zoe,10,7.5,0,0,0,0,0,17.5,graded"]
    assert text.endswith("\r\n")


def test_scores_json_ignores_order_and_timing():
    a = StudentRecord("a", "a", "graded", results_for({1: 10}), seconds=3.0, reused=False)
    b = StudentRecord("b", "b", "error", reason="took too long", seconds=9.0)
    first = scores_json(OUTLINE, "0.1.0", 7, [a, b], [("x.txt", "junk")])
    again = scores_json(OUTLINE, "0.1.0", 7, [b, StudentRecord("a", "a", "graded", a.results, reused=True)],
                        [("x.txt", "junk")])
    assert json.dumps(first) == json.dumps(again)
    assert first["students"][0]["chapters"][0]["criteria"][0] == ["ch1-imports", "passed", 0]
    assert canonical_results(a.results)["score"] == 10


# --- progress -----------------------------------------------------------------------------------

def test_eta_and_clock_text():
    assert eta_seconds(10.0, 2, 6) == 30.0
    assert eta_seconds(10.0, 0, 6) is None
    assert clock_text(None) == "--:--" and clock_text(75) == "1:15" and clock_text(3725) == "1:02:05"
    line = bar_line(6, 24, {"reused": 2, "refused": 0}, 30.0)
    assert "6/24" in line and "2 reused" in line and "refused" not in line and "ETA 0:30" in line


def test_progress_prints_plain_lines_off_a_terminal():
    stream = io.StringIO()
    progress = Progress(stream, tty=False, clock=iter(range(100)).__next__)
    progress.start(2)
    progress.add(StudentRecord("a", "a", "graded", results_for({1: 10}), seconds=1.5))
    progress.add(StudentRecord("b", "b.zip", "refused", reason="b.zip is a zip bomb"))
    progress.finish()
    lines = stream.getvalue().splitlines()
    assert lines[0] == "[1/2] a: 10/100 in 1.5 s"
    assert lines[1] == "[2/2] b: refused: b.zip is a zip bomb"
    assert "\r" not in stream.getvalue()


def test_progress_redraws_a_bar_on_a_terminal(monkeypatch):
    monkeypatch.setattr("grader.batch.progress.REDRAW_SECONDS", 3600)   # no redraw between the steps
    stream = io.StringIO()
    progress = Progress(stream, tty=True, clock=iter(range(100)).__next__)
    progress.start(2)
    progress.add(StudentRecord("a", "a", "graded", results_for({1: 10}), seconds=1.5))
    progress.finish()
    text = stream.getvalue()
    assert "\r\x1b[K" in text and "1/2" in text and "ETA" in text and "[1/2]" not in text
    assert text.splitlines()[-1].endswith("2 entries done in 0:03")


# --- resume keys and publication ----------------------------------------------------------------

def test_resume_key_reads_the_four_things_a_result_depends_on():
    assert key_of(results_for({1: 10}, sha="b" * 64)) == ResumeKey("b" * 64, COURSE.sha256, "0.1.0", 7)
    assert key_of({"chapters": []}) is None


def test_a_student_is_published_with_results_json_last(tmp_path, monkeypatch):
    store = Store(tmp_path / "class")
    store.prepare()
    order = []
    real_replace = Path.replace
    monkeypatch.setattr(Path, "replace", lambda self, target: (order.append(Path(target).name),
                                                                real_replace(self, target))[1])
    store.publish_student("ann", {"results.json": "{}", "index.html": "<p>", "chapter-01.html": "<p>"})
    assert order == ["chapter-01.html", "index.html", "results.json"]
    assert stat.S_IMODE((tmp_path / "class" / "ann" / "index.html").stat().st_mode) & 0o044 == 0o044
    with pytest.raises(ValueError):
        store.publish_student("ann", {"results.json": "{}", "../x.html": ""})
    store.finish()


def test_a_killed_runs_leftovers_are_cleared_and_two_runs_cannot_share_a_folder(tmp_path):
    (tmp_path / ".staging").mkdir()
    (tmp_path / ".staging" / "half.tmp").write_text("half")
    store = Store(tmp_path)
    store.prepare()
    assert not (tmp_path / ".staging" / "half.tmp").exists()
    with pytest.raises(UsageError, match="another batch"):
        Store(tmp_path).prepare()
    store.finish()
    Store(tmp_path).prepare()   # free again


# --- the example class (make demo) ----------------------------------------------------------------

def test_the_example_class_assembles_into_seven_submissions(tmp_path):
    import subprocess
    import sys
    out = tmp_path / "class"
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "assemble_class.py"), str(out)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    collected = collect_entries(out)
    assert [(e.student, e.kind) for e in collected.entries] == [
        ("ada", "folder"), ("ben", "folder"), ("chloe", "zip"), ("dev", "folder"), ("emma", "folder"),
        ("farid", "folder"), ("gia", "folder")]
    assert collected.refusals == ()
    assert len(list((out / "ada").glob("0*.py"))) == 7 and len(list((out / "emma").glob("0*.py"))) == 3
    with zipfile.ZipFile(out / "chloe.zip") as zipped:
        assert sorted(zipped.namelist())[0] == "chloe/01_math_foundations.py" and len(zipped.namelist()) == 6
    again = subprocess.run([sys.executable, str(ROOT / "examples" / "assemble_class.py"), str(out)],
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and len(list(out.iterdir())) == 7      # rebuilt, not added to


def test_a_judge_takes_the_servers_course_only_when_it_is_the_jobs_byte_for_byte(tmp_path, monkeypatch):
    from grader import warm
    from grader.batch import judge
    from grader.batch.bundle import CourseFiles
    from grader.batch import task
    from grader.batch.task import _course_environment
    from grader.course import load_course

    monkeypatch.setattr(task, "_course_files", {})   # this test damages its copy below
    files = CourseFiles.of(load_course(ROOT / "course.yaml"))
    job_course = job_json_course(files)
    environment = _course_environment(job_course)
    assert _course_environment(job_course) == environment          # written once per process
    preloaded = load_course(Path(environment[warm.COURSE_ENV]))
    monkeypatch.setattr(warm, "_preloaded", preloaded)
    assert judge._preloaded(files) is preloaded
    name, data = files.reference[0]
    changed = CourseFiles(files.name, files.text, ((name, data + b"\n"), *files.reference[1:]))
    assert judge._preloaded(changed) is None                        # one byte of the reference differs
    assert judge._preloaded(CourseFiles(files.name, files.text + "\n", files.reference)) is None
    (preloaded.reference / name).unlink()
    assert judge._preloaded(files) is None                          # the server's copy went away
    monkeypatch.setattr(warm, "_preloaded", None)
    assert judge._preloaded(files) is None


def job_json_course(files):
    from grader.batch.bundle import Bundle, Job, job_json

    return job_json(Job("s", "s", files, Bundle(()), None, "process", 1.0))["course"]
