"""Chapter 3 — the forward pass: many neurons side by side make a layer, layers in a row make a network.

A layer holds a weight matrix W (one row per neuron) and a bias vector b:

    z = W @ x + b
    a = activation(z)      applied to each entry

Weights start random (identical weights would make every neuron learn the same thing) with the
Xavier scale limit = sqrt(6 / (fan_in + fan_out)), which keeps signals from growing or shrinking
layer after layer.
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
        if seed is not None:
            random.seed(seed)
        limit = math.sqrt(6 / (input_size + output_size))
        # Row i is neuron i's weight vector, drawn row by row.
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
        """z = W @ x + b, a = activation(z); store inputs, z and a, return a."""
        self.inputs = inputs
        self.z_values = [dot_product(row, inputs) + b for row, b in zip(self.weights, self.biases)]
        activate = sigmoid if self.activation == "sigmoid" else relu
        self.outputs = [activate(z) for z in self.z_values]
        return self.outputs


class Network:
    """Layers chained so that each one's output is the next one's input."""

    def __init__(self, layer_sizes, hidden_activation="relu", output_activation="sigmoid", seed=42):
        self.layers = []
        last = len(layer_sizes) - 2
        for i in range(len(layer_sizes) - 1):
            activation = output_activation if i == last else hidden_activation
            self.layers.append(Layer(layer_sizes[i], layer_sizes[i + 1], activation, seed=seed + i))

    def forward(self, inputs):
        """Feed the input through every layer in turn and return the last layer's output."""
        for layer in self.layers:
            inputs = layer.forward(inputs)
        return inputs


if __name__ == "__main__":
    network = Network([4, 8, 3])
    for i, layer in enumerate(network.layers):
        print(f"layer {i}: {len(layer.weights[0])} -> {len(layer.weights)} ({layer.activation})")
    print("output:", [round(v, 4) for v in network.forward([1.0, 0.5, -0.5, 2.0])])
