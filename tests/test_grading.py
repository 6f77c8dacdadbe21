"""The grader grades real submissions: the reference, the starters, one realistic mistake per
chapter, and unruly code. Scores are read from the results.json each run writes."""

from __future__ import annotations

import pytest

from submissions import ROOT, assemble, grade, short_limits_course

FIRST_SIX = ["1", "2", "3", "4", "5", "6"]
MAX = {1: 10, 2: 10, 3: 12, 4: 10, 5: 24, 6: 14, 7: 20}


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory):
    """`grade all` on the reference, once for the module (it trains the classifier)."""
    return grade("all", "--submission", str(ROOT / "reference"),
                 report_dir=tmp_path_factory.mktemp("reference-report"))


def test_reference_scores_full_marks_in_every_chapter(reference_run):
    assert reference_run.code == 0, reference_run.stderr
    assert reference_run.scores() == MAX
    assert reference_run.results["score"] == 100 == reference_run.results["max_score"]
    statuses = {c["status"] for ch in reference_run.results["chapters"] for c in ch["criteria"]}
    assert statuses == {"passed"}


def test_results_json_has_the_documented_schema(reference_run):
    results = reference_run.results
    for key in ("schema", "grader_version", "course", "submission", "sandbox", "seed", "score",
                "max_score", "chapters"):
        assert key in results
    assert set(results["course"]) >= {"title", "sha256"} and len(results["course"]["sha256"]) == 64
    assert set(results["submission"]) >= {"path", "sha256"}
    assert results["sandbox"] in ("bwrap", "process")
    chapter = results["chapters"][0]
    assert set(chapter) >= {"number", "title", "file", "status", "score", "max_score", "criteria"}
    assert set(chapter["criteria"][0]) >= {"id", "title", "score", "max_score", "status", "visibility",
                                           "message", "help"}


def test_starters_score_zero_with_every_criterion_not_implemented(tmp_path):
    run = grade("all", "--submission", str(ROOT / "exercises"), report_dir=tmp_path)
    assert run.code == 1, run.stderr
    assert run.results["score"] == 0
    for chapter in run.results["chapters"]:
        assert chapter["status"] == "graded"
        for criterion in chapter["criteria"]:
            if criterion["max_score"] == 0:  # the gates: the starter imports cleanly
                assert criterion["status"] == "passed", criterion
            else:
                assert criterion["status"] == "failed", criterion
                assert criterion["message"].startswith("not implemented yet"), criterion


BUGGY = {
    "buggy-ch1-transpose-returns-rows": (1, {"ch1-transpose"}),
    "buggy-ch2-sigmoid-derivative-takes-z": (2, {"ch2-sigmoid-derivative"}),
    "buggy-ch3-caches-accumulate": (3, {"ch3-layer-cache"}),
    "buggy-ch4-softmax-overflows": (4, {"ch4-softmax"}),
    "buggy-ch5-input-gradient-not-transposed": (5, {"ch5-grad-inputs"}),
    "buggy-ch6-gradient-ascent": (6, {"ch6-step-update"}),
    "buggy-ch7-untrained-hardcoded-predict": (7, {"ch7-accuracy", "ch7-predict"}),
}


@pytest.mark.parametrize("fixture", list(BUGGY))
def test_a_mistake_costs_points_in_its_own_chapter_only(fixture, tmp_path):
    chapter, must_fail = BUGGY[fixture]
    chapters = FIRST_SIX if chapter != 7 else ["7"]
    run = grade("chapter", *chapters, "--submission", str(assemble(fixture, tmp_path)),
                report_dir=tmp_path / "report")
    assert run.code == 1, run.stderr
    for number, score in run.scores().items():
        if number == chapter:
            assert score < MAX[number]
        else:
            assert score == MAX[number], (number, run.chapter(number))
    for criterion_id in must_fail:
        assert run.criterion(criterion_id)["status"] != "passed"


def test_an_endless_loop_times_out_and_costs_only_what_it_touches(tmp_path):
    course = short_limits_course(tmp_path)
    run = grade("chapter", "1", "2", "--course", str(course),
                "--submission", str(assemble("unruly-endless-loop-in-ch2-sigmoid", tmp_path)),
                report_dir=tmp_path / "report", timeout=120)
    assert run.code == 1
    assert run.scores()[1] == 10
    assert run.criterion("ch2-sigmoid")["status"] == "timeout"
    assert run.criterion("ch2-relu")["status"] == "passed"  # graded by a fresh worker
    assert run.criterion("ch2-sigmoid-derivative")["status"] == "passed"


@pytest.mark.parametrize("fixture, chapter", [("unruly-os-exit-at-ch3-import", 3),
                                              ("unruly-syntax-error-ch4", 4),
                                              ("unruly-exception-at-ch1-import", 1)])
def test_a_module_that_cannot_import_scores_zero_in_its_chapter(fixture, chapter, tmp_path):
    run = grade("chapter", *FIRST_SIX, "--submission", str(assemble(fixture, tmp_path)),
                report_dir=tmp_path / "report")
    assert run.code == 1, run.stderr
    for number, score in run.scores().items():
        assert score == (0 if number == chapter else MAX[number]), number
    criteria = run.chapter(chapter)["criteria"]
    assert criteria[0]["status"] == "error" and criteria[0]["message"]
    assert all(c["status"] == "skipped" for c in criteria[1:])
    assert "Traceback" not in run.stdout + run.stderr


def test_a_missing_chapter_file_scores_zero_as_missing(tmp_path):
    run = grade("chapter", *FIRST_SIX, "--submission", str(assemble("missing-ch6-file", tmp_path)),
                report_dir=tmp_path / "report")
    assert run.chapter(6)["status"] == "missing" and run.chapter(6)["score"] == 0
    assert all(run.chapter(n)["score"] == MAX[n] for n in range(1, 6))


def test_an_answer_that_claims_to_equal_anything_gets_no_points(tmp_path):
    run = grade("chapter", "1", "--submission", str(assemble("unruly-always-equal-ch1-dot", tmp_path)),
                report_dir=tmp_path / "report")
    dot = run.criterion("ch1-dot")  # proportional: elementwise_multiply is honest and earns its half
    assert dot["status"] == "failed" and dot["score"] == dot["max_score"] / 2
    assert "AlwaysEqual" in dot["message"]
    assert run.criterion("ch1-transpose")["status"] == "passed"


def test_integrated_grading_uses_the_students_own_earlier_chapters(tmp_path):
    folder = assemble("buggy-ch1-transpose-returns-rows", tmp_path)
    isolated = grade("chapter", "5", "--submission", str(folder), report_dir=tmp_path / "isolated")
    integrated = grade("chapter", "5", "--integrated", "--submission", str(folder), report_dir=tmp_path / "integ")
    assert isolated.scores()[5] == MAX[5]
    files = integrated.chapter(5)["files"]
    assert files["01_math_foundations.py"] == "student" and files["05_backpropagation.py"] == "student"
    assert isolated.chapter(5)["files"]["01_math_foundations.py"] == "reference"
