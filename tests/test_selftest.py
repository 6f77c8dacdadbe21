"""`grade selftest` and what it stands on: the format of a mistake (course.yaml's `mistakes:` and
grader/mistakes/bank.yaml), the plan of gradings, the verdict read from their results, and one
real run of the whole self-test in CI (about a minute on two cores: it grades the reference, the
starters and every entry of the bank with the real grader)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from grader.course import load_course, parse_course
from grader.errors import CourseError
from grader.mistakes import load_bank
from grader.mutation.parts import student_parts
from grader.selftest.plan import PART, REFERENCE, REPLAY, STARTERS, neighbour, plan_runs
from grader.selftest.verdict import Graded, judge, mistake_row, variant_row
from submissions import ROOT

COURSE = ROOT / "course.yaml"


@pytest.fixture(scope="module")
def course():
    return load_course(COURSE)


@pytest.fixture(scope="module")
def bank(course):
    return load_bank(course)


# --- the format of a mistake --------------------------------------------------------------------

def with_mistakes(section: str) -> str:
    """course.yaml with its `mistakes:` section replaced by `section`."""
    text = COURSE.read_text()
    return text[:text.index("\nmistakes:\n")] + "\nmistakes:\n" + section


GOOD = """\
  - id: ch1-example
    chapter: 1
    title: an example
    replace: {old: "columns = transpose(b)", new: "columns = b"}
    caught_by: [ch1-matmul]
    did: Something.
    why: Because.
    lesson: Chapter 1 — math foundations
"""


@pytest.mark.parametrize("old, new, expected", [
    ("chapter: 1", "chapter: 9", r"course.mistakes\[0\].chapter: there is no chapter 9"),
    ("[ch1-matmul]", "[ch2-relu]", r"course.mistakes\[0\].caught_by: 'ch2-relu' is not a criterion of chapter 1"),
    ("[ch1-matmul]", "[ch1-matmul, ch1-matmul]", r"course.mistakes\[0\].caught_by: a criterion is named twice"),
    ("    replace: {old: \"columns = transpose(b)\", new: \"columns = b\"}\n", "",
     r"course.mistakes\[0\]: give either `replace` .* or `patch`"),
    ("    caught_by:", "    patch: \"@@\\n-x\\n+y\\n\"\n    caught_by:", r"course.mistakes\[0\]: give either `replace` .* or `patch`"),
    ("    did: Something.\n", "", r"course.mistakes\[0\].did: this key is required"),
    ("    why: Because.", "    why: \"  \"", r"course.mistakes\[0\].why: must not be empty"),
    ("    title: an example\n", "    title: an example\n    expect: sometimes\n", r"course.mistakes\[0\].expect: must be one of loss, no_loss"),
    ("    title: an example\n", "    title: an example\n    expect: no_loss\n",
     r"course.mistakes\[0\].caught_by: a harmless variant \(expect: no_loss\) is caught by nothing"),
    ("    lesson:", "    colour: blue\n    lesson:", r"course.mistakes\[0\].colour: unknown key"),
    ("new: \"columns = b\"", "new: \"columns = transpose(b)\"", r"course.mistakes\[0\].replace: old and new are the same text"),
])
def test_a_broken_mistake_names_file_line_and_key(old, new, expected):
    assert old in GOOD
    with pytest.raises(CourseError, match=r"course.yaml:\d+: " + expected):
        parse_course(with_mistakes(GOOD.replace(old, new)), COURSE)


def test_the_error_points_at_the_line_of_the_entry():
    text = with_mistakes(GOOD + GOOD.replace("  - id: ch1-example", "  - id: ch1-example"))
    line = text[:text.rindex("  - id: ch1-example")].count("\n") + 1
    with pytest.raises(CourseError, match=rf"course.yaml:{line}: course.mistakes\[1\].id: the id 'ch1-example' "
                                          rf"is used twice \(also at course.yaml:{line - 8}\)"):
        parse_course(text, COURSE)


def test_a_patch_becomes_replacements_of_whole_lines():
    patch = """\
    patch: |
      @@ matrix_multiply @@
      -    columns = transpose(b)
      +    columns = b
           return [[dot_product(row, column) for column in columns] for row in a]
      @@ transpose, a second hunk @@
      -    if not matrix:
      -        return []
      +    pass
"""
    section = GOOD.replace('    replace: {old: "columns = transpose(b)", new: "columns = b"}\n', patch)
    (mistake,) = parse_course(with_mistakes(section), COURSE).mistakes
    first, second = mistake.replacements
    tail = "    return [[dot_product(row, column) for column in columns] for row in a]\n"
    assert (first.old, first.new) == ("    columns = transpose(b)\n" + tail, "    columns = b\n" + tail)
    assert (second.old, second.new) == ("    if not matrix:\n        return []\n", "    pass\n")


def test_an_edit_must_match_the_reference_exactly_once(tmp_path):
    def bank_of(section):
        path = tmp_path / "course.yaml"
        path.write_text(with_mistakes(section).replace("reference: reference", f"reference: {ROOT / 'reference'}"))
        return load_bank(load_course(path))
    with pytest.raises(CourseError, match=r"course.yaml:\d+: mistake 'ch1-example': the text to replace is not in "
                                          r"reference/01_math_foundations.py"):
        bank_of(GOOD.replace("columns = transpose(b)\"", "columns = transpose(c)\""))
    with pytest.raises(CourseError, match=r"the text to replace occurs 5 times in reference/01_math_foundations.py"):
        bank_of(GOOD.replace("columns = transpose(b)", "_check_same_length(a, b)"))
    with pytest.raises(CourseError, match=r"course.yaml:\d+: mistake 'ch1-transpose-returns-rows' is already "
                                          r"defined at grader/mistakes/bank.yaml:\d+"):
        bank_of(GOOD.replace("ch1-example", "ch1-transpose-returns-rows"))


# --- the bank -----------------------------------------------------------------------------------

# The mistakes the course's lesson and guide warn about most, which the bank must hold.
LESSON = ["ch5-input-gradient-sums-rows", "ch2-sigmoid-derivative-takes-z", "ch4-softmax-overflows",
          "ch4-cross-entropy-log-of-zero", "ch1-vector-scale-mutable-default", "ch7-one-hot-mutable-default",
          "ch3-caches-accumulate", "ch3-layer-stores-nothing", "ch5-outputs-alias-z-values",
          "ch6-gradient-ascent", "ch6-epoch-returns-sum", "ch4-mse-sum", "ch7-untrained-hardcoded-predict",
          "ch6-learning-rate-hard-coded", "ch5-sigmoid-slope-of-z", "ch5-gradients-accumulate"]


def test_the_bank_covers_every_chapter_and_the_lessons_common_mistakes(course, bank):
    assert len(bank.errors) >= 30 and len(bank.variants) >= 10
    assert {m.chapter for m in bank.errors} == {m.chapter for m in bank.variants} == {1, 2, 3, 4, 5, 6, 7}
    ids = {m.id for m in bank.mistakes}
    assert set(LESSON) <= ids
    assert "ch1-elementwise-multiply-sums" in ids        # course.yaml's own entry joins the bank
    for mistake in bank.mistakes:
        assert bank.sources[mistake.id] != (course.reference / course.chapter(mistake.chapter).file).read_text()


# --- the plan -----------------------------------------------------------------------------------

def test_a_mistake_is_graded_in_its_chapter_and_the_one_that_would_import_it(course, bank):
    assert {n: neighbour(course, n) for n in range(1, 7)} == {1: 2, 2: 3, 3: 4, 4: 5, 5: 6, 6: 5}
    runs = plan_runs(course, bank)
    by_name = {run.name: run for run in runs}
    assert len(by_name) == len(runs) == len(bank.mistakes) + 3 + 8   # and 8 rounds of student parts
    assert by_name["reference"].chapters == by_name["reference --integrated"].chapters == (1, 2, 3, 4, 5, 6, 7)
    assert by_name["reference --integrated"].integrated and by_name["starters"].base == "exercises"
    # the reference trains once, for real; integrated, its chapters are the same bytes: replayed
    assert (by_name["reference"].training, by_name["reference --integrated"].training) == ("record", REPLAY)
    assert by_name["ch1-transpose-returns-rows"].chapters == (1, 2)
    assert by_name["ch6-gradient-ascent"].chapters == (5, 6)
    assert set(by_name["ch6-gradient-ascent"].files) == {"06_training_loop.py"}


def test_the_final_chapters_runs_carry_a_mistake_in_every_earlier_chapter(course, bank):
    runs = plan_runs(course, bank)
    final = [run for run in runs if run.mistake and bank.get(run.mistake).chapter == 7]
    assert final and all(run.chapters == (7,) and len(run.files) == 7 and len(run.decoys) == 6 for run in final)
    slow = [run.slow for run in runs]
    assert slow == sorted(slow, reverse=True)   # the trainings start first


# --- the verdict --------------------------------------------------------------------------------

def clean_results(course, chapters) -> dict:
    return {"sandbox": "process", "chapters": [
        {"number": n, "status": "graded", "note": "", "score": course.chapter(n).max_score,
         "max_score": course.chapter(n).max_score,
         "files": {course.chapter(k).file: "reference" for k in course.closure(n)} | {course.chapter(n).file: "student"},
         "criteria": [{"id": c.id, "status": "passed", "message": "", "max_score": c.points}
                      for c in course.chapter(n).criteria]} for n in chapters]}


def graded_with(course, bank, name, change=lambda results: None) -> Graded:
    run = next(r for r in plan_runs(course, bank) if r.name == name)
    results = clean_results(course, run.chapters)
    change(results)
    return Graded(run, 0 if all(c["status"] == "passed" for ch in results["chapters"] for c in ch["criteria"])
                  else 1, results)


def fail(results, number, criterion, diagnosis=None):
    chapter = next(ch for ch in results["chapters"] if ch["number"] == number)
    chapter["score"] -= 1
    for c in chapter["criteria"]:
        if c["id"] == criterion:
            c["status"] = "failed"
            if diagnosis:
                c["diagnosis"] = [{"mistake": diagnosis}]


def test_a_mistake_caught_exactly_where_it_should_be_passes(course, bank):
    row = mistake_row(course, bank, graded_with(course, bank, "ch1-transpose-returns-rows", lambda r: (
        fail(r, 1, "ch1-transpose", "ch1-transpose-returns-rows"))))
    assert row.problems == row.misdiagnoses == row.spilled == ()
    assert row.cell("ch1-transpose") == "caught" and row.cell("ch1-dot") == "" and row.diagnosis == "named"


def test_every_shortfall_of_a_mistake_is_reported(course, bank):
    def shortfalls(r):
        fail(r, 1, "ch1-matmul", "ch1-matmul-dots-rows-with-rows")      # transpose's mistake, charged to matmul
        fail(r, 1, "ch1-dot")                                           # and dot, unexpectedly
        fail(r, 2, "ch2-relu")                                          # and it leaks into chapter 2
        next(ch for ch in r["chapters"] if ch["number"] == 2)["files"]["01_math_foundations.py"] = "student"
    row = mistake_row(course, bank, graded_with(course, bank, "ch1-transpose-returns-rows", shortfalls))
    text = "\n".join(row.problems)
    assert "not caught by ch1-transpose" in text and "also fails ch1-dot" in text and "also fails ch1-matmul" in text
    assert "costs points in chapter 2 too" in text and "chapter isolation is broken" in text
    assert row.cell("ch1-transpose") == "missed" and row.cell("ch1-dot") == "extra" and row.diagnosis == "wrong"
    assert row.misdiagnoses == ("ch1-transpose-returns-rows: the diagnosis names ch1-matmul-dots-rows-with-rows",)
    assert row.spilled == ("ch1-dot", "ch1-matmul")   # the part it changes is transpose: a mistake charged thrice


def test_an_undetected_mistake_and_a_costly_variant_fail_the_selftest(course, bank):
    undetected = mistake_row(course, bank, graded_with(course, bank, "ch4-mse-sum"))
    assert "goes undetected" in undetected.problems[0] and "costs no points" in undetected.problems[1]
    variant = variant_row(course, bank, graded_with(course, bank, "ok-ch4-mse-statistics-fmean",
                                                    lambda r: fail(r, 4, "ch4-mse")))
    assert "a harmless variant loses points in chapter 4" in variant.problems[0]
    verdict = judge(course, bank, [graded_with(course, bank, "ch4-mse-sum")], guide_headings=None)
    assert not verdict.passed
    coverage = next(c for c in verdict.checks if "catches at least one mistake" in c.claim)
    assert "ch1-dot catches none of the bank's mistakes" in coverage.problems


def test_a_crashed_grading_is_a_failure_not_a_pass(course, bank):
    run = next(r for r in plan_runs(course, bank) if r.kind == REFERENCE)
    verdict = judge(course, bank, [Graded(run, 3, None, "grade: internal error: boom\n")], guide_headings=None)
    reference = verdict.checks[0]
    assert not reference.passed and "exited with code 3: grade: internal error: boom" in reference.problems[0]
    starters = next(r for r in plan_runs(course, bank) if r.kind == STARTERS)
    results = clean_results(course, starters.chapters)
    verdict = judge(course, bank, [Graded(starters, 0, results)], guide_headings=None)
    assert any("is passed, not “not implemented yet”" in p for p in verdict.checks[1].problems)


def test_a_wrong_name_in_the_measured_diagnosis_fails_the_selftest_and_is_reported(course, bank):
    from grader.mistakes.measure import Named, Rates
    from grader.selftest.diagnosis_rates import with_diagnosis_check
    from grader.selftest.render import Summary, render_text, selftest_json

    right = Rates("hand bank", (Named("ch4-mse-sum", ("ch4-mse-sum",), ("ch4-mse-sum",), "right"),))
    wrong = Rates("held-out generated mutants",
                  (Named("mse_loss@2:10 / -> *", ("concept:mse.mean",), ("concept:mse.square",), "wrong"),
                   Named("softmax@1:4 - -> +", ("concept:softmax.shift",), (), "silent")), ambiguous=1)
    verdict = judge(course, bank, [graded_with(course, bank, "ch4-mse-sum", lambda r: fail(r, 4, "ch4-mse", "ch4-mse-sum"))],
                    guide_headings=None)
    fine, broken = with_diagnosis_check(verdict, (right,)), with_diagnosis_check(verdict, (right, wrong))
    assert fine.checks[-1].passed and fine.checks[:-1] == verdict.checks
    assert not broken.passed and broken.checks[-1].problems == (
        "held-out generated mutants: mse_loss@2:10 / -> * is named concept:mse.square, but it is concept:mse.mean",)
    summary = Summary("course", "bank", 1.0, 1, "process", 1, "now")
    text = render_text(course, broken, summary, rates=(right, wrong))
    assert "held-out generated mutants: 0 of 2 named right (0%), 0 only the part, 1 silent, 1 wrong; 1 ambiguous" in text
    data = selftest_json(broken, summary, [], (right, wrong))["diagnosis"]
    assert [(d["name"], d["right"], d["silent"], d["wrong"], d["ambiguous"]) for d in data] == [
        ("hand bank", 1, 0, 0, 0), ("held-out generated mutants", 0, 1, 1, 1)]


# --- the real thing, as CI runs it --------------------------------------------------------------

@pytest.fixture(scope="module")
def selftest(tmp_path_factory):
    """`grade selftest`, once for the module: it grades ~70 submissions, a few of them trained."""
    report = tmp_path_factory.mktemp("selftest")
    done = subprocess.run([sys.executable, "-m", "grader", "selftest", "--report-dir", str(report)],
                          cwd=ROOT, capture_output=True, text=True, timeout=1200,
                          env={**os.environ, "NO_COLOR": "1"})
    data = json.loads((report / "selftest.json").read_text()) if (report / "selftest.json").exists() else None
    return done, data, report


def test_grade_selftest_is_green_and_prints_its_matrix(selftest, bank):
    done, data, _ = selftest
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert "Sensitivity matrix (mistake × criterion)" in done.stdout and "selftest PASSED" in done.stdout
    for mistake in bank.mistakes:
        assert re.search(rf"^\s+. ?{re.escape(mistake.id)}\s", done.stdout, re.M), mistake.id
    assert re.search(r"the hidden tests catch (\d+) of \1 mistakes, the diagnosis names \1;", done.stdout, re.M)
    assert "✓ a mistake costs its points once" in done.stdout        # and the matrix says what each criterion grades
    assert "grades: vector-ops = vector_add, vector_subtract, vector_scale;" in done.stdout
    # the diagnosis measured on the hand bank and the held-out generated mutants: no wrong name
    assert re.search(r"^  hand bank: (\d+) of \1 named right \(100%\), 0 only the part, 0 silent, 0 wrong", done.stdout, re.M)
    assert re.search(r"^  held-out generated mutants: \d+ of \d+ named right .*, 0 wrong; \d+ ambiguous$", done.stdout, re.M)


def test_the_diagnosis_rates_are_in_the_json_and_the_page(selftest):
    _, data, report = selftest
    rates = {r["name"]: r for r in data["diagnosis"]}
    assert set(rates) == {"hand bank", "held-out generated mutants"}
    assert all(r["wrong"] == 0 and r["wrong_names"] == [] for r in rates.values())
    assert rates["held-out generated mutants"]["total"] > 100 and rates["held-out generated mutants"]["right"] > 0
    assert any("names no wrong mistake" in c["claim"] and c["passed"] for c in data["checks"])
    assert "Diagnosis: how often it names the right mistake" in (report / "selftest.html").read_text()


def test_every_mistake_is_caught_where_expected_and_named_as_itself(selftest, bank):
    _, data, _ = selftest
    assert data["passed"] and all(check["passed"] for check in data["checks"])
    counts = data["counts"]
    assert counts["mistakes"] == counts["caught"] == counts["named"] == len(bank.errors)
    assert counts["variants"] == counts["variants_lossless"] == len(bank.variants)
    for row in data["mistakes"]:
        assert row["caught_by"] == [c for c in row["caught_by"] if c in row["expected"]] and row["named"] == [row["id"]]
    course = load_course(COURSE)
    for chapter in course.chapters:
        for criterion in chapter.criteria:
            if criterion.points:
                assert data["coverage"][criterion.id], f"{criterion.id} catches no mistake"


def test_the_reference_and_starters_were_graded_in_every_chapter(selftest):
    _, data, _ = selftest
    runs = {run["name"]: run for run in data["runs"]}
    assert runs["reference"]["exit_code"] == 0 and runs["reference --integrated"]["integrated"]
    assert runs["reference --integrated"]["exit_code"] == 0 and runs["starters"]["exit_code"] == 1
    assert all(len(runs[name]["chapters"]) == 7 for name in ("reference", "reference --integrated", "starters"))


def test_the_matrix_is_written_as_html(selftest):
    _, data, report = selftest
    page = (report / "selftest.html").read_text()
    assert page.count('<table class="matrix">') == 9          # one per chapter, the variants and the parts
    assert "Sensitivity matrix: mistake × criterion" in page and "<script" not in page
    linked = re.findall(r'<a href="(runs/[^"]+/index.html)">', page)
    assert len(linked) == data["counts"]["mistakes"] + data["counts"]["variants"] + data["counts"]["parts"]
    assert all((report / link).is_file() for link in linked)


def test_every_student_part_left_as_its_starter_loses_points_in_exactly_its_chapter(selftest, course):
    done, data, _ = selftest
    inventory = student_parts(course)
    assert data["counts"]["parts"] == data["counts"]["parts_graded"] == len(inventory) == 31
    graded = {(p["chapter"], p["name"]): p for p in data["parts"]}
    assert set(graded) == {(p.chapter, p.name) for p in inventory}
    for part in inventory:
        row = graded[(part.chapter, part.name)]
        score, full = map(float, row["score"].split("/"))
        assert score < full and row["lost"] and row["problems"] == [], row
        assert all(c.startswith(f"ch{part.chapter}-") for c in row["lost"])
    # the parts nothing graded before this issue, each by its own criterion
    assert graded[(5, "gradient_check")]["lost"] == ["ch5-gradient-check"]
    assert graded[(7, "LetterClassifier.predict_probs")]["lost"] == ["ch7-predict-probs"]
    assert f"{len(inventory)} of {len(inventory)} student parts are graded" in done.stdout
    rounds = [run for run in data["runs"] if run["kind"] == PART]
    assert len(rounds) == max(sum(p.chapter == n for p in inventory) for n in range(1, 8)) == 8


def test_the_parts_left_as_their_starter_are_graded_in_rounds_one_per_chapter(course, bank):
    runs = [run for run in plan_runs(course, bank) if run.kind == PART]
    assert sorted((p for run in runs for p in run.parts), key=student_parts(course).index) == list(student_parts(course))
    for run in runs:
        assert run.chapters == tuple(p.chapter for p in run.parts) == tuple(sorted(set(run.chapters)))
        for part in run.parts:
            source = run.files[part.file]
            assert "raise NotImplementedError" in source and source != (course.reference / part.file).read_text()
    # a round whose final-chapter part the training cannot reach replays the recorded training
    replayed = {p.name for run in runs if run.training == REPLAY for p in run.parts if p.chapter == 7}
    assert replayed == {"LetterClassifier.predict", "LetterClassifier.predict_probs", "LetterClassifier.evaluate"}
    order = [run.training == REPLAY for run in plan_runs(course, bank)]
    assert order == sorted(order)   # after the recording reference run


def test_a_part_that_costs_nothing_or_leaks_fails_the_selftest(course, bank):
    run = next(r for r in plan_runs(course, bank) if r.kind == PART and len(r.parts) == 7)
    results = clean_results(course, run.chapters)
    verdict = judge(course, bank, [Graded(run, 0, results)], guide_headings=None)
    problems = verdict.checks[-1].problems
    assert f"ch1 {run.parts[0].name}: left as the starter has it (raising NotImplementedError), it still scores " \
           f"10/10: no criterion worth points grades it" in problems
    assert any("never graded left as its starter has it" in p for p in problems)   # the other rounds
    fail(results, 2, "ch2-sigmoid")
    next(ch for ch in results["chapters"] if ch["number"] == 3)["files"]["02_single_neuron.py"] = "student"
    row = next(r for r in judge(course, bank, [Graded(run, 1, results)], guide_headings=None).parts
               if r.part.chapter == 2)
    assert row.lost == ("ch2-sigmoid",) and "chapter isolation is broken" in row.problems[0]
