"""Chapter 7 — the final project: a small network that learns to name all 26 letters.

Every piece from the earlier chapters is used here once. Each letter is encoded as a one-hot
vector: 26 numbers, all 0.0 except a 1.0 at the letter's position in the alphabet ('c' has its
1.0 at index 2). The network

    26 inputs  ->  64 relu neurons  ->  26 sigmoid neurons  ->  softmax  ->  26 probabilities

is trained with SGD and cross-entropy to give each letter back: the input for 'c' should put
the largest probability on 'c'. The prediction is the letter at the position of the largest
probability (the argmax).

Size: 26*64 weights + 64 biases + 64*26 weights + 26 biases = 3,418 parameters. With the
default settings (hidden_size=64, learning_rate=0.05, seed=42), 500 epochs should get every
letter right.

Do not be surprised by low confidence: the output layer's sigmoid keeps each output inside
(0, 1), so softmax over 26 such values can never put much more than 0.1 on one letter. The
ranking is what counts, and accuracy is the measure of success here, not confidence.

Things to get right:
  * build the network with the given hidden_size and seed, and the trainer with the given
    learning_rate, and store them as self.network and self.trainer;
  * give every one-hot vector its own fresh list of 26 floats;
  * predict returns a letter ('a' to 'z'), not an index;
  * evaluate returns (accuracy, results), each result a dict with exactly the keys
    letter, predicted, correct and confidence.

Check your work with:  python3 07_final_project.py   (it trains for 500 epochs: allow ~10-20 s)
"""

import importlib
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
BackpropNetwork = importlib.import_module("05_backpropagation").BackpropNetwork
Trainer = importlib.import_module("06_training_loop").Trainer
softmax = importlib.import_module("04_loss_function").softmax


class LetterClassifier:
    """Classifies one-hot letter vectors with a small MLP."""

    LETTERS = "abcdefghijklmnopqrstuvwxyz"

    def __init__(self, hidden_size=64, learning_rate=0.05, seed=42):
        """Store hidden_size and learning_rate; build the network and its trainer.

        self.network = BackpropNetwork([26, hidden_size, 26], hidden_activation="relu",
                                       output_activation="sigmoid", seed=seed)
        self.trainer = Trainer(self.network, learning_rate=learning_rate)
        """
        raise NotImplementedError("LetterClassifier.__init__: store hidden_size and learning_rate, "
                                  "build self.network [26, hidden_size, 26] and self.trainer")

    def _make_dataset(self):
        """Return 26 pairs (one_hot, one_hot), one per letter in alphabetical order.

        The one-hot vector for letter i is a list of 26 floats: 1.0 at index i, 0.0 elsewhere.
        The input and the target of a pair are the same letter.
        """
        raise NotImplementedError("LetterClassifier._make_dataset: 26 pairs (one_hot(i), one_hot(i)) "
                                  "of 26-float lists")

    def train(self, epochs=500, verbose=True):
        """Train on the dataset for the given number of epochs with self.trainer; return the
        per-epoch mean losses (pass verbose on to the trainer)."""
        raise NotImplementedError("LetterClassifier.train: hand _make_dataset() to self.trainer.train "
                                  "and return its losses")

    def predict(self, one_hot_input):
        """Return the letter whose probability is largest in softmax(network.forward(input))."""
        raise NotImplementedError("LetterClassifier.predict: softmax the network's output and return "
                                  "LETTERS at the index of the largest probability")

    def predict_probs(self, one_hot_input):
        """Return {letter: probability} for all 26 letters, from softmax(network.forward(input))."""
        raise NotImplementedError("LetterClassifier.predict_probs: pair each letter with its softmax "
                                  "probability in a dict")

    def evaluate(self):
        """Classify every letter; return (accuracy, results).

        results holds one dict per letter, in alphabetical order, with keys
        "letter" (the true letter), "predicted" (the predicted letter), "correct" (a bool) and
        "confidence" (the predicted letter's probability). accuracy is the fraction correct,
        between 0 and 1.
        """
        raise NotImplementedError("LetterClassifier.evaluate: predict every letter; return "
                                  "(fraction correct, one result dict per letter)")


# ---------------------------------------------------------------------------------------------
# Self-check: run `python3 07_final_project.py`. Nothing below needs editing.

def _report(name, check):
    """Run one check and print one line: ok, what went wrong, or what is still to write."""
    try:
        problem = check()
    except NotImplementedError as exc:
        part, colon, hint = str(exc).partition(": ")
        if not colon:
            part, hint = name, str(exc)
        if part == name:
            print(f"{name}: not implemented yet — {hint}")
        else:
            print(f"{name}: cannot be checked yet — {part} is not implemented yet")
    except Exception as exc:  # a bug in the code under test: describe it, don't crash
        print(f"{name}: raised {type(exc).__name__}: {exc}")
    else:
        print(f"{name}: {problem or 'ok'}")


def _one_hot(i):
    return [1.0 if j == i else 0.0 for j in range(26)]


def _top_probability(outputs):
    """The largest softmax probability of the network's outputs (computed here independently)."""
    import math

    exps = [math.exp(v - max(outputs)) for v in outputs]
    return max(exps) / sum(exps)


def _check_init():
    classifier = LetterClassifier()
    sizes = [(len(layer.weights), len(layer.weights[0])) for layer in classifier.network.layers]
    count = sum(rows * columns + rows for rows, columns in sizes)
    if sizes != [(64, 26), (26, 64)]:
        return f"weight matrices are {sizes} (rows x columns), expected [(64, 26), (26, 64)]"
    if count != 3418:
        return f"the network has {count} parameters, expected 3418"
    if (classifier.hidden_size, classifier.learning_rate) != (64, 0.05):
        return "hidden_size and learning_rate should be stored (64 and 0.05 by default)"
    if classifier.trainer.network is not classifier.network or classifier.trainer.learning_rate != 0.05:
        return "self.trainer should train self.network with the given learning_rate"
    return None


def _check_make_dataset():
    dataset = LetterClassifier()._make_dataset()
    expected = [(_one_hot(i), _one_hot(i)) for i in range(26)]
    if [(list(x), list(t)) for x, t in dataset] != expected:
        return "expected 26 pairs (one_hot(i), one_hot(i)) in alphabetical order"
    if not all(type(v) is float for x, t in dataset for v in list(x) + list(t)):
        return "the one-hot vectors should hold floats (0.0 and 1.0)"
    return None


def _check_predict():
    classifier = LetterClassifier()
    guesses = [classifier.predict(_one_hot(i)) for i in range(26)]
    for g in guesses:
        if not (isinstance(g, str) and len(g) == 1 and g in LetterClassifier.LETTERS):
            return f"predict should return one lowercase letter, got {g!r}"
    outputs = [classifier.network.forward(_one_hot(i)) for i in range(26)]
    best = [LetterClassifier.LETTERS[out.index(max(out))] for out in outputs]
    if guesses != best:
        return "predict should pick the letter with the largest probability"
    return None


def _check_predict_probs():
    probs = LetterClassifier().predict_probs(_one_hot(0))
    if not isinstance(probs, dict) or sorted(probs) != list(LetterClassifier.LETTERS):
        return "predict_probs should return a dict with one entry per letter"
    if abs(sum(probs.values()) - 1.0) > 1e-9:
        return f"the probabilities add up to {sum(probs.values())}, not 1"
    return None


def _judge(classifier, minimum_accuracy):
    """Check what evaluate() returns; None when it is well formed and accurate enough."""
    accuracy, results = classifier.evaluate()
    if not isinstance(results, list) or len(results) != 26:
        return "evaluate should return one result per letter"
    if any(not isinstance(r, dict) or set(r) != {"letter", "predicted", "correct", "confidence"}
           for r in results):
        return "each result should be a dict with keys letter, predicted, correct, confidence"
    if [r["letter"] for r in results] != list(LetterClassifier.LETTERS):
        return "results should list the letters in alphabetical order"
    if any(r["correct"] != (r["predicted"] == r["letter"]) for r in results):
        return "'correct' should be True exactly when predicted == letter"
    top = [_top_probability(classifier.network.forward(_one_hot(i))) for i in range(26)]
    if any(abs(r["confidence"] - p) > 1e-9 for r, p in zip(results, top)):
        return "'confidence' should be the probability of the predicted letter"
    right = sum(1 for r in results if r["correct"])
    if not isinstance(accuracy, (int, float)) or abs(accuracy - right / 26) > 1e-12:
        return f"accuracy is {accuracy!r} but {right} of 26 results are correct"
    if accuracy < minimum_accuracy:
        return f"only {right}/26 letters are right; at least {minimum_accuracy:.0%} is expected"
    return None


def _check_evaluate():
    return _judge(LetterClassifier(), minimum_accuracy=0.0)  # untrained: only the shape matters


def _check_training():
    classifier = LetterClassifier()
    print("  (training 500 epochs...)", flush=True)
    start = time.perf_counter()
    losses = classifier.train(epochs=500, verbose=False)
    seconds = time.perf_counter() - start
    if not isinstance(losses, list) or len(losses) != 500:
        return "train(epochs=500) should return 500 epoch losses"
    problem = _judge(classifier, minimum_accuracy=0.95)
    return problem or f"ok, loss {losses[0]:.3f} -> {losses[-1]:.3f} in {seconds:.1f} s"


_CHECKS = [
    ("LetterClassifier.__init__", _check_init),
    ("LetterClassifier._make_dataset", _check_make_dataset),
    ("LetterClassifier.predict", _check_predict),
    ("LetterClassifier.predict_probs", _check_predict_probs),
    ("LetterClassifier.evaluate", _check_evaluate),
    ("LetterClassifier.train", _check_training),
]

if __name__ == "__main__":
    for _name, _check in _CHECKS:
        _report(_name, _check)
