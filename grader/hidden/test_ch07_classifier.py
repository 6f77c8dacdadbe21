"""Hidden tests of chapter 7: the letter classifier.

The final check trains the student's classifier once, with the defaults, for 500 epochs, pulls
the trained weights out as data, and measures the accuracy here in the judge with the
reference's forward pass: the student's own `evaluate` is checked against that measurement,
never trusted for it.
"""

import pytest

from grader.checks import attempt, check, consistent_with_own, difference, expect
from grader.outcomes import RELATIVE
from grader.remote import StudentFault
from grader.hidden.support import judge_random_untouched, plain, reported_epochs, shows_value
from grader.hidden.gates import gate_tests
from grader.hidden.training import EPOCHS, pull_network, train_classifier

test_imports, test_standard_library_only = gate_tests(7)

LETTERS = "abcdefghijklmnopqrstuvwxyz"
PASS_MARK = 0.95


def train(module, worker, epochs=EPOCHS):
    """The training that chapter 7's budget is for: the default classifier, `epochs` epochs.
    The grader also times the reference with it (grader/calibration.py), so that a budget such as
    `training_timeout: 10x` means ten times the reference's own training on this machine."""
    classifier = module.LetterClassifier()
    with worker.training():
        losses = classifier.train(epochs=epochs, verbose=False)
    return classifier, losses


def one_hot(i, n=26):
    return [1.0 if j == i else 0.0 for j in range(n)]


def judge_probabilities(reference, parameters, x):
    """softmax(forward(x)) computed in the judge with the reference's layer semantics."""
    for weights, biases, activation in parameters:
        layer = reference.BackpropLayer(len(weights[0]), len(weights), activation)
        layer.weights, layer.biases = weights, biases
        x = layer.forward(x)
    return reference.softmax(x)


def judge_evaluation(reference, parameters):
    """(accuracy, per-letter results) as the judge measures them."""
    results = []
    for i, letter in enumerate(LETTERS):
        probs = judge_probabilities(reference, parameters, one_hot(i))
        best = probs.index(max(probs))
        results.append({"letter": letter, "predicted": LETTERS[best], "correct": best == i,
                        "confidence": probs[best]})
    return (sum(r["correct"] for r in results) / 26, results)


@pytest.fixture(scope="module")
def trained(student, worker, reference):
    """Train the student's classifier once per run with the defaults; share it with the tests."""
    classifier, losses = train_classifier(student, worker, train)
    parameters = pull_network(classifier.network)
    accuracy, results = judge_evaluation(reference, parameters)
    return classifier, losses, parameters, accuracy, results


@pytest.mark.criterion("ch7-architecture")
def test_default_architecture(student):
    classifier = student.LetterClassifier()
    expect(classifier.hidden_size, 64, exact=True, call="LetterClassifier().hidden_size")
    expect(classifier.learning_rate, 0.05, call="LetterClassifier().learning_rate")
    expect(classifier.LETTERS, LETTERS, call="LetterClassifier.LETTERS")
    layers = pull_network(classifier.network)
    shapes = [[len(w), len(w[0]) if w else 0, len(b), a] for w, b, a in layers]
    expect(shapes, [[64, 26, 64, "relu"], [26, 64, 26, "sigmoid"]], exact=True,
           call="LetterClassifier().network layers as [rows, columns, biases, activation]")
    parameters = sum(rows * cols + biases for rows, cols, biases, _ in shapes)
    expect(parameters, 3418, exact=True, call="the number of parameters of LetterClassifier()")
    expect(classifier.trainer.learning_rate, 0.05, call="LetterClassifier().trainer.learning_rate")


@pytest.mark.criterion("ch7-architecture")
def test_custom_architecture_is_seeded(student, reference):
    classifier = student.LetterClassifier(hidden_size=8, learning_rate=0.2, seed=3)
    expected = reference.BackpropNetwork([26, 8, 26], hidden_activation="relu", output_activation="sigmoid", seed=3)
    layers = pull_network(classifier.network)
    expect([w for w, _, _ in layers], [layer.weights for layer in expected.layers],
           call="LetterClassifier(hidden_size=8, learning_rate=0.2, seed=3).network weights")
    expect(classifier.trainer.learning_rate, 0.2, call="LetterClassifier(learning_rate=0.2).trainer.learning_rate")


@pytest.mark.criterion("ch7-dataset")
def test_dataset(student):
    dataset = student.LetterClassifier(hidden_size=4)._make_dataset()
    check(type(dataset) is list and len(dataset) == 26,
          f"_make_dataset must return a list of 26 pairs, got {len(dataset) if type(dataset) is list else type(dataset).__name__}")
    for i, pair in enumerate(dataset):
        check(type(pair) in (tuple, list) and len(pair) == 2, f"item {i} of the dataset is not an (input, target) pair")
        expect(list(pair), [one_hot(i), one_hot(i)], call=f"_make_dataset()[{i}] (letter {LETTERS[i]!r})")


def classifier_on(student, network_seed, **options):
    """A classifier whose network is one the test builds (the course's BackpropNetwork, seeded), so
    that predict, predict_probs and evaluate are graded apart from __init__."""
    classifier = student.LetterClassifier(**options)
    classifier.network = student.BackpropNetwork([26, 10, 26], hidden_activation="relu",
                                                 output_activation="sigmoid", seed=network_seed)
    return classifier


@pytest.mark.criterion("ch7-predict")
def test_predict_follows_the_network(student, reference, rng):
    classifier = classifier_on(student, 7, hidden_size=10, seed=7)
    parameters = pull_network(classifier.network)
    inputs = [one_hot(i) for i in (0, 5, 13, 25)] + [[rng.uniform(0, 1) for _ in range(26)] for _ in range(4)]
    for x in inputs:
        probs = judge_probabilities(reference, parameters, x)
        expect(classifier.predict(x), LETTERS[probs.index(max(probs))])


ON_YOUR_PREDICT = ("evaluate builds its results correctly from your predict and predict_probs; one of those is "
                   "wrong: see their criteria above.")


def evaluated_on_stand_ins(student, reference, worker):
    """evaluate graded apart from predict and predict_probs: its answer on a classifier whose
    predict and predict_probs are stand-ins answering, letter after letter, the right letter and
    probabilities (an evaluate may build on either, or on the network itself)."""
    try:
        classifier = classifier_on(student, 9, hidden_size=10, seed=9)
        parameters = pull_network(classifier.network)
        _, results = judge_evaluation(reference, parameters)
        worker.stand_in(classifier, "predict", [r["predicted"] for r in results])
        worker.stand_in(classifier, "predict_probs", [dict(zip(LETTERS, judge_probabilities(reference, parameters,
                                                                                            one_hot(i))))
                                                      for i in range(26)])
        return classifier.evaluate()
    except StudentFault:
        return None


def untrained_evaluation(student, reference):
    return judge_evaluation(reference, pull_network(classifier_on(student, 9, hidden_size=10, seed=9).network))


def predicted(result):
    """The letters an evaluate result names, one per letter (or the error it raised)."""
    if isinstance(result, StudentFault) or type(result) is not tuple or len(result) != 2 \
            or type(result[1]) is not list:
        return result
    return [r.get("predicted") if type(r) is dict else r for r in result[1]]


def own_predictions(classifier):
    """What the student's own predict names for each letter, and what their predict_probs ranks
    first: an evaluate built on either gives these letters."""
    by_predict = lambda: [classifier.predict(one_hot(i)) for i in range(26)]
    by_probs = lambda: [max(probs, key=probs.get) for probs in (classifier.predict_probs(one_hot(i))
                                                               for i in range(26))]
    return by_predict, by_probs


def graded_as_own(student, reference, worker, classifier, result, expected):
    """evaluate differs from the reference: it passes as its own part when it is right on stand-ins
    answering right predictions and its real letters are what its own predict (or predict_probs)
    names."""
    return (difference(evaluated_on_stand_ins(student, reference, worker), expected, rel=1e-9) is None
            and consistent_with_own(predicted(result), *own_predictions(classifier)))


def passes_as_own_evaluate(student, reference, worker, record, classifier, result, right, on_stand_ins) -> bool:
    """Whether evaluate's `result`, not `right`, passes as its own part (graded_as_own, with
    `on_stand_ins()` the right answer on stand-ins, worked out only then): then the note is recorded.
    An error it raised and that does not pass so is raised here."""
    if (isinstance(result, StudentFault) or difference(result, right, rel=1e-9) is not None) and \
            graded_as_own(student, reference, worker, classifier, result, on_stand_ins()):
        record(RELATIVE, ON_YOUR_PREDICT)  # right on right predictions: the difference is predict's
        return True
    if isinstance(result, StudentFault):
        raise result
    return False


@pytest.mark.criterion("ch7-evaluate")
def test_evaluate_structure(student, reference, worker, record):
    classifier = classifier_on(student, 9, hidden_size=10, seed=9)
    parameters = pull_network(classifier.network)
    result = attempt(classifier.evaluate)
    expected = judge_evaluation(reference, parameters)
    if passes_as_own_evaluate(student, reference, worker, record, classifier, result, expected, lambda: expected):
        return
    check(type(result) is tuple and len(result) == 2, "evaluate must return a tuple (accuracy, results)")
    accuracy, results = result
    expected_accuracy, expected_results = expected
    expect(accuracy, expected_accuracy, call="LetterClassifier(hidden_size=10, seed=9).evaluate()[0]")
    expect(results, expected_results, rel=1e-9, call="LetterClassifier(hidden_size=10, seed=9).evaluate()[1]")


@pytest.mark.criterion("ch7-accuracy")
def test_trained_accuracy(trained, record):
    _classifier, losses, _parameters, accuracy, results = trained
    if type(losses) is list and all(type(v) in (int, float) for v in losses):
        record("loss_curve", losses)
    record("letters", results)
    record("accuracy", accuracy)
    right = sum(r["correct"] for r in results)
    wrong = ", ".join(f"{r['letter']}→{r['predicted']}" for r in results if not r["correct"])
    check(accuracy >= PASS_MARK,
          f"after 500 epochs the grader measured {right}/26 letters right ({accuracy:.0%}); "
          f"at least {PASS_MARK:.0%} is needed. Misclassified: {wrong}")
    check(type(losses) is list and len(losses) == 500,
          "train(epochs=500) must return the list of 500 per-epoch losses")


@pytest.mark.criterion("ch7-agreement")
def test_evaluate_agrees_with_the_judge(trained, student, reference, worker, record):
    classifier, _losses, _parameters, accuracy, results = trained
    theirs = attempt(classifier.evaluate)
    if passes_as_own_evaluate(student, reference, worker, record, classifier, theirs, (accuracy, results),
                              lambda: untrained_evaluation(student, reference)):
        return
    check(type(theirs) is tuple and len(theirs) == 2, "evaluate must return a tuple (accuracy, results)")
    expect(theirs[0], accuracy, call="evaluate()[0] after training")
    expect([r.get("predicted") if type(r) is dict else r for r in theirs[1]], [r["predicted"] for r in results],
           call="the predicted letters of evaluate() after training")


@pytest.mark.criterion("ch7-predict-probs")
def test_predict_probs_follows_the_network(student, reference, rng):
    classifier = classifier_on(student, 11, hidden_size=10, seed=11)
    parameters = pull_network(classifier.network)
    inputs = [one_hot(i) for i in (2, 17)] + [[rng.uniform(0, 1) for _ in range(26)] for _ in range(2)]
    for x in inputs:
        probs = judge_probabilities(reference, parameters, x)
        expect(classifier.predict_probs(x), dict(zip(LETTERS, probs)), rel=1e-9, abs_tol=1e-15)


# train()'s defaults are checked on a classifier whose trainer was handed a network of two output
# neurons and no hidden layer: its 500 default epochs cost a few percent of the real training's.
SMALL = 3


@pytest.mark.criterion("ch7-defaults")
def test_default_seed(student, reference):
    classifier = student.LetterClassifier(hidden_size=SMALL)
    with judge_random_untouched():
        expected = reference.BackpropNetwork([26, SMALL, 26], hidden_activation="relu",
                                             output_activation="sigmoid", seed=42)
    expect([w for w, _, _ in pull_network(classifier.network)], [layer.weights for layer in expected.layers],
           call=f"LetterClassifier(hidden_size={SMALL}).network weights (the default seed is 42)")


@pytest.mark.criterion("ch7-defaults")
def test_train_defaults(student, worker):
    classifier = student.LetterClassifier(hidden_size=SMALL)
    classifier.trainer.network = student.BackpropNetwork([26, 2], seed=1)
    # A wrong _make_dataset costs its own criterion: then train's defaults are graded on a stand-in
    # answering the right dataset.
    right = [[one_hot(i), one_hot(i)] for i in range(26)]
    dataset = attempt(classifier._make_dataset)
    if type(dataset) not in (list, tuple) or difference(plain(dataset), right) is not None:
        worker.stand_in(classifier, "_make_dataset", [right])
    mark = worker.stdout_mark()
    with worker.training(reported=False):  # the chapter's training is the one the scorecard reports
        losses = classifier.train()
    printed = worker.stdout_since(mark)
    check(type(losses) is list and len(losses) == EPOCHS and all(type(v) is float for v in losses),
          f"LetterClassifier(hidden_size={SMALL}).train() should train the default {EPOCHS} epochs and return "
          f"{EPOCHS} losses, got {f'{len(losses)} values' if type(losses) is list else repr(losses)}")
    due = reported_epochs(EPOCHS)
    lines = [line for line in (printed or "").splitlines() if line.strip()]
    check(len(lines) == len(due) and all(shows_value(line, losses[epoch - 1]) for line, epoch in zip(lines, due)),
          f"LetterClassifier().train() is verbose by default: it should print the trainer's {len(due)} "
          f"progress lines (epochs {due[0]}, {due[1]}, ..., {due[-1]}), it printed {len(lines)} lines")
    mark = worker.stdout_mark()
    classifier.train(epochs=3, verbose=False)
    check(worker.stdout_since(mark) == "", "LetterClassifier().train(epochs=3, verbose=False) printed something: "
                                           "pass verbose on to the trainer")
