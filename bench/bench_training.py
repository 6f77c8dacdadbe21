"""How long does the letter classifier take to train? A straightforward version against reference/.

The tutorial says its 500-epoch classifier trains in 5-10 s. This benchmark times exactly that run
(LetterClassifier defaults: [26, 64, 26], learning rate 0.05, seed 42, 500 epochs) twice over,
side by side in one process:

  straightforward   the chapter 5/6 hot path written the way it is usually first written: index
                    loops (for i in range(len(...)): for j in range(len(...))), gradients built
                    element by element, the input gradient through an explicit transpose()
                    followed by dot products, SGD as vector_subtract(w, vector_scale(g, lr)) per row;
  reference         reference/05_backpropagation.py and reference/06_training_loop.py as they are.

Both compute the same arithmetic in the same order, so they must end with the same weights and
26/26 letters right; the script checks both and exits with status 1 otherwise. Runs alternate
between the two versions so that a slow patch of the machine hurts both alike; the medians and
their ratio are printed.

    python3 bench/bench_training.py [--runs 3] [--epochs 500]
"""

import argparse
import gc
import importlib
import math
import os
import platform
import random
import statistics
import sys
import time

REFERENCE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "reference")
sys.path.insert(0, REFERENCE)
_math = importlib.import_module("01_math_foundations")
_neuron = importlib.import_module("02_single_neuron")
_loss = importlib.import_module("04_loss_function")
LetterClassifier = importlib.import_module("07_final_project").LetterClassifier

vector_subtract, vector_scale = _math.vector_subtract, _math.vector_scale
dot_product, transpose = _math.dot_product, _math.transpose
sigmoid, sigmoid_derivative = _neuron.sigmoid, _neuron.sigmoid_derivative
relu, relu_derivative = _neuron.relu, _neuron.relu_derivative
softmax, cross_entropy_loss = _loss.softmax, _loss.cross_entropy_loss


# --- the straightforward formulation ------------------------------------------------------------

class StraightforwardLayer:
    def __init__(self, input_size, output_size, activation="relu", seed=None):
        # Same seeded Xavier initialisation as the reference, so both start from equal weights.
        if seed is not None:
            random.seed(seed)
        limit = math.sqrt(6 / (input_size + output_size))
        self.weights = [[random.uniform(-limit, limit) for _ in range(input_size)]
                        for _ in range(output_size)]
        self.biases = [0.0] * output_size
        self.activation = activation
        self.inputs, self.z_values, self.outputs = [], [], []
        self.weight_gradients = None
        self.bias_gradients = None

    def forward(self, inputs):
        self.inputs = inputs
        self.z_values = []
        for i in range(len(self.weights)):
            self.z_values.append(dot_product(self.weights[i], inputs) + self.biases[i])
        self.outputs = []
        for i in range(len(self.z_values)):
            if self.activation == "sigmoid":
                self.outputs.append(sigmoid(self.z_values[i]))
            elif self.activation == "linear":
                self.outputs.append(self.z_values[i])
            else:
                self.outputs.append(relu(self.z_values[i]))
        return self.outputs

    def backward(self, output_gradients):
        dz = []
        for i in range(len(output_gradients)):
            if self.activation == "sigmoid":
                dz.append(output_gradients[i] * sigmoid_derivative(self.outputs[i]))
            elif self.activation == "linear":
                dz.append(output_gradients[i])
            else:
                dz.append(output_gradients[i] * relu_derivative(self.z_values[i]))
        self.weight_gradients = []
        for i in range(len(dz)):
            row = []
            for j in range(len(self.inputs)):
                row.append(dz[i] * self.inputs[j])
            self.weight_gradients.append(row)
        self.bias_gradients = dz
        weights_t = transpose(self.weights)
        input_gradients = []
        for j in range(len(weights_t)):
            input_gradients.append(dot_product(weights_t[j], dz))
        return input_gradients


class StraightforwardNetwork:
    def __init__(self, layer_sizes, hidden_activation="relu", output_activation="sigmoid", seed=42):
        self.output_activation = output_activation
        self.layers = []
        for i in range(len(layer_sizes) - 1):
            activation = output_activation if i == len(layer_sizes) - 2 else hidden_activation
            self.layers.append(StraightforwardLayer(layer_sizes[i], layer_sizes[i + 1], activation, seed=seed + i))

    def forward(self, inputs):
        for i in range(len(self.layers)):
            inputs = self.layers[i].forward(inputs)
        return inputs

    def backward(self, target):
        probs = softmax(self.layers[-1].outputs)
        grad = []
        for i in range(len(probs)):
            grad.append(probs[i] - target[i])
        for k in range(len(self.layers) - 1, -1, -1):
            grad = self.layers[k].backward(grad)


class StraightforwardTrainer:
    def __init__(self, network, learning_rate=0.01):
        self.network = network
        self.learning_rate = learning_rate
        self.loss_history = []

    def train_step(self, inputs, target):
        output = self.network.forward(inputs)
        loss = cross_entropy_loss(softmax(output), target)
        self.loss_history.append(loss)
        self.network.backward(target)
        for layer in self.network.layers:
            for i in range(len(layer.weights)):
                layer.weights[i] = vector_subtract(layer.weights[i],
                                                   vector_scale(layer.weight_gradients[i], self.learning_rate))
            layer.biases = vector_subtract(layer.biases, vector_scale(layer.bias_gradients, self.learning_rate))
        return loss

    def train_epoch(self, dataset):
        total = 0.0
        for i in range(len(dataset)):
            total += self.train_step(dataset[i][0], dataset[i][1])
        return total / len(dataset)

    def train(self, dataset, epochs, verbose=True):
        losses = []
        for epoch in range(epochs):
            losses.append(self.train_epoch(dataset))
            if verbose and (epoch == 0 or (epoch + 1) % max(1, epochs // 10) == 0):
                print(f"epoch {epoch + 1:4d}/{epochs}  loss {losses[-1]:.4f}")
        return losses


# --- the measurement ------------------------------------------------------------------------------

def make_classifier(version):
    """A default LetterClassifier; for "straightforward" its network and trainer are swapped out,
    so that the dataset, the prediction and the evaluation code are the same for both."""
    classifier = LetterClassifier()
    if version == "straightforward":
        classifier.network = StraightforwardNetwork([26, classifier.hidden_size, 26], seed=42)
        classifier.trainer = StraightforwardTrainer(classifier.network, learning_rate=classifier.learning_rate)
    return classifier


def timed_training(version, epochs):
    classifier = make_classifier(version)
    gc.collect()
    start = time.perf_counter()
    classifier.train(epochs=epochs, verbose=False)
    seconds = time.perf_counter() - start
    accuracy, _ = classifier.evaluate()
    return seconds, accuracy, classifier


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each version (default 3)")
    parser.add_argument("--epochs", type=int, default=500, help="epochs per run (default 500)")
    args = parser.parse_args(argv)
    versions = ("straightforward", "reference")
    print(f"LetterClassifier [26, 64, 26], {args.epochs} epochs, {args.runs} run(s) of each version, alternating")
    print(f"Python {platform.python_version()} ({platform.python_implementation()}) on {platform.machine()}")
    times = {v: [] for v in versions}
    last = {}
    for run in range(args.runs):
        order = versions if run % 2 == 0 else versions[::-1]
        for version in order:
            seconds, accuracy, classifier = timed_training(version, args.epochs)
            times[version].append(seconds)
            last[version] = (accuracy, classifier)
        print(f"  run {run + 1}: " + "   ".join(f"{v} {times[v][-1]:6.2f} s" for v in versions), flush=True)

    before, after = (statistics.median(times[v]) for v in versions)
    print(f"median: straightforward {before:.2f} s, reference {after:.2f} s, "
          f"ratio {before / after:.2f}x (straightforward / reference)")
    right = {v: round(last[v][0] * 26) for v in versions}
    print(f"final accuracy: straightforward {right['straightforward']}/26, reference {right['reference']}/26")
    gap = max(abs(a - b)
              for layer_a, layer_b in zip(last["straightforward"][1].network.layers,
                                          last["reference"][1].network.layers)
              for row_a, row_b in zip(layer_a.weights + [layer_a.biases], layer_b.weights + [layer_b.biases])
              for a, b in zip(row_a, row_b))
    print(f"largest difference between the two trained networks' parameters: {gap:.3g}")
    return 0 if all(r == 26 for r in right.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
