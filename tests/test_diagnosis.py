"""The diagnosis: a failing student is told which known mistake reproduces their failures exactly.

Pure parts (comparing outcomes, choosing among mistakes), the in-process stand-in for the worker
the mistakes run behind, and the real `grade` command on the fixture submissions: each buggy
fixture is diagnosed as the bank's mistake it embodies, on results.json, the terminal and the
chapter page. (`grade selftest`, in test_selftest.py, grades every mistake of the bank the same
way: each is diagnosed as itself, the reference and the harmless variants as nothing.)
"""

from __future__ import annotations

import html
import json
import random
import signal
import sys

import pytest

from grader import diagnosis
from grader.course import load_course
from grader.diagnosis import explain, signature
from grader.mistakes.local import LocalSession, load_chapter
from grader.outcomes import TestOutcome
from grader.remote import NotData, Remote, StudentModule, StudentRaised, StudentTimeout
from submissions import ROOT, assemble, grade, short_limits_course


# --- comparing outcomes (pure) ------------------------------------------------------------------

def outcome(nodeid: str, status: str, message: str = "", criterion: str = "c1", **fields) -> TestOutcome:
    return TestOutcome(nodeid=nodeid, chapter=1, criterion=criterion, status=status, message=message, **fields)


def ended(o: TestOutcome) -> tuple:
    return signature(o.status, o.message, o.call, o.expected, o.actual)


def test_a_signature_ignores_where_in_the_file_it_happened():
    mine = signature("error", "f(1) raised ValueError: bad at line 12 of 01_math_foundations.py")
    theirs = signature("error", "f(1) raised ValueError: bad at line 40 of 01_math_foundations.py")
    assert mine == theirs
    assert signature("failed", "imports numpy (line 3)") == signature("failed", "imports numpy (line 9)")
    assert signature("failed", "expected 1, got 2") != signature("failed", "expected 1, got 3")


def test_a_mistake_that_ends_every_test_of_a_criterion_alike_explains_it():
    student = [outcome("t1", "passed"), outcome("t2", "failed", "expected 1, got 2", expected="1", actual="2")]
    replayed = {"m": {o.nodeid: ended(o) for o in student},
                "other": {"t1": signature("passed"), "t2": signature("failed", "expected 1, got 5")}}
    assert explain(student, {"t1", "t2"}, replayed) == {"c1": ("m",)}


def test_a_mistake_that_fails_a_check_the_student_passed_is_not_named():
    student = [outcome("t1", "failed", "wrong"), outcome("t2", "passed", criterion="c2")]
    replayed = {"m": {"t1": signature("failed", "wrong"), "t2": signature("failed", "also wrong")}}
    assert explain(student, {"t1", "t2"}, replayed) == {}


def test_the_mistake_explaining_more_of_the_chapter_wins():
    # transpose returning rows breaks matrix_multiply exactly as dotting rows with rows does
    student = [outcome("t1", "failed", "rows", criterion="transpose"),
               outcome("t2", "error", "shapes", criterion="matmul")]
    replayed = {"transpose-rows": {"t1": signature("failed", "rows"), "t2": signature("error", "shapes")},
                "matmul-rows": {"t1": signature("passed"), "t2": signature("error", "shapes")}}
    assert explain(student, {"t1", "t2"}, replayed) == {"transpose": ("transpose-rows",),
                                                          "matmul": ("transpose-rows",)}


def test_unfinished_work_and_unreplayed_tests_are_not_explained():
    unfinished = [outcome("t1", "failed", "not implemented yet (dot_product)")]
    assert explain(unfinished, {"t1"}, {"m": {"t1": signature("failed", "not implemented yet (dot_product)")}}) == {}
    failed = [outcome("t1", "failed", "wrong")]
    assert explain(failed, set(), {"m": {"t1": signature("failed", "wrong")}}) == {}   # not replayable
    assert explain(failed, {"t1"}, {"m": {}}) == {}                                   # replay cut short


def test_a_run_without_a_real_failure_never_reads_the_bank(monkeypatch):
    def no_bank(course):
        raise AssertionError("the bank was read")
    monkeypatch.setattr(diagnosis, "load_bank", no_bank)
    outcomes = [outcome("t1", "passed"), outcome("t2", "failed", "not implemented yet"),
                outcome("t3", "skipped", "skipped because ...")]
    course = load_course(ROOT / "course.yaml")
    assert diagnosis.diagnose(course, [], outcomes, seed=1, isolated={1}, classify=dict) is outcomes
    failing = [outcome("t1", "failed", "wrong")]
    assert diagnosis.diagnose(course, [], failing, seed=1, isolated=set(), classify=dict) is failing


# --- the in-process stand-in for the worker -----------------------------------------------------

SOURCE = '''
import random

class Box:
    def __init__(self):
        self.items = [1]

def grow(v):
    v.append(1)
    return v

def boom():
    raise ValueError("bad value")

def talk():
    print("hello")

def reseed():
    random.seed(1)
    return random.random()

def spin():
    while True:
        pass

def gadget():
    return Box
'''


@pytest.fixture
def local():
    load = lambda: load_chapter(SOURCE, file="01_math_foundations.py", module="01_math_foundations",
                                reference=ROOT / "reference", label="test")
    session = LocalSession(load, module="01_math_foundations", file="01_math_foundations.py",
                           request_timeout=0.3, budget=10)
    yield session, StudentModule(session)
    session.close()


def test_data_crosses_as_copies_and_kept_values_as_handles(local):
    worker, student = local
    mine = [0]
    assert student.grow(mine) == [0, 1] and mine == [0]       # the judge's list is a copy there
    kept = worker.keep([0])
    student.grow(kept)
    assert worker.fetch(kept) == [0, 1]                        # the kept one is changed in place
    box = student.Box()
    assert isinstance(box, Remote) and repr(box) == "<student Box>" and box.items == [1]
    box.items = [2, 3]
    assert box.items == [2, 3]
    with pytest.raises(NotData):
        len(student.gadget())
    assert worker.last_call == "gadget()"


def test_exceptions_come_back_as_the_worker_reports_them(local):
    _, student = local
    with pytest.raises(StudentRaised) as raised:
        student.boom()
    fault = raised.value
    assert fault.kind == "ValueError" and fault.call == "boom()"
    assert fault.location["file"] == "01_math_foundations.py" and fault.location["line"] == 13
    assert fault.location["code"] == 'raise ValueError("bad value")'
    assert fault.message == "boom() raised ValueError: bad value at line 13 of 01_math_foundations.py"


def test_prints_are_counted_and_the_judges_random_generator_is_left_alone(local):
    worker, student = local
    mark = worker.output_mark()
    student.talk()
    assert worker.printed_since(mark) == len("hello\n")
    before = random.getstate()
    first = student.reseed()
    assert random.getstate() == before and first == student.reseed()


def test_an_endless_loop_times_out_and_the_chapter_is_loaded_again(local):
    worker, student = local
    handler = signal.getsignal(signal.SIGALRM)
    with pytest.raises(StudentTimeout):
        student.spin()
    assert signal.getsignal(signal.SIGALRM) == handler
    assert student.grow([5]) == [5, 1] and worker.restarts == 1


def test_a_chapter_that_cannot_be_imported_fails_like_an_import_in_the_worker():
    load = lambda: load_chapter("from 02_single_neuron import sigmoid\n", file="03_forward_pass.py",
                                module="03_forward_pass", reference=ROOT / "reference", label="test")
    session = LocalSession(load, module="03_forward_pass", file="03_forward_pass.py", request_timeout=1, budget=5)
    with pytest.raises(StudentRaised) as raised:
        session.module_proxy()
    assert raised.value.kind == "SyntaxError" and raised.value.call == "import 03_forward_pass"
    assert "(03_forward_pass.py, line 1)" in raised.value.message


def test_a_loaded_chapter_imports_the_references_earlier_chapters_and_leaves_sys_path_alone():
    path, names = list(sys.path), {n for n in sys.modules if n[:2].isdigit()}
    try:
        source = (ROOT / "reference" / "02_single_neuron.py").read_text()
        chapter = load_chapter(source, file="02_single_neuron.py", module="02_single_neuron",
                               reference=ROOT / "reference", label="test")
        assert chapter.dot_product([1, 2], [3, 4]) == 11
        assert sys.path == path
        assert "02_single_neuron" in names or "02_single_neuron" not in sys.modules  # not registered
    finally:
        for name in {n for n in sys.modules if n[:2].isdigit()} - names:
            del sys.modules[name]


# --- the real `grade` command on the fixture submissions ----------------------------------------

FIXTURES = {
    "buggy-ch1-transpose-returns-rows": (1, "ch1-transpose-returns-rows"),
    "buggy-ch2-sigmoid-derivative-takes-z": (2, "ch2-sigmoid-derivative-takes-z"),
    "buggy-ch3-caches-accumulate": (3, "ch3-caches-accumulate"),
    "buggy-ch4-softmax-overflows": (4, "ch4-softmax-overflows"),
    "buggy-ch5-bias-gradient-skips-activation": (5, "ch5-bias-gradient-skips-activation"),
    "buggy-ch5-input-gradient-not-transposed": (5, "ch5-input-gradient-not-transposed"),
    "buggy-ch5-network-backward-skips-softmax": (5, "ch5-network-backward-skips-softmax"),
    "buggy-ch6-gradient-ascent": (6, "ch6-gradient-ascent"),
    "buggy-ch7-untrained-hardcoded-predict": (7, "ch7-untrained-hardcoded-predict"),
}


def diagnoses(results: dict) -> dict[str, list[str]]:
    return {c["id"]: [d["mistake"] for d in c["diagnosis"]]
            for ch in results["chapters"] for c in ch["criteria"] if c.get("diagnosis")}


@pytest.mark.parametrize("fixture", list(FIXTURES))
def test_each_buggy_fixture_is_diagnosed_as_its_mistake(fixture, tmp_path):
    number, mistake = FIXTURES[fixture]
    run = grade("chapter", str(number), "--submission", str(assemble(fixture, tmp_path)),
                report_dir=tmp_path / "report")
    assert run.code == 1, run.stderr
    named = diagnoses(run.results)
    assert named and all(ids == [mistake] for ids in named.values()), named
    failing = {c["id"] for c in run.chapter(number)["criteria"] if c["status"] != "passed"}
    assert set(named) <= failing
    first = run.criterion(next(iter(named)))["diagnosis"][0]
    assert set(first) == {"mistake", "title", "did", "why", "lesson", "guide"}
    assert first["guide"] == "exercises/README.md" and first["lesson"].startswith(f"Chapter {number}")
    # the terminal and the chapter page say it too
    assert f"probable misconception: {first['title']}" in run.stdout
    page = (tmp_path / "report" / f"chapter-{number:02d}.html").read_text()
    assert page.count('class="diagnosis notice warn"') == len(named)
    text = html.unescape(page)
    assert f"<strong>Probable misconception:</strong> {first['title']}" in text
    assert first["did"].split("`")[-1] in text and first["lesson"] in text


def test_the_trained_check_is_not_replayed_but_the_quick_ones_name_the_mistake(tmp_path):
    run = grade("chapter", "7", "--submission", str(assemble("buggy-ch7-untrained-hardcoded-predict", tmp_path)),
                report_dir=tmp_path / "report")
    named = diagnoses(run.results)
    # accuracy and agreement need the trained classifier; the defaults train a small one of their own
    assert set(named) == {"ch7-predict", "ch7-evaluate", "ch7-defaults"}
    assert run.criterion("ch7-accuracy")["status"] == "failed"


def test_hidden_criteria_show_the_misconception_but_not_the_checks(tmp_path):
    run = grade("chapter", "5", "--submission", str(assemble("buggy-ch5-network-backward-skips-softmax", tmp_path)),
                report_dir=tmp_path / "report")
    hidden = run.criterion("ch5-network-backward")
    assert hidden["visibility"] == "hidden" and "expected" not in hidden and "actual" not in hidden
    assert [d["mistake"] for d in hidden["diagnosis"]] == ["ch5-network-backward-skips-softmax"]
    page = (tmp_path / "report" / "chapter-05.html").read_text()
    assert "and the misconception its failures point to only" in page


def test_a_mistake_named_on_several_criteria_is_explained_once(tmp_path):
    run = grade("chapter", "5", "--submission", str(assemble("buggy-ch5-input-gradient-not-transposed", tmp_path)),
                report_dir=tmp_path / "report")
    named = diagnoses(run.results)
    assert len(named) >= 2 and all(ids == ["ch5-input-gradient-not-transposed"] for ids in named.values())
    page = (tmp_path / "report" / "chapter-05.html").read_text()
    assert "(explained above)" in page      # named in full once, on the first criterion


def test_integrated_grading_is_not_diagnosed(tmp_path):
    run = grade("chapter", "2", "--integrated", "--submission",
                str(assemble("buggy-ch2-sigmoid-derivative-takes-z", tmp_path)), report_dir=tmp_path / "report")
    assert run.criterion("ch2-sigmoid-derivative")["status"] == "failed"
    assert diagnoses(run.results) == {}


def test_a_stale_mistake_in_course_yaml_stops_grading_when_it_is_needed(tmp_path):
    course = short_limits_course(tmp_path)
    text = course.read_text()
    course.write_text(text.replace("old: return [x * y for x, y in zip(a, b)]", "old: return nothing_like_this"))
    buggy = assemble("buggy-ch1-transpose-returns-rows", tmp_path)
    run = grade("chapter", "1", "--course", str(course), "--submission", str(buggy), report_dir=tmp_path / "r1")
    assert run.code == 2
    assert "mistake bank" in run.stderr and "course.yaml:" in run.stderr and "is not in reference/01" in run.stderr
    passing = grade("chapter", "2", "--course", str(course), "--submission", str(buggy), report_dir=tmp_path / "r2")
    assert passing.code == 0, passing.stderr  # nothing to diagnose: the bank is not read


def test_results_json_keeps_no_diagnosis_key_for_a_clean_chapter(tmp_path):
    run = grade("chapter", "1", "--submission", str(ROOT / "reference"), report_dir=tmp_path)
    assert run.code == 0
    assert "diagnosis" not in json.dumps(run.results)
