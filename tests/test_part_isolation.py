"""A mistake costs its points once: a criterion about a part that composes others passes when the
part is right given the student's own lower parts, end-to-end criteria say so, and course.yaml
declares the part each criterion grades.

Pure parts (the relative comparison, the owners of a mistake, the declarations, the worker's
stand-in), and the real `grade` command on fixture submissions whose one mistake sits in a lower
part: the composing part's criterion passes, and every report says why.
"""

from __future__ import annotations

import html
import re
from fractions import Fraction

import pytest

from grader.checks import Mismatch, consistent_with_own, expect_own, passes_as_own
from grader.course import load_course
from grader.errors import CourseError
from grader.outcomes import RELATIVE, TestOutcome
from grader.remote import StudentRaised, StudentTimeout
from grader.sandbox.worker import StandIn
from grader.scoring import score_criterion
from grader.selftest.mutants import generate, judge_mutants
from grader.selftest.once import changed_parts, declaration_problems, owners, spilled
from submissions import ROOT, assemble, grade

COURSE = load_course(ROOT / "course.yaml")


# --- the relative comparison (pure) -------------------------------------------------------------

def recorder():
    notes = []
    return notes, lambda key, value: notes.append((key, value))


def raised(kind="ValueError", detail="bad", line=11, file="01_math_foundations.py"):
    return StudentRaised(kind, detail, call="f()", frames=[{"file": file, "line": line, "function": "f"}])


def test_the_reference_answer_passes_without_calling_the_lower_parts():
    notes, record = recorder()
    called = []
    assert passes_as_own([1, 2], [1, 2], lambda: called.append(1), note="n", record=record)
    assert not called and not notes


def test_an_answer_built_from_the_students_own_lower_parts_passes_and_says_so():
    notes, record = recorder()
    assert passes_as_own([1, 3], [1, 2], lambda: [9], lambda: [1, 3], note="yours", record=record)
    assert notes == [(RELATIVE, "yours")]


def test_an_answer_that_is_neither_fails_with_the_references_values():
    notes, record = recorder()
    with pytest.raises(Mismatch) as failure:
        expect_own([1, 4], [1, 2], lambda: [1, 3], note="yours", record=record, call="g()")
    assert failure.value.expected == "[1, 2]" and failure.value.call == "g()" and not notes


def test_lower_parts_that_time_out_give_nothing_to_be_relative_to():
    notes, record = recorder()

    def late():
        raise StudentTimeout("too slow")
    assert not passes_as_own([1, 3], [1, 2], late, note="yours", record=record)


def test_a_part_may_raise_only_what_its_lower_parts_raise_at_the_same_line():
    notes, record = recorder()

    def lower(**where):
        def call():
            raise raised(**where)
        return call
    assert passes_as_own(raised(), [1], lower(), note="yours", record=record)
    assert not passes_as_own(raised(), [1], lower(line=12), note="yours", record=record)
    assert not passes_as_own(raised(), [1], lower(detail="other"), note="yours", record=record)
    assert not passes_as_own(raised(), [1], lambda: [1], note="yours", record=record)
    assert notes == [(RELATIVE, "yours")]


def test_composing_the_lower_answers_may_fail_as_the_part_did():
    notes, record = recorder()
    mine = raised("TypeError", "'NoneType' object is not iterable")
    assert passes_as_own(mine, [1], lambda: [x for x in None], note="yours", record=record)
    assert not passes_as_own(raised("TypeError", "other"), [1], lambda: [x for x in None], note="y", record=record)


def test_a_part_graded_on_stand_ins_must_agree_with_its_own_lower_parts_when_they_answer():
    assert consistent_with_own([1, 3], lambda: [9], lambda: [1, 3])
    assert not consistent_with_own([1, 3], lambda: [1, 4])                  # they answer, and it disagrees
    assert not consistent_with_own(raised(), lambda: [1, 4])                # it raised on its own
    assert consistent_with_own([1, 3], lambda: [x for x in None])           # theirs cannot be composed
    assert consistent_with_own(raised("TypeError", "other"), lambda: [x for x in None])


def test_unfinished_work_never_passes_as_relative():
    notes, record = recorder()

    def lower():
        raise raised("NotImplementedError", "")
    assert not passes_as_own(raised("NotImplementedError", ""), [1], lower, note="yours", record=record)
    with pytest.raises(StudentRaised):
        expect_own(raised("NotImplementedError", ""), [1], lower, note="yours", record=record)


# --- the worker's stand-in ------------------------------------------------------------------------

def test_a_stand_in_answers_in_turn_repeats_its_last_answer_and_keeps_copies_of_its_calls():
    stand_in = StandIn([[1.0], [2.0]])
    data = [1, 2]
    first = stand_in(data, target=[0])
    first.append(99)
    data.append(3)
    assert stand_in("x") == [2.0] and stand_in() == [2.0] and stand_in() == [2.0]
    assert stand_in.calls[0] == [[[1, 2]], {"target": [0]}]
    assert stand_in.answers == [[1.0], [2.0]]


# --- course.yaml: what each criterion grades ------------------------------------------------------

def test_every_criterion_worth_points_names_its_parts_and_every_part_is_graded():
    assert declaration_problems(COURSE) == ()
    assert [c.id for ch in COURSE.chapters for c in ch.criteria if c.end_to_end] == ["ch7-accuracy"]


def rubric_with(old: str, new: str) -> str:
    text = (ROOT / "course.yaml").read_text()
    assert old in text
    return text.replace(old, new, 1).replace("reference: reference", f"reference: {ROOT / 'reference'}") \
        .replace("exercises: exercises", f"exercises: {ROOT / 'exercises'}")


@pytest.mark.parametrize("old, new, message", [
    ("        parts: [Network.forward]\n", "        scope: end-to-end\n        parts: [Network.forward]\n",
     r"course.yaml:\d+: chapters\[2\]\.criteria\[4\]\.note: an end-to-end criterion needs a note"),
    ("        parts: [Network.forward]\n", "        parts: [Network.forward]\n        scope: whole\n",
     r"course.yaml:\d+: chapters\[2\]\.criteria\[4\]\.scope: must be one of part, end-to-end, not 'whole'"),
    ("        parts: [Network.forward]\n", "        parts: [Network.forward]\n        note: depends on the rest\n",
     r"course.yaml:\d+: chapters\[2\]\.criteria\[4\]\.note: only an end-to-end criterion has a note"),
    ("        parts: [Network.forward]\n", "        parts: [Network.forward, Network.forward]\n",
     r"course.yaml:\d+: chapters\[2\]\.criteria\[4\]\.parts: expected a list of distinct names"),
])
def test_a_broken_scope_names_file_line_and_key(old, new, message, tmp_path):
    path = tmp_path / "course.yaml"
    path.write_text(rubric_with(old, new))
    with pytest.raises(CourseError, match=message):
        load_course(path)


def test_the_selftest_names_a_criterion_without_parts_and_a_part_without_criterion(tmp_path):
    path = tmp_path / "course.yaml"
    path.write_text(rubric_with("        parts: [Network.forward]\n", "        parts: [Network.backward]\n"))
    problems = declaration_problems(load_course(path))
    assert "ch3-network: Network.backward is not a student part of chapter 3" in problems
    assert "ch3 Network.forward: no criterion worth points names it in parts:" in problems


def test_a_mistake_may_cost_its_own_parts_criteria_and_end_to_end_ones_only():
    ch3, ch7 = COURSE.chapter(3), COURSE.chapter(7)
    assert owners(ch3, ["Layer.forward"]) == {"ch3-layer-forward", "ch3-layer-cache"}
    assert spilled(ch3, ["Layer.forward"], ["ch3-layer-forward", "ch3-network"]) == ("ch3-network",)
    assert spilled(ch7, ["LetterClassifier.predict"], ["ch7-predict", "ch7-accuracy"]) == ()


def test_the_part_a_mistake_changes_is_found_in_its_code_not_its_comments():
    reference = (ROOT / "reference" / "03_forward_pass.py").read_text()
    names = ["Layer.forward", "Network.forward"]
    assert changed_parts(reference, reference.replace("        self.inputs = inputs\n",
                                                      "        self.inputs = inputs  # kept\n", 1), names) == ()
    mistake = reference.replace(" + b for row, b in zip(self.weights, self.biases)]", " for row in self.weights]")
    assert mistake != reference and changed_parts(reference, mistake, names) == ("Layer.forward",)


# --- scorecards ---------------------------------------------------------------------------------

def test_an_end_to_end_criterion_that_lost_points_says_what_it_depends_on():
    accuracy = COURSE.chapter(7).criterion("ch7-accuracy")
    failed = score_criterion(accuracy, [TestOutcome("t", 7, accuracy.id, "failed", "18/26 letters")])
    passed = score_criterion(accuracy, [TestOutcome("t", 7, accuracy.id, "passed")])
    assert failed.context == accuracy.note and "whole classifier" in failed.context
    assert passed.context == "" and failed.score == Fraction(0)


def test_a_relative_pass_is_noted_only_on_a_passed_criterion():
    network = COURSE.chapter(3).criterion("ch3-network")
    note = {RELATIVE: ["chains your layers"]}
    passed = score_criterion(network, [TestOutcome("a", 3, network.id, "passed", data=note)])
    failed = score_criterion(network, [TestOutcome("a", 3, network.id, "passed", data=note),
                                       TestOutcome("b", 3, network.id, "failed", "wrong")])
    assert passed.context == "chains your layers" and RELATIVE not in passed.data
    assert failed.context == ""


CASES = {
    # fixture: (chapter, criteria lost, criteria passed relative to the student's own lower parts)
    "isolated-ch1-dot-product-skips-last-term-matvec-matmul-pass": (1, {"ch1-dot"}, {"ch1-matvec", "ch1-matmul"}),
    "isolated-ch3-layer-forward-skips-bias-network-passes": (3, {"ch3-layer-forward", "ch3-layer-cache"},
                                                             {"ch3-network"}),
    "isolated-ch6-train-step-divides-epoch-and-train-pass": (6, {"ch6-step-update", "ch6-step-loss"},
                                                             {"ch6-epoch", "ch6-train"}),
    "buggy-ch5-input-gradient-not-transposed": (5, {"ch5-shapes", "ch5-grad-weights", "ch5-grad-biases",
                                                    "ch5-grad-inputs"}, {"ch5-network-backward"}),
}


@pytest.mark.parametrize("fixture", sorted(CASES))
def test_a_lower_parts_mistake_costs_points_only_in_its_own_criteria(fixture, tmp_path):
    number, lost, relative = CASES[fixture]
    folder = assemble(fixture, tmp_path)
    graded = grade("chapter", str(number), "--submission", str(folder), report_dir=tmp_path / "out",
                   env={"GRADE_RESIDENT": "0"})
    assert graded.code == 1, graded.stderr
    criteria = {c["id"]: c for c in graded.chapter(number)["criteria"]}
    assert {i for i, c in criteria.items() if c["status"] != "passed"} == lost
    assert {i for i, c in criteria.items() if c.get("relative")} == relative
    page = html.unescape((tmp_path / "out" / f"chapter-{number:02d}.html").read_text())
    for criterion in relative:
        note = criteria[criterion]["relative"]
        assert "correctly" in note and "see" in note
        assert note in page
        assert re.sub(r"\s+", " ", note)[:60] in re.sub(r"\s+", " ", graded.stdout)


def test_a_mutant_charged_outside_its_part_fails_the_mutation_run():
    mutant = next(m for m in generate(COURSE) if m.part.name == "Layer.forward")
    spilt = judge_mutants(COURSE, (mutant,), {mutant.id: ("killed", ("ch3-layer-forward", "ch3-network"), "", "")}, ())
    assert not spilt.passed and [row.spilled for row in spilt.spilled] == [("ch3-network",)]
    assert "ch3-network, which grade other parts" in spilt.problems[0]
    once = judge_mutants(COURSE, (mutant,), {mutant.id: ("killed", ("ch3-layer-forward",), "", "")}, ())
    assert once.passed and once.spilled == ()


def test_a_part_that_behaves_only_on_stand_ins_gets_nothing_for_it(tmp_path):
    """The attack on the stand-ins: a train that trains and prints properly only when its
    train_epoch has been replaced. Its real answers must agree with its own train_epoch too."""
    fixture = "hostile-ch6-train-plays-along-only-with-stand-ins-scores-zero-ch6-train-quiet-verbose"
    graded = grade("chapter", "6", "--submission", str(assemble(fixture, tmp_path)), report_dir=tmp_path / "out",
                   env={"GRADE_RESIDENT": "0"})
    criteria = {c["id"]: c for c in graded.chapter(6)["criteria"]}
    assert {i for i, c in criteria.items() if c["score"] == 0 and c["max_score"]} == {"ch6-train", "ch6-quiet",
                                                                                     "ch6-verbose"}
    assert not any(c.get("relative") for c in criteria.values())
