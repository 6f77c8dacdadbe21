"""`grade batch --roster ROSTER.csv`: the roster read and matched against the class folder, and the
gradebook files for Canvas and Moodle. Nothing is imported from either system: the files are
checked against the columns each one documents (Canvas: the gradebook export's Student, ID, SIS
User ID, SIS Login ID, Section, then one column per item and a "Points Possible" row; Moodle: an
identifier column, here the email address, then one column per grade item and feedback), and
read back with the csv module."""

from __future__ import annotations

import csv
import io
import json
import sys

import pytest

from batch_support import GRADE, grade_batch, run, short_course, student, zip_bomb
from grader.batch.entries import collect_entries
from grader.batch.lms import CANVAS_IDENTITY, MOODLE_IDENTITY, canvas_csv, moodle_csv
from grader.batch.records import ChapterOutline, Outline, StudentRecord
from grader.batch.roster import load_roster, match, parse_roster
from grader.course import parse_course
from grader.errors import CourseError, UsageError
from submissions import ROOT

ROSTER = ("submission,student_id,name,email,section\r\n"
          "alice,1001,Alice Martin,alice@uni.example,A\r\n"
          "Bob,1002,Bob Stone,bob@uni.example,B\r\n"
          "carol,1003,=HYPERLINK(\"http://x\"),carol@uni.example,A\r\n")

OUTLINE = Outline("MLP from scratch", "1.0", "c0" * 32, 20,
                  (ChapterOutline(1, "Math foundations", 10, ()), ChapterOutline(2, "A single neuron", 10, ())))


def graded(name: str, ch1: float, ch2: float) -> StudentRecord:
    results = {"score": ch1 + ch2, "chapters": [{"number": 1, "score": ch1}, {"number": 2, "score": ch2}]}
    return StudentRecord(name, name, "graded", results)


def rows(text: str) -> list[list[str]]:
    assert text.endswith("\r\n")               # RFC 4180 line ends, as spreadsheets expect
    return list(csv.reader(io.StringIO(text, newline="")))


# --- reading and matching (pure) ----------------------------------------------------------------

def test_a_roster_is_read_in_its_order_with_a_byte_order_mark_and_blank_lines():
    roster = parse_roster("\ufeff" + ROSTER + ",,,,\r\n", "roster.csv")
    assert [s.submission for s in roster.students] == ["alice", "Bob", "carol"]
    assert roster.students[1].email == "bob@uni.example" and roster.students[1].section == "B"


def test_the_columns_can_be_named_in_course_yaml():
    text = (ROOT / "course.yaml").read_text() + "\nroster:\n  submission: Folder\n  student_id: SIS User ID\n"
    course = parse_course(text, ROOT / "course.yaml")
    assert course.roster == {"submission": "Folder", "student_id": "SIS User ID"}
    roster = parse_roster("Folder,SIS User ID,name,email\nalice,1001,Alice,a@x\n", "r.csv", course.roster)
    assert roster.students[0].student_id == "1001" and roster.students[0].section == ""
    with pytest.raises(CourseError, match=r"course.roster.sub: unknown key"):
        parse_course((ROOT / "course.yaml").read_text() + "\nroster:\n  sub: Folder\n", ROOT / "course.yaml")


@pytest.mark.parametrize("text, says", [
    ("", "roster.csv: the roster is empty"),
    ("submission,student_id,name\nalice,1,A\n", "roster.csv: line 1 has no column 'email'"),
    ("submission,student_id,name,email\nalice,,A,a@x\n", "roster.csv: line 2: the 'student_id' cell is empty"),
    ("submission,student_id,name,email\nalice,1,A,a@x\nALICE,2,B,b@x\n",
     "roster.csv: line 3: submission 'ALICE' is also on line 2"),
    ("submission,student_id,name,email\nalice,1,A,a@x\nbob,1,B,b@x\n", "roster.csv: line 3: student_id '1' is also on line 2"),
])
def test_a_bad_roster_is_one_error_naming_the_file_and_line(text, says):
    with pytest.raises(UsageError) as error:
        parse_roster(text, "roster.csv")
    assert str(error.value).startswith(says) and "\n" not in str(error.value)


def test_matching_finds_missing_students_and_submissions_of_nobody():
    matched = match(parse_roster(ROSTER, "roster.csv"), ["bob", "alice", "zed", "Yann"])
    assert [(s.student_id, name) for s, name in matched.students] == [("1001", "alice"), ("1002", "bob"), ("1003", None)]
    assert [s.submission for s in matched.missing] == ["carol"]
    assert matched.unmatched == ("Yann", "zed")


# --- the gradebook files (pure) ------------------------------------------------------------------

def test_canvas_csv_has_canvas_columns_a_points_possible_row_and_a_row_per_rostered_student():
    matched = match(parse_roster(ROSTER, "roster.csv"), ["alice", "bob", "zed"])
    records = [graded("alice", 10, 7.5), StudentRecord("bob", "bob.zip", "refused", reason="bob.zip is a zip bomb"),
               graded("zed", 1, 1)]
    table = rows(canvas_csv(matched, records, OUTLINE))
    assert table[0] == [*CANVAS_IDENTITY, "Chapter 1: Math foundations", "Chapter 2: A single neuron",
                        "MLP from scratch: total"]
    assert CANVAS_IDENTITY == ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
    assert table[1] == ["Points Possible", "", "", "", "", "10", "10", "20"]
    assert table[2] == ["Alice Martin", "", "1001", "", "A", "10", "7.5", "17.5"]
    assert table[3] == ["Bob Stone", "", "1002", "", "B", "", "", ""]           # refused: no grade, not 0
    assert table[4] == ["'=HYPERLINK(\"http://x\")", "", "1003", "", "A", "", "", ""]   # missing; formula quoted
    assert len(table) == 5                                                        # zed is on no roster
    assert all(len(row) == len(table[0]) for row in table)


def test_moodle_csv_identifies_students_by_email_and_says_who_is_missing():
    matched = match(parse_roster(ROSTER, "roster.csv"), ["alice", "bob"])
    records = [graded("alice", 10, 7.5), StudentRecord("bob", "bob", "error", reason="the judge crashed")]
    reader = csv.DictReader(io.StringIO(moodle_csv(matched, records, OUTLINE), newline=""))
    assert reader.fieldnames == [*MOODLE_IDENTITY, "Chapter 1: Math foundations", "Chapter 2: A single neuron",
                                 "MLP from scratch: total", "Feedback"]
    assert MOODLE_IDENTITY[0] == "Email address"
    table = {row["Email address"]: row for row in reader}
    assert list(table) == ["alice@uni.example", "bob@uni.example", "carol@uni.example"]
    assert table["alice@uni.example"]["MLP from scratch: total"] == "17.5" and table["alice@uni.example"]["Feedback"] == ""
    assert table["bob@uni.example"]["Chapter 1: Math foundations"] == ""
    assert table["bob@uni.example"]["Feedback"] == "not graded: the judge crashed"
    assert table["carol@uni.example"]["Feedback"] == "missing: no submission"
    assert table["carol@uni.example"]["Full name"].startswith("'=")


# --- the real command ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def rostered(tmp_path_factory):
    """A class of three entries (one a zip bomb) and a roster of four, one of whom submitted
    nothing and one entry of nobody on it; chapters 1-2 only, to stay fast."""
    root = tmp_path_factory.mktemp("rostered")
    course = short_course(root / "course")
    folder = root / "class"
    folder.mkdir()
    student(folder, "alice", keep=(1, 2))
    student(folder, "dave", "buggy-ch1-transpose-returns-rows", keep=(1, 2))
    zip_bomb(folder / "bob.zip")
    student(folder, "stranger", keep=(1,))
    roster = root / "roster.csv"
    roster.write_text(ROSTER + "dave,1004,Dave Roe,dave@uni.example,B\r\n", encoding="utf-8")
    report = root / "report"
    run = grade_batch(folder, report, "--course", str(course), "--roster", str(roster), "--jobs", "2")
    return run, report, roster, folder, course


def test_grade_batch_with_a_roster_writes_both_gradebooks_and_names_who_is_missing(rostered):
    batch, report, roster, _, _ = rostered
    assert batch.returncode == 1, batch.stderr          # the zip bomb was refused
    assert f"roster {roster}: 4 students, 1 without a submission, 1 submission of nobody on it" in batch.stdout
    assert "  missing: =HYPERLINK(\"http://x\") (1003): no submission 'carol'" in batch.stdout
    assert "  not on the roster: stranger" in batch.stdout
    assert f"canvas:   {report / 'canvas.csv'}" in batch.stdout and f"moodle:   {report / 'moodle.csv'}" in batch.stdout
    results = {name: json.loads((report / name / "results.json").read_text()) for name in ("alice", "dave")}
    canvas = rows((report / "canvas.csv").read_bytes().decode("utf-8"))
    assert canvas[0][:5] == list(CANVAS_IDENTITY) and canvas[1][0] == "Points Possible"
    assert canvas[1][-1] == "100" and len(canvas[0]) == 5 + 7 + 1
    by_id = {row[2]: row for row in canvas[2:]}
    assert list(by_id) == ["1001", "1002", "1003", "1004"]
    assert by_id["1001"][-1] == str(results["alice"]["score"]) and by_id["1001"][5] == "10"
    assert by_id["1004"][5] == str(results["dave"]["chapters"][0]["score"]) and by_id["1004"][5] != "10"
    assert by_id["1002"][5:] == [""] * 8 and by_id["1003"][5:] == [""] * 8
    moodle = {row["Email address"]: row for row in csv.DictReader(open(report / "moodle.csv", newline="", encoding="utf-8"))}
    assert moodle["bob@uni.example"]["Feedback"].startswith("not graded: bob.zip ")
    assert moodle["carol@uni.example"]["Feedback"] == "missing: no submission"
    page = (report / "index.html").read_text()
    assert "Submissions of nobody on the roster (1)" in page and "<code>stranger</code>" in page
    assert "Missing: on the roster, no submission (1)" in page and "=HYPERLINK(&#34;http://x&#34;)" in page


def test_shards_merged_with_the_roster_give_the_same_gradebooks(rostered, tmp_path):
    _, report, roster, folder, course = rostered
    for shard in ("1/2", "2/2"):
        graded = grade_batch(folder, tmp_path / shard.replace("/", "-of-"), "--course", str(course), "--shard", shard)
        assert graded.returncode in (0, 1), graded.stderr
    merged = tmp_path / "merged"
    done = run([*GRADE, "merge", str(tmp_path / "1-of-2"), str(tmp_path / "2-of-2"), "--report-dir", str(merged),
                "--roster", str(roster), "--course", str(course)])
    assert done.returncode == 1, done.stderr        # the zip bomb is still refused
    assert "  missing: =HYPERLINK(\"http://x\") (1003): no submission 'carol'" in done.stdout
    assert "  not on the roster: stranger" in done.stdout and f"canvas:   {merged / 'canvas.csv'}" in done.stdout
    for name in ("canvas.csv", "moodle.csv"):
        assert (merged / name).read_bytes() == (report / name).read_bytes()


def test_a_bad_roster_stops_the_batch_before_grading(tmp_path):
    (tmp_path / "class").mkdir()
    (tmp_path / "roster.csv").write_text("name,email\nA,a@x\n")
    run = grade_batch(tmp_path / "class", tmp_path / "report", "--roster", str(tmp_path / "roster.csv"))
    assert run.returncode == 2 and run.stderr.startswith(f"grade: error: {tmp_path / 'roster.csv'}: line 1 has no column 'submission'")
    assert not (tmp_path / "report").exists()
    run = grade_batch(tmp_path / "class", tmp_path / "report", "--roster", str(tmp_path / "nope.csv"))
    assert run.returncode == 2 and f"--roster {tmp_path / 'nope.csv'}: no such file" in run.stderr
    (tmp_path / "roster.csv").write_text(ROSTER)
    run = grade_batch(tmp_path / "class", tmp_path / "report", "--roster", str(tmp_path / "roster.csv"), "--shard", "1/2")
    assert run.returncode == 2 and "--roster needs the whole class" in run.stderr


def test_the_example_roster_covers_the_example_class_and_one_student_more(tmp_path):
    """make demo grades examples/ with examples/roster.csv: hana is on it and submitted nothing."""
    done = run([sys.executable, str(ROOT / "examples" / "assemble_class.py"), str(tmp_path / "class")])
    assert done.returncode == 0, done.stderr
    names = [e.student for e in collect_entries(tmp_path / "class").entries]
    matched = match(load_roster(ROOT / "examples" / "roster.csv"), names)
    assert [s.submission for s in matched.missing] == ["hana"] and matched.unmatched == ()
    assert len(matched.students) == 8
