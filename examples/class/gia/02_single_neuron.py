"""Chapter 2 — a single neuron: a weighted sum followed by a non-linear activation.

    z = dot(weights, inputs) + bias
    a = activation(z)

The neuron keeps its inputs, z and a after every forward pass because backpropagation
(chapter 5) needs them.
"""

import importlib
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
dot_product = importlib.import_module("01_math_foundations").dot_product


def sigmoid(z):
    """1 / (1 + e^-z): squashes any number into (0, 1)."""
    # exp(-z) overflows a float for z below about -709; the curve is flat long before that.
    z = max(-500.0, min(500.0, z))
    return 1.0 / (1.0 + math.exp(-z))


def sigmoid_derivative(a):
    """The slope of the sigmoid, written in terms of its OUTPUT a = sigmoid(z): a * (1 - a)."""
    return sigmoid(a) * (1 - sigmoid(a))


def relu(z):
    """max(0, z): passes positive values through, silences negative ones."""
    return max(0, z)


def relu_derivative(z):
    """The slope of relu at the PRE-activation z: 1 where z > 0, else 0 (0 at z == 0 by convention)."""
    return 1 if z > 0 else 0


class Neuron:
    """One neuron with its own weights and bias."""

    def __init__(self, weights, bias, activation="relu"):
        self.weights = weights
        self.bias = bias
        self.activation = activation
        # Filled in by forward(); backpropagation reads them later.
        self.inputs = []
        self.z = 0
        self.a = 0

    def forward(self, inputs):
        """Compute, store and return the neuron's output for one input vector."""
        self.inputs = inputs
        self.z = dot_product(self.weights, inputs) + self.bias
        self.a = sigmoid(self.z) if self.activation == "sigmoid" else relu(self.z)
        return self.a


if __name__ == "__main__":
    for z in (-1000, -2, 0, 2, 1000):
        print(f"sigmoid({z}) = {sigmoid(z):.6f}   relu({z}) = {relu(z)}")
    a = sigmoid(0)
    print("sigmoid'(at a = 0.5) =", sigmoid_derivative(a))
    neuron = Neuron([0.5, -0.3, 0.8], bias=0.1, activation="sigmoid")
    out = neuron.forward([1.0, 2.0, 3.0])
    print(f"neuron: z = {neuron.z:.3f}, a = {out:.4f}")
