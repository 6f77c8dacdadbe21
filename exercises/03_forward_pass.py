"""Chapter 3 — the forward pass: neurons side by side form a layer, layers in a row a network.

A layer is a group of neurons that all read the same input vector. Stack their weight vectors
as the rows of a matrix W (output_size rows, input_size columns) and their biases in a vector b:

    z = W @ x + b          z[i] = dot(W[i], x) + b[i]     one dot product per neuron
    a = f(z)               f applied to each z[i] separately

A network feeds each layer's output a in as the next layer's input x; the last layer's a is
the network's answer.

Why the weights start random, and at which scale (the constructors below do this for you):
if every weight started equal, every neuron in a layer would compute the same thing and get
the same update forever, so they must differ. Too large and activations blow up layer after
layer; too small and they fade to nothing. Xavier initialisation draws each weight uniformly
from [-limit, limit] with limit = sqrt(6 / (input_size + output_size)), which keeps the
signal's size roughly steady. Seeding the random generator makes a run repeatable; a Network
seeds layer i with seed + i.

Things to get right in forward():
  * remember self.inputs, self.z_values and self.outputs: chapter 5's backward pass reads them;
  * REPLACE them on every call (assign fresh lists). Appending to the old lists makes them
    grow with each call, and backpropagation would then read values from an earlier input;
  * the activation is sigmoid when self.activation == "sigmoid" and relu otherwise.

Check your work with:  python3 03_forward_pass.py
"""

import importlib
import math
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
dot_product = importlib.import_module("01_math_foundations").dot_product
_neuron = importlib.import_module("02_single_neuron")
sigmoid, relu = _neuron.sigmoid, _neuron.relu


class Layer:
    """A fully connected layer: output_size neurons, each reading all input_size inputs."""

    def __init__(self, input_size, output_size, activation="relu", seed=None):
        # Given: seeded Xavier initialisation. Row i of self.weights is neuron i's weight vector.
        if seed is not None:
            random.seed(seed)
        limit = math.sqrt(6 / (input_size + output_size))
        self.weights = [
            [random.uniform(-limit, limit) for _ in range(input_size)]
            for _ in range(output_size)
        ]
        self.biases = [0.0] * output_size
        self.activation = activation
        self.inputs = []
        self.z_values = []
        self.outputs = []

    def forward(self, inputs):
        """Run the layer on one input vector and remember what happened.

        Store inputs in self.inputs; z_values[i] = dot_product(weights[i], inputs) + biases[i]
        in self.z_values; outputs[i] = sigmoid(z_values[i]) if self.activation == "sigmoid",
        otherwise relu(z_values[i]), in self.outputs. Return the outputs.
        """
        raise NotImplementedError("Layer.forward: z[i] = dot(weights[i], x) + biases[i], then the "
                                  "activation; store inputs, z_values, outputs; return outputs")


class Network:
    """Layers chained so that each one's output is the next one's input."""

    def __init__(self, layer_sizes, hidden_activation="relu", output_activation="sigmoid", seed=42):
        # Given: one Layer per pair of neighbouring sizes; only the last uses output_activation.
        self.layers = []
        last = len(layer_sizes) - 2
        for i in range(len(layer_sizes) - 1):
            activation = output_activation if i == last else hidden_activation
            self.layers.append(Layer(layer_sizes[i], layer_sizes[i + 1], activation, seed=seed + i))

    def forward(self, inputs):
        """Feed inputs through self.layers in order, each layer's output becoming the next
        layer's input, and return the last layer's output."""
        raise NotImplementedError("Network.forward: pass the vector through each layer in turn; "
                                  "return the last output")


# ---------------------------------------------------------------------------------------------
# Self-check: run `python3 03_forward_pass.py`. Nothing below needs editing.

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


def _matches(got, expected, tol):
    if isinstance(expected, list):
        return (isinstance(got, list) and len(got) == len(expected)
                and all(_matches(g, e, tol) for g, e in zip(got, expected)))
    if type(expected) is int:
        return type(got) is int and got == expected
    if type(expected) is float:
        return isinstance(got, (int, float)) and abs(got - expected) <= tol
    return got == expected


def _expect(what, got, expected, tol=1e-9):
    """None when got matches expected, else a sentence saying what differs."""
    return None if _matches(got, expected, tol) else f"{what} gave {got!r}, expected {expected!r}"


def _check_layer_forward():
    layer = Layer(2, 2, activation="sigmoid")
    layer.weights = [[0.5, -1.0], [2.0, 0.25]]
    layer.biases = [0.1, -0.2]
    out = layer.forward([2.0, 1.0])  # z = [0.1, 4.05]
    problem = (_expect("sigmoid layer z_values", layer.z_values, [0.1, 4.05])
               or _expect("sigmoid layer outputs", out, [0.52497918747894, 0.9828759666842724])
               or _expect("layer.outputs", layer.outputs, out)
               or _expect("layer.inputs", layer.inputs, [2.0, 1.0]))
    if problem:
        return problem
    layer.activation = "relu"
    out = layer.forward([-1.0, 1.0])  # a second call must replace the stored values
    return (_expect("relu layer z_values (second call)", layer.z_values, [-1.4, -1.95])
            or _expect("relu layer outputs (second call)", out, [0.0, 0.0])
            or _expect("layer.inputs (second call)", layer.inputs, [-1.0, 1.0]))


def _check_network_forward():
    network = Network([2, 2, 1])
    network.layers[0].weights = [[1.0, -1.0], [0.5, 0.5]]
    network.layers[0].biases = [0.0, 0.1]
    network.layers[1].weights = [[1.0, -0.5]]
    network.layers[1].biases = [0.3]
    out = network.forward([2.0, 1.0])  # hidden relu: [1.0, 1.6]; output: sigmoid(0.5)
    return (_expect("network output", out, [0.6224593312018546])
            or _expect("hidden layer outputs", network.layers[0].outputs, [1.0, 1.6]))


_CHECKS = [
    ("Layer.forward", _check_layer_forward),
    ("Network.forward", _check_network_forward),
]

if __name__ == "__main__":
    for _name, _check in _CHECKS:
        _report(_name, _check)
