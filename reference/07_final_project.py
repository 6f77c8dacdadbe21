"""Chapter 7 — the final project: a network that learns to name all 26 letters.

Each letter is a one-hot vector of 26 numbers (a 1 at its position in the alphabet). The network
[26 -> 64 relu -> 26 sigmoid] is trained, with softmax + cross-entropy, to map every letter to
itself. It is the whole course in one object: vectors, neurons, layers, loss, backpropagation
and the training loop.
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
        self.hidden_size = hidden_size
        self.learning_rate = learning_rate
        self.network = BackpropNetwork(
            [26, hidden_size, 26], hidden_activation="relu", output_activation="sigmoid", seed=seed
        )
        self.trainer = Trainer(self.network, learning_rate=learning_rate)

    def _one_hot(self, index):
        vector = [0.0] * 26
        vector[index] = 1.0
        return vector

    def _make_dataset(self):
        """26 pairs (one_hot(letter), one_hot(letter))."""
        return [(self._one_hot(i), self._one_hot(i)) for i in range(26)]

    def train(self, epochs=500, verbose=True):
        return self.trainer.train(self._make_dataset(), epochs, verbose=verbose)

    def predict_probs(self, one_hot_input):
        probs = softmax(self.network.forward(one_hot_input))
        return dict(zip(self.LETTERS, probs))

    def predict(self, one_hot_input):
        probs = softmax(self.network.forward(one_hot_input))
        return self.LETTERS[probs.index(max(probs))]

    def evaluate(self):
        """Return (accuracy, one result dict per letter)."""
        results = []
        for i, letter in enumerate(self.LETTERS):
            probs = softmax(self.network.forward(self._one_hot(i)))
            best = probs.index(max(probs))
            results.append({
                "letter": letter,
                "predicted": self.LETTERS[best],
                "correct": best == i,
                "confidence": probs[best],
            })
        accuracy = sum(r["correct"] for r in results) / len(results)
        return accuracy, results


if __name__ == "__main__":
    classifier = LetterClassifier()
    parameters = sum(len(l.weights) * len(l.weights[0]) + len(l.biases) for l in classifier.network.layers)
    print(f"LetterClassifier: [26, {classifier.hidden_size}, 26], {parameters:,} parameters")
    start = time.perf_counter()
    classifier.train(epochs=500)
    elapsed = time.perf_counter() - start
    accuracy, results = classifier.evaluate()
    print("\nletter  predicted  confidence")
    for r in results:
        mark = "ok" if r["correct"] else "WRONG"
        print(f"  {r['letter']}        {r['predicted']}       {r['confidence']:.4f}   {mark}")
    right = sum(r["correct"] for r in results)
    print(f"\naccuracy: {right}/26 = {accuracy:.1%}   (trained in {elapsed:.1f} s)")
