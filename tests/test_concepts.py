"""The generated bank's diagnosis: every generated mutant sits on a concept of concepts.yaml, a
diagnosis is phrased from a mutant's concept and change, an ambiguous case stays silent, and the
independent mistakes of bench/independent-mistakes.yaml never get a wrong name."""

from __future__ import annotations

import sys

import pytest

from grader.course import load_course
from grader.mistakes import load_bank
from grader.mistakes.generated import generate_for, name_generated
from grader.mistakes import measure
from grader.selftest.mutants import generate
from submissions import ROOT


@pytest.fixture(scope="module", autouse=True)
def chapters_stay_out_of_sys_modules():
    """The measurement replays chapters in this process, and they import the reference's earlier
    chapters by name: take those out again, so that no later test finds a chapter it did not load."""
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        if name[:2].isdigit():
            del sys.modules[name]


@pytest.fixture(scope="module")
def course():
    return load_course(ROOT / "course.yaml")


@pytest.fixture(scope="module")
def bank(course):
    return generate_for(course)


def test_the_diagnosis_and_its_generated_bank_import_nothing_of_the_self_test():
    """The engine's diagnosis shares the parts and the operators with the self-test through
    grader/mutation/, a feature of neither; it must not load the self-test's package."""
    import subprocess
    import sys
    code = ("import sys, grader.diagnosis, grader.mistakes.generated, grader.mistakes.rows; "
            "print(sorted(m for m in sys.modules if m.startswith('grader.selftest')))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_every_generated_mutant_of_every_part_has_a_concept(course, bank):
    assert bank and [m.id for m in bank if m.concept is None] == []
    # the self-test's first-order mutants are all in the generated bank, so all have a concept
    assert {m.source for m in generate(course)} <= {m.source for m in bank}


@pytest.mark.parametrize("part, kind, old, new, written", [
    # an accumulator started again on every pass of its loop
    ("Trainer.train_epoch", "reset", "total = 0.0", "total = 0.0 (inside the loop)",
     "for inputs, target in dataset:\n            total = 0.0\n            total += self.train_step"),
    # a value kept in a local instead of stored on the object
    ("Neuron.forward", "store", "self.z", "z", "        z = "),
    # one variable for another of the same role; one stored value for another stored beside it
    ("LetterClassifier.evaluate", "name", "best", "i", '"confidence": probs[i],'),
    ("BackpropNetwork.backward", "name", "self.layers[-1].outputs", "self.layers[-1].z_values",
     "probs = softmax(self.layers[-1].z_values)"),
    # two arguments the other way round, a count one off, a sibling function, abs for a square
    ("LetterClassifier.__init__", "arguments", '"relu", "sigmoid"', '"sigmoid", "relu"',
     'hidden_activation="sigmoid", output_activation="relu"'),
    ("Trainer.train_epoch", "count", "len(dataset)", "(len(dataset) - 1)", "return total / (len(dataset) - 1)"),
    ("Trainer.train", "count", "range(epochs)", "range(1, epochs)", "for epoch in range(1, epochs):"),
    ("cross_entropy_loss", "swap", "math.log", "math.log10", "math.log10(max(p, 1e-15))"),
    ("softmax", "swap", "sum", "max", "total = max(exps)"),
    ("mse_loss", "swap", "(p - t) ** 2", "abs(p - t)", "sum(abs(p - t) for"),
])
def test_the_slip_families_make_what_students_write(bank, part, kind, old, new, written):
    found = [m for m in bank if (m.part.name, m.kind, m.old, m.new) == (part, kind, old, new) and written in m.source]
    assert len(found) == 1, [(m.kind, m.old, m.new) for m in bank if m.part.name == part and m.kind == kind]
    assert found[0].concept is not None
    compile(found[0].source, "mutant", "exec")


def test_a_concept_whose_code_holds_the_others_is_named(bank):
    """`y - x` and `zip(b, a)` in vector_subtract give the same answers: both lie in the new list
    of differences, so that is named (true of each), not the part."""
    pair = next(m for m in bank if m.part.name == "vector_subtract" and m.concept.id == "subtract.pair"
                and m.kind == "order")
    swapped = next(m for m in bank if m.part.name == "vector_subtract" and m.concept.id == "subtract.result"
                   and m.kind == "arguments")
    said = name_generated([pair, swapped], lesson="", guide="")
    assert said.mistake == "concept:subtract.result" and "several different changes" in said.did
    other = next(m for m in bank if m.part.name == "vector_subtract" and m.concept.id == "subtract.same-length")
    assert name_generated([pair, other], lesson="", guide="").mistake == "part:vector_subtract"


def test_a_diagnosis_is_phrased_from_the_mutants_concept_and_change(bank):
    mutant = next(m for m in bank if m.concept and m.concept.id == "layer.bias" and m.kind == "operand")
    said = name_generated([mutant], lesson="Chapter 3", guide="")
    assert said.mistake == "concept:layer.bias"
    assert "the bias term of z" in said.did.lower() and "missing" in said.did
    flipped = next(m for m in bank if m.concept and m.concept.id == "ce.sign")
    said = name_generated([flipped], lesson="", guide="").did
    assert said.startswith("In the minus sign in front of the sum, a minus seems to be dropped"), said


def test_two_concepts_of_different_parts_explaining_alike_stay_silent(bank):
    a = next(m for m in bank if m.concept and m.part.name == "Layer.forward")
    b = next(m for m in bank if m.concept and m.part.name == "Network.forward")
    assert name_generated([a, b], lesson="", guide="") is None


def test_two_concepts_of_one_part_name_the_part_only_and_one_concept_two_changes_the_concept_only(bank):
    layer = [m for m in bank if m.concept and m.part.name == "Layer.forward"]
    a = next(m for m in layer if m.concept.id == "layer.bias")
    b = next(m for m in layer if m.concept.id == "layer.output")
    assert name_generated([a, b], lesson="", guide="").mistake == "part:Layer.forward"
    same = [m for m in layer if m.concept.id == "layer.bias"]
    changes = {m.change for m in same}
    assert len(changes) > 1
    said = name_generated(same, lesson="", guide="")
    assert said.mistake == "concept:layer.bias" and "several different changes" in said.did


def test_failures_that_are_only_exceptions_name_no_concept(bank):
    a = next(m for m in bank if m.concept and m.concept.id == "layer.bias")
    assert name_generated([a], lesson="", guide="", valued=False).mistake == "part:Layer.forward"


def test_an_ambiguous_held_out_case_stays_silent():
    # pure: a student row that two candidates of different parts reproduce is named by neither
    from grader.mutation.parts import Part
    from grader.mistakes.concepts import Concept
    from grader.mistakes.generated import Generated
    def gen(ident, part, concept):
        return Generated(ident, Part(1, "f.py", part), "swap", "+", "-", Concept(concept, part, "x", concept, 1), "")
    row = {"t1": ("failed", "wrong", "f()", "1", "2")}
    tables = {"a": dict(row), "b": dict(row)}
    said, concepts = measure.diagnose_row(row, [gen("a", "p", "c1"), gen("b", "q", "c2")], tables)
    assert said is None and concepts == 2


def test_independent_mistakes_never_get_a_wrong_name_and_the_rates_are_reported(course, bank, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sets = [measure.load_written(ROOT / "bench" / f"independent-mistakes{suffix}.yaml", course)
            for suffix in ("", "-2", "-3", "-4", "-5")]
    rates = {r.name: r for r in measure.measure(course, load_bank(course), bank,
                                                {k: v for written in sets for k, v in written.items()})}
    assert rates["hand bank"].count("wrong") == 0
    assert rates["held-out generated mutants"].count("wrong") == 0
    independent = rates["independent mistakes"]
    assert [r.id for r in independent.rows if r.verdict == "wrong"] == []
    right = [sum(r.verdict == "right" for r in independent.rows if r.id in written) for written in sets]
    # measured: 29 of 33, 9 of 11 and 25 of 30 on the three sets that shaped the generated bank;
    # 16 of 30 and 15 of 30 on the fourth and fifth, held out (the goal, 80%, is not met there)
    assert right[0] >= 29 and right[1] >= 9 and right[2] >= 25 and right[3] >= 16 and right[4] >= 15, right
