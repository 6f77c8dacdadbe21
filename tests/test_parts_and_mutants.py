"""The student-part inventory, the mutation operators, and mutants graded with the real grader:
one that must be killed, one listed as equivalent, and the committed result CI checks."""

from __future__ import annotations

import ast
import json
import tempfile
from pathlib import Path

import pytest

from grader.course import load_course
from grader.errors import CourseError
from grader.selftest.execute import grade_run
from grader.selftest.mutants import (EQUIVALENTS, VERIFIED, Equivalent, generate, judge_mutants, load_equivalents,
                                     mutant_outcomes, mutant_runs, outcome, proof_inputs, proof_key)
from grader.mutation.operators import apply, mutations_of
from grader.mutation.parts import Part, reached_from, reverted, span, student_parts, trains_alike, unwritten
from submissions import ROOT

COURSE = ROOT / "course.yaml"


@pytest.fixture(scope="module")
def course():
    return load_course(COURSE)


@pytest.fixture(scope="module")
def mutants(course):
    return generate(course)


# --- the inventory ------------------------------------------------------------------------------

STARTER = '''
def written():
    return 1

def todo(a):
    """Say what to do."""
    raise NotImplementedError("todo: do it")

class Thing:
    def __init__(self):
        self.x = 1

    def method(self):
        if True:
            raise NotImplementedError

    def helper(self):
        def inner():
            raise NotImplementedError("not the method's own")
        try:
            inner()
        except NotImplementedError:
            return None
'''


def test_the_unwritten_functions_are_those_that_raise_not_implemented_error_themselves():
    assert unwritten(STARTER) == ("todo", "Thing.method")


def test_the_inventory_comes_from_the_starters(course):
    parts = student_parts(course)
    names = {(p.chapter, p.name) for p in parts}
    assert len(parts) == len(names) == 31
    assert {(5, "gradient_check"), (6, "Trainer.train"), (7, "LetterClassifier.predict_probs"),
            (7, "LetterClassifier.__init__"), (3, "Network.forward")} <= names
    # what the starters give is not a student part: constructors they provide, forward of chapter 5
    assert not names & {(2, "Neuron.__init__"), (3, "Layer.__init__"), (5, "BackpropNetwork.forward"),
                        (6, "Trainer.__init__")}
    for part in parts:
        starter = (course.exercises / part.file).read_text()
        assert part.name in unwritten(starter)
        assert f"def {part.name.rpartition('.')[2]}(" in (course.reference / part.file).read_text()


def test_a_part_put_back_changes_only_that_function(course):
    part = Part(5, "05_backpropagation.py", "gradient_check")
    reference = (course.reference / part.file).read_text()
    starter = (course.exercises / part.file).read_text()
    swapped = reverted(reference, starter, part.name)
    first, last = span(reference, part.name)
    kept = reference.splitlines()
    new = swapped.splitlines()
    assert new[:first - 1] == kept[:first - 1]
    assert new[len(new) - (len(kept) - last):] == kept[last:]
    assert 'raise NotImplementedError("gradient_check:' in swapped
    ast.parse(swapped)


def test_the_training_reaches_the_constructor_and_train_and_what_they_call(course):
    source = (course.reference / "07_final_project.py").read_text()
    reached = reached_from(source, ("LetterClassifier.__init__", "LetterClassifier.train"))
    assert reached == {"LetterClassifier.__init__", "LetterClassifier.train", "LetterClassifier._make_dataset",
                       "LetterClassifier._one_hot"}


def test_a_change_trains_alike_only_outside_what_the_training_reaches(course):
    reference = (course.reference / "07_final_project.py").read_text()
    entry = ("LetterClassifier.__init__", "LetterClassifier.train")
    predict = "return self.LETTERS[probs.index(max(probs))]"
    assert trains_alike(reference, reference.replace(predict, "return self.LETTERS[0]"), entry)
    assert not trains_alike(reference, reference.replace("vector[index] = 1.0", "vector[index] = 2.0"), entry)
    calls = "return self.trainer.train(self._make_dataset(), epochs, verbose=verbose)"
    now_reaches_predict = reference.replace(calls, "self.predict([0.0] * 26)\n        " + calls)
    assert not trains_alike(reference, now_reaches_predict, entry)
    assert not trains_alike(reference, reference.replace('LETTERS = "abc', 'LETTERS = "bac'), entry)


# --- the operators ------------------------------------------------------------------------------

SOURCE = '''
def f(a, b, flag=True):
    """Doc 1."""
    if not flag and a[0][1] <= 2:
        return -min(a[0][1] * b, 1.5)
    total = 0
    total += a[1][0] / b
    return total
'''


def test_every_classic_operator_makes_one_small_edit():
    function = ast.parse(SOURCE).body[0]
    found = {m.operator: apply(SOURCE, m) for m in mutations_of(SOURCE, function)}
    line = {op: next(a for a, b in zip(text.splitlines(), SOURCE.splitlines()) if a != b).strip()
            for op, text in found.items()}
    assert line["True -> False"] == "def f(a, b, flag=False):"
    assert line["drop not"] == "if flag and a[0][1] <= 2:"
    assert line["and -> or"] == "if not flag or a[0][1] <= 2:"
    assert line["<= -> <"] == "if not flag and a[0][1] < 2:"
    assert line["drop -"] == "return min(a[0][1] * b, 1.5)"
    assert line["min -> max"] == "return -max(a[0][1] * b, 1.5)"
    assert line["* -> /"] == "return -min(a[0][1] / b, 1.5)"
    assert line["1.5 -> 2.5"] == "return -min(a[0][1] * b, 2.5)"
    assert line["+= -> -="] == "total -= a[1][0] / b"
    assert line["return X -> return None"] in ("return None",)
    assert "Doc" not in "".join(line.values())           # the docstring is not mutated
    every = mutations_of(SOURCE, function)
    assert sum(m.operator == "a[i][j] -> a[j][i]" for m in every) == 3
    assert len({apply(SOURCE, m) for m in every}) == len(every)  # no two mutants alike


# --- the equivalents list -----------------------------------------------------------------------

def test_a_broken_equivalents_list_is_one_line_naming_file_and_line(tmp_path):
    (tmp_path / "course.yaml").write_text(COURSE.read_text().replace("reference: reference",
                                                                     f"reference: {ROOT / 'reference'}")
                                          .replace("exercises: exercises", f"exercises: {ROOT / 'exercises'}"))
    course = load_course(tmp_path / "course.yaml")
    (tmp_path / EQUIVALENTS).write_text("- chapter: 2\n  id: x\n")
    with pytest.raises(CourseError, match=rf"{EQUIVALENTS}:1: each entry has exactly the keys chapter, id and reason"):
        load_equivalents(course)
    (tmp_path / EQUIVALENTS).write_text("- {chapter: 2, id: x, reason: a}\n- {chapter: 2, id: x, reason: b}\n")
    with pytest.raises(CourseError, match=r":2: mutant 'x' is listed twice \(also at line 1\)"):
        load_equivalents(course)


def test_the_verdict_separates_killed_equivalent_and_surviving_mutants(course, mutants):
    a, b, c = mutants[:3]
    outcomes = {a.id: ("killed", ("ch1-vector-ops",), "", ""), b.id: ("kept", (), "", ""),
                c.id: ("kept", (), "", "")}
    listed = (Equivalent(c.part.chapter, c.id, "because", 3), Equivalent(1, "gone@0:0 x", "old", 7),
              Equivalent(a.part.chapter, a.id, "wrongly", 9))
    verdict = judge_mutants(course, mutants[:3], outcomes, listed)
    assert [row.state for row in verdict.rows] == ["killed", "survived", "equivalent"]
    assert not verdict.passed
    text = "\n".join(verdict.problems)
    assert f"ch1 {b.id}: survives with full marks in chapter 1" in text
    assert f"{EQUIVALENTS}:9: {a.id} is listed as equivalent but loses points" in text
    assert f"{EQUIVALENTS}:7: no mutant ch1 gone@0:0 x is generated any more" in text
    total = verdict.total
    assert (total.total, total.killed, total.equivalent, total.survived) == (3, 1, 1, 1) and total.score == 0.5


def test_a_first_pass_without_training_counts_failures_only():
    results = {"chapters": [{"number": 7, "status": "graded", "score": 10, "max_score": 20, "criteria": [
        {"id": "ch7-predict", "status": "passed"}, {"id": "ch7-accuracy", "status": "skipped"}]}]}
    assert outcome(results, 7, first_pass=True) == ("kept", ())
    assert outcome(results, 7, first_pass=False) == ("killed", ("ch7-accuracy",))
    results["chapters"][0]["criteria"][0]["status"] = "failed"
    assert outcome(results, 7, first_pass=True) == ("killed", ("ch7-predict",))
    assert outcome(None, 7, first_pass=False) == ("error", ())


def test_rounds_carry_one_mutant_per_chapter(course, mutants):
    runs = mutant_runs(course, mutants)
    carried = [mutant for run in runs for _, mutant in run.mutants]
    assert sorted(carried) == sorted(m.id for m in mutants) and len(set(carried)) == len(carried)
    for run in runs:
        assert [n for n, _ in run.mutants] == list(run.chapters)
        assert len({course.chapter(n).file for n in run.chapters}) == len(run.files) == len(run.chapters)
    assert len(runs) == max(sum(m.part.chapter == n for m in mutants) for n in range(1, 8))


# --- mutants graded with the real grader --------------------------------------------------------

def grade_mutants(course, chosen):
    reports = Path(tempfile.mkdtemp(prefix="mutants-"))
    graded = [grade_run(run, course, reports / "scratch", reports, "auto") for run in mutant_runs(course, chosen)]
    return mutant_outcomes(graded, 7)


def test_a_mutant_of_gradient_check_is_killed_and_a_listed_equivalent_keeps_full_marks(course, mutants):
    by_id = {m.id: m for m in mutants}
    killed = by_id["gradient_check@16:24 max -> min"]       # returns the smallest gap instead of the largest
    equivalent = by_id["sigmoid@3:24 500.0 -> 501.0"]
    assert "+                worst = min(worst, gap)" in killed.diff
    listed = {e.id: e for e in load_equivalents(course)}
    assert equivalent.id in listed and listed[equivalent.id].reason
    fates = grade_mutants(course, (killed, equivalent))
    assert fates[killed.id][:2] == ("killed", ("ch5-gradient-check",))
    assert fates[equivalent.id][0] == "kept"


# --- what CI checks -----------------------------------------------------------------------------

def test_the_committed_mutation_result_proves_the_current_tests(course, mutants):
    """`grade selftest --mutants` takes minutes; CI checks its committed result instead, keyed by
    the hash of everything it depends on. Changing the reference, the starters, the hidden tests,
    course.yaml, the equivalents or the operators without re-running it fails here."""
    committed = json.loads((ROOT / VERIFIED).read_text())
    inputs = proof_inputs(course)
    stale = sorted(name for name in inputs if committed["inputs"].get(name) != inputs[name])
    assert committed["key"] == proof_key(inputs), (
        f"{VERIFIED} is stale ({', '.join(stale)} changed): run `grade selftest --mutants` and commit it")
    assert committed["passed"] and committed["survivors"] == [] and committed["survived"] == 0
    assert committed["mutants"] == len(mutants)
    assert committed["killed"] + committed["equivalent"] == len(mutants)
    assert committed["equivalent"] == len(load_equivalents(course))


def test_the_mutants_page_shows_survivors_with_their_diff_escaped(course, mutants):
    from grader.selftest.mutation_report import mutants_page, render_mutants_html
    chosen = mutants[:2]
    verdict = judge_mutants(course, chosen, {chosen[0].id: ("kept", (), "", ""),
                                             chosen[1].id: ("killed", ("ch1-vector-ops",), "", "")}, ())
    page = render_mutants_html(mutants_page(verdict, 1.0, "k" * 64, Path(tempfile.gettempdir())))
    assert "<script" not in page and page.count('<table class="matrix">') == 3
    assert '<td class="survived">survived</td>' in page and "-    return [x + y for x, y in zip(a, b)]" in page
    assert "score" in page and "50%" in page and ("Proof key" in page and "k" * 64 in page)
