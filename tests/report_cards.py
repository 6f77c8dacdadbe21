"""Synthetic Scorecards for the report tests: every field fixed (dates, paths, durations), so
rendered pages can be compared with golden files, and every kind of result represented."""

from __future__ import annotations

import math
import random
from fractions import Fraction

from grader.outcomes import ChapterRun
from grader.scorecard import Scorecard
from grader.scoring import ChapterResult, CriterionResult

XSS_SCRIPT = "<script>alert('pwned')</script>"
XSS_ATTRIBUTE = '"><img src=x onerror=alert(1)>'


def criterion(id: str, title: str, points: int, status: str = "passed", *, score=None, visibility="visible",
              total: int = 1, passed: int | None = None, **fields) -> CriterionResult:
    if passed is None:
        passed = total if status == "passed" else 0
    if score is None:
        score = Fraction(points) if status == "passed" else Fraction(points * passed, total) if total else 0
    return CriterionResult(id=id, title=title, score=Fraction(score), max_score=points, status=status,
                           visibility=visibility, passed=passed, total=total, **fields)


def gates(n: int, status: str = "passed") -> list[CriterionResult]:
    return [criterion(f"ch{n}-imports", "The file imports without errors", 0, status,
                      help=f"Run `python3 0{n}_chapter.py` and fix the first error it shows."),
            criterion(f"ch{n}-stdlib", "Only the standard library is used", 0, status,
                      help="The course is pure Python.")]


def chapter(number: int, title: str, file: str, criteria, *, status="graded", note="", stdout="", stderr="",
            truncated=False, restarts=0, files=None) -> ChapterResult:
    run = ChapterRun(number, status, note=note, stdout=stdout, stderr=stderr, output_truncated=truncated,
                     restarts=restarts, duration=0.25 * number,
                     files=files if files is not None else ({file: "student"} if status == "graded" else {}))
    return ChapterResult(number, title, file, status, tuple(criteria), run)


def card(chapters, **fields) -> Scorecard:
    base = dict(grader_version="0.1.0", course_title="MLP from scratch", course_version="1.0",
                course_sha256="c0" * 32, submission_path="/home/student/mlp-submission",
                submission_sha256="5b" * 32, sandbox="bwrap", sandbox_note="", seed=20261122,
                integrated=False, python="3.11.7", started="2026-11-22T09:30:00+00:00", duration=12.5,
                chapters=tuple(chapters))
    base.update(fields)
    return Scorecard(**base)


# --- recorded data -----------------------------------------------------------------------

CASES = ("relu→sigmoid", "sigmoid→linear", "linear→relu")


def gradcheck(kind: str, *, wrong: dict | None = None) -> list[dict]:
    """One check per case and layer for `kind`; `wrong` maps (case, layer) to a bad error."""
    rng = random.Random(kind)
    checks = []
    for case in CASES:
        for layer in (0, 1):
            error = wrong.get((case, layer), None) if wrong else None
            worst = error if error is not None else 10 ** rng.uniform(-11, -8)
            passed = worst <= 1e-4 if not math.isnan(worst) else False
            checks.append({"case": case, "layer": layer, "kind": kind, "worst_error": worst, "tolerance": 1e-4,
                           "where": f"{kind}[1][{layer}]" if kind == "weights" else f"{kind}[{layer + 1}]",
                           "analytic": 0.125 if passed else 0.5, "numeric": 0.125, "passed": passed})
    return checks


def loss_curve(epochs: int, start: float = 3.3, floor: float = 0.01, rate: float = 60.0,
               diverge_at: int | None = None) -> list[float]:
    rng = random.Random(epochs)
    curve = []
    for e in range(epochs):
        if diverge_at is not None and e >= diverge_at:
            curve.append(math.nan)
            continue
        value = floor + (start - floor) * math.exp(-e / rate)
        curve.append(round(value * (1 + rng.uniform(-0.03, 0.03)), 6))
    return curve


def letters(wrong: dict[str, str] | None = None) -> list[dict]:
    wrong = wrong or {}
    out = []
    for i, letter in enumerate("abcdefghijklmnopqrstuvwxyz"):
        predicted = wrong.get(letter, letter)
        out.append({"letter": letter, "predicted": predicted, "correct": predicted == letter,
                    "confidence": round(0.35 + 0.02 * i, 4) if predicted != letter else round(0.99 - 0.01 * i, 4)})
    return out


# --- whole cards -------------------------------------------------------------------------

def passing_card() -> Scorecard:
    """Every chapter graded and passed, with the data chapters 5-7 record."""
    return card([
        chapter(1, "Math foundations", "01_math_foundations.py", gates(1) + [
            criterion("ch1-vector-ops", "vector_add, vector_subtract and vector_scale", 2, total=3),
            criterion("ch1-dot", "dot_product and elementwise_multiply", 2, total=2),
            criterion("ch1-transpose", "transpose, including the empty matrix", 2),
            criterion("ch1-matvec", "matrix_vector_multiply", 2),
            criterion("ch1-matmul", "matrix_multiply on square and rectangular matrices", 2)]),
        chapter(2, "A single neuron", "02_single_neuron.py", gates(2) + [
            criterion("ch2-sigmoid", "sigmoid, including very large and very small inputs", 3),
            criterion("ch2-sigmoid-derivative", "sigmoid_derivative takes the sigmoid's output", 2),
            criterion("ch2-relu", "relu and relu_derivative, including z = 0", 2),
            criterion("ch2-neuron", "Neuron.forward computes and stores inputs, z and a", 3)]),
        chapter(3, "The forward pass", "03_forward_pass.py", gates(3) + [
            criterion("ch3-layer-forward", "Layer.forward with relu and sigmoid", 4, total=4),
            criterion("ch3-layer-cache", "Layer.forward stores inputs, z_values and outputs on every call", 3),
            criterion("ch3-network", "Network.forward chains layers of different widths", 5)]),
        chapter(4, "Loss functions", "04_loss_function.py", gates(4) + [
            criterion("ch4-softmax", "softmax sums to 1, keeps the order and is stable for huge logits", 4, total=3),
            criterion("ch4-cross-entropy", "cross_entropy_loss, including zero probabilities and soft targets", 4,
                      total=3),
            criterion("ch4-mse", "mse_loss", 2)]),
        chapter(5, "Backpropagation", "05_backpropagation.py", gates(5) + [
            criterion("ch5-forward", "BackpropLayer.forward with relu, sigmoid and linear", 3, total=3),
            criterion("ch5-shapes", "Gradients have the shapes of what they belong to", 3),
            criterion("ch5-grad-weights", "Weight gradients match a numerical gradient check", 5, total=3,
                      data={"gradcheck": gradcheck("weights")}),
            criterion("ch5-grad-biases", "Bias gradients match a numerical gradient check", 3, total=3,
                      data={"gradcheck": gradcheck("biases")}),
            criterion("ch5-grad-inputs", "Input gradients match a numerical gradient check", 4, total=3,
                      data={"gradcheck": gradcheck("inputs")}),
            criterion("ch5-network-backward", "BackpropNetwork.backward fills every layer's gradients", 6,
                      visibility="hidden")]),
        chapter(6, "The training loop", "06_training_loop.py", gates(6) + [
            criterion("ch6-step-update", "train_step applies one SGD update to every weight and bias", 5),
            criterion("ch6-step-loss", "train_step returns the loss before the update and records it", 2),
            criterion("ch6-epoch", "train_epoch returns the mean loss over the dataset", 2),
            criterion("ch6-train", "train runs every epoch and lowers the loss", 4,
                      data={"loss_curve": [loss_curve(100, start=0.7, floor=0.02, rate=18)]}),
            criterion("ch6-quiet", "train(verbose=False) prints nothing", 1, visibility="hidden")]),
        chapter(7, "Final project: the letter classifier", "07_final_project.py", gates(7) + [
            criterion("ch7-architecture", "The network is [26, hidden_size, 26] with a Trainer", 2),
            criterion("ch7-dataset", "_make_dataset returns the 26 one-hot pairs", 2),
            criterion("ch7-predict", "predict returns the letter with the highest probability", 2),
            criterion("ch7-evaluate", "evaluate returns (accuracy, one result per letter)", 2),
            criterion("ch7-accuracy", "After 500 epochs the classifier names at least 95% of the letters", 10,
                      data={"loss_curve": [loss_curve(500)], "letters": [letters()], "accuracy": [1.0]}),
            criterion("ch7-agreement", "evaluate agrees with the grader's own measurement", 2,
                      visibility="hidden")],
            stdout="epoch    1/500  loss 3.2581\nepoch   50/500  loss 1.2032\nepoch  500/500  loss 0.0113\n"),
    ])


def failing_card() -> Scorecard:
    """Every way a criterion or a chapter can go wrong, including student text full of markup."""
    location = {"file": "01_math_foundations.py", "line": 35, "function": "vector_add",
                "code": f"raise ValueError(\"{XSS_SCRIPT}\")"}
    return card([
        chapter(1, "Math foundations", "01_math_foundations.py", gates(1) + [
            criterion("ch1-vector-ops", "vector_add, vector_subtract and vector_scale", 2, "error", total=3, passed=1,
                      message=f"vector_add([1, 2, 3], [4, 5, 6]) raised ValueError: {XSS_SCRIPT} at line 35 of "
                              "01_math_foundations.py",
                      help="Build and return a new list, one element per position; never change the inputs.",
                      call="vector_add([1, 2, 3], [4, 5, 6])", location=location),
            criterion("ch1-dot", "dot_product and elementwise_multiply", 2, "failed", total=2, passed=1,
                      message=f"expected a number, got a str ({XSS_ATTRIBUTE!r})",
                      help="dot_product adds up a[i] * b[i] into one number.",
                      call="dot_product([1, 2, 3], [4, 5, 6])", expected="32", actual=repr(XSS_ATTRIBUTE)),
            criterion("ch1-transpose", "transpose, including the empty matrix", 2, "timeout",
                      message="transpose([]) did not finish within 5 s", call="transpose([])",
                      help="Row i of the result is column i of the input; an empty matrix transposes to [].",
                      location={"file": "01_math_foundations.py", "line": 71, "function": "transpose",
                                "code": "while True:"}),
            criterion("ch1-matvec", "matrix_vector_multiply", 2),
            criterion("ch1-matmul", "matrix_multiply on square and rectangular matrices", 2)],
            stdout=("debug " + XSS_SCRIPT + "\n") * 3 + "\x1b[31mred\x1b[0m \x00 done\n" + "x" * 5000,
            stderr=XSS_ATTRIBUTE + "\n", truncated=True, restarts=1),
        chapter(2, "A single neuron", "02_single_neuron.py", [
            criterion("ch2-imports", "The file imports without errors", 0, "error",
                      message="SyntaxError: invalid syntax at line 12 of 02_single_neuron.py",
                      help="Run `python3 02_single_neuron.py` and fix the first error it shows.",
                      location={"file": "02_single_neuron.py", "line": 12, "function": "<module>",
                                "code": "def sigmoid(z)"})] + [
            criterion("ch2-stdlib", "Only the standard library is used", 0, "skipped",
                      message="skipped because “The file imports without errors” did not pass")] + [
            criterion(cid, title, pts, "skipped",
                      message="skipped because “The file imports without errors” did not pass")
            for cid, title, pts in (("ch2-sigmoid", "sigmoid, including very large and very small inputs", 3),
                                    ("ch2-neuron", "Neuron.forward computes and stores inputs, z and a", 3))]),
        chapter(3, "The forward pass", "03_forward_pass.py", [
            criterion("ch3-imports", "The file imports without errors", 0, "skipped",
                      message="03_forward_pass.py was not found in the submission", total=0),
            criterion("ch3-network", "Network.forward chains layers of different widths", 5, "skipped",
                      message="03_forward_pass.py was not found in the submission", total=0)],
            status="missing", note="03_forward_pass.py was not found in the submission"),
        chapter(4, "Loss functions", "04_loss_function.py", [
            criterion("ch4-mse", "mse_loss", 2, "skipped", total=0,
                      message="04_loss_function.py is a symbolic link; submit the file itself")],
            status="error", note="04_loss_function.py is a symbolic link; submit the file itself"),
        chapter(5, "Backpropagation", "05_backpropagation.py", gates(5) + [
            criterion("ch5-forward", "BackpropLayer.forward with relu, sigmoid and linear", 3, total=3),
            criterion("ch5-grad-weights", "Weight gradients match a numerical gradient check", 5, "failed",
                      total=3, passed=2, message="weights of layer 2 (linear, case sigmoid→linear): relative error 0.83 "
                                                 "at weights[1][1] (yours 0.5, numerical 0.125); tolerance 0.0001",
                      help="dW[i][j] = dz[i] * inputs[j].",
                      data={"gradcheck": gradcheck("weights", wrong={("sigmoid→linear", 1): 0.83})}),
            criterion("ch5-grad-biases", "Bias gradients match a numerical gradient check", 3, "failed",
                      total=3, passed=0, message="biases of layer 1 (relu, case relu→sigmoid): relative error 0.5 at "
                                                 "biases[3] (yours 0.5, numerical 0.125); tolerance 0.0001",
                      help="db[i] = dz[i]. For sigmoid, the slope is sigmoid_derivative(outputs[i]).",
                      data={"gradcheck": gradcheck("biases", wrong={("relu→sigmoid", 0): 0.5, ("relu→sigmoid", 1): 1.0,
                                                                    ("sigmoid→linear", 0): math.nan,
                                                                    ("linear→relu", 1): math.inf})}),
            criterion("ch5-grad-inputs", "Input gradients match a numerical gradient check", 4, total=3,
                      data={"gradcheck": gradcheck("inputs", wrong={("linear→relu", 0): 0.0})}),
            criterion("ch5-network-backward", "BackpropNetwork.backward fills every layer's gradients", 6, "failed",
                      visibility="hidden", message="some hidden checks failed",
                      help="Start from softmax(last layer's outputs) - target.",
                      data={"gradcheck": [{"case": "SECRET hidden case", "layer": 1, "kind": "weights",
                                           "worst_error": 1.0, "tolerance": 1e-5, "passed": False}]})]),
        chapter(6, "The training loop", "06_training_loop.py", gates(6) + [
            criterion("ch6-train", "train runs every epoch and lowers the loss", 4, "failed",
                      message="the loss went up: 0.69 at epoch 1, nan at epoch 100",
                      help="Return a list with one mean loss per epoch.",
                      data={"loss_curve": [loss_curve(100, start=0.7, floor=5.0, rate=10, diverge_at=60)]})]),
        chapter(7, "Final project: the letter classifier", "07_final_project.py", gates(7) + [
            criterion("ch7-accuracy", "After 500 epochs the classifier names at least 95% of the letters", 10,
                      "failed", message="named 22 of 26 letters right (84.6%); at least 95% is needed",
                      help="If training is slow or the loss stays flat, check the learning rate.",
                      data={"loss_curve": [loss_curve(500, start=3.3, floor=0.4, rate=150)],
                            "letters": [letters({"e": "c", "q": "o", "x": XSS_SCRIPT, "z": "s"})],
                            "accuracy": [22 / 26]})]),
    ], sandbox="process", sandbox_note="bwrap is not available: user namespaces are disabled", duration=75.0)


def diagnosed_card() -> Scorecard:
    """failing_card with the diagnosis naming a known mistake behind two criteria: a visible one
    (chapter 1's dot product) and a hidden one (chapter 5's network backward), and markup in the
    explanation that every format must keep as text."""
    from dataclasses import replace

    from grader.outcomes import Diagnosis

    dot = Diagnosis(mistake="ch1-dot-string", title="dot_product returns its total as a string",
                    did=f"Your `dot_product` seems to build its total with str() {XSS_SCRIPT}.",
                    why="A number is what the next layer multiplies; a string cannot be.",
                    lesson="Chapter 1 — math foundations", guide="exercises/README.md")
    backward = Diagnosis(mistake="ch5-no-transpose", title="the input gradient indexes the weights without the transpose",
                         did="Your `BackpropLayer.backward` seems to use `weights[j][i]`.",
                         why="dx[j] sums dz[i] * weights[i][j] over i.", lesson="Chapter 5 — backpropagation")
    named = {"ch1-dot": (dot,), "ch5-network-backward": (backward,), "ch1-matvec": (dot,)}  # matvec passed
    base = failing_card()
    chapters = tuple(replace(ch, criteria=tuple(replace(c, diagnosis=named.get(c.id, ())) for c in ch.criteria))
                     for ch in base.chapters)
    return replace(base, chapters=chapters)
