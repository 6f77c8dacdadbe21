"""Chapter 5 — backpropagation: the chain rule, applied layer by layer from the loss backwards.

Given dL/da for a layer's outputs, one layer's backward pass is four lines of calculus:

    dz[i]    = dL/da[i] * activation'(...)      through the activation
    dW[i][j] = dz[i] * x[j]                     through the weighted sum
    db[i]    = dz[i]
    dx[j]    = sum_i dz[i] * W[i][j]            W transposed: the gradient for the layer below

At the top, softmax followed by cross-entropy has the famously simple gradient
softmax(output) - target, which starts the chain.
"""

import importlib
import math
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
dot_product = importlib.import_module("01_math_foundations").dot_product
_neuron = importlib.import_module("02_single_neuron")
sigmoid, sigmoid_derivative = _neuron.sigmoid, _neuron.sigmoid_derivative
relu, relu_derivative = _neuron.relu, _neuron.relu_derivative
_loss = importlib.import_module("04_loss_function")
softmax, cross_entropy_loss = _loss.softmax, _loss.cross_entropy_loss


class BackpropLayer:
    """A Layer (chapter 3) that can also run backwards; activation is relu, sigmoid or linear."""

    def __init__(self, input_size, output_size, activation="relu", seed=None):
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
        self.weight_gradients = None
        self.bias_gradients = None

    def forward(self, inputs):
        """z = W @ x + b, a = activation(z); keep all three for backward()."""
        self.inputs = inputs
        self.z_values = [dot_product(row, inputs) + b for row, b in zip(self.weights, self.biases)]
        if self.activation == "sigmoid":
            self.outputs = [sigmoid(z) for z in self.z_values]
        elif self.activation == "linear":
            self.outputs = list(self.z_values)
        else:
            self.outputs = [relu(z) for z in self.z_values]
        return self.outputs

    def backward(self, output_gradients):
        """Take dL/da, store dL/dW and dL/db, return dL/dx for the layer below."""
        # 1. Through the activation. The sigmoid's slope is written in terms of its output,
        #    relu's in terms of its input z.
        if self.activation == "sigmoid":
            dz = [g * sigmoid_derivative(a) for g, a in zip(output_gradients, self.outputs)]
        elif self.activation == "linear":
            dz = list(output_gradients)
        else:
            dz = [g * relu_derivative(z) for g, z in zip(output_gradients, self.z_values)]
        # 2-3. Through the weighted sum: each weight's gradient is its neuron's dz times its input.
        self.weight_gradients = [[d * x for x in self.inputs] for d in dz]
        self.bias_gradients = dz
        # 4. Each input fed every neuron, so its gradient sums over them: column j of W, dotted
        #    with dz. Iterating over the columns is iterating over the transpose of W.
        return [sum(dz[i] * self.weights[j][i] for i in range(len(dz))) for j in range(len(self.inputs))]


class BackpropNetwork:
    """A stack of BackpropLayers trained with softmax + cross-entropy at the output."""

    def __init__(self, layer_sizes, hidden_activation="relu", output_activation="sigmoid", seed=42):
        self.output_activation = output_activation
        self.layers = []
        last = len(layer_sizes) - 2
        for i in range(len(layer_sizes) - 1):
            activation = output_activation if i == last else hidden_activation
            self.layers.append(
                BackpropLayer(layer_sizes[i], layer_sizes[i + 1], activation, seed=seed + i)
            )

    def forward(self, inputs):
        for layer in self.layers:
            inputs = layer.forward(inputs)
        return inputs

    def backward(self, target):
        """Fill every layer's gradients for cross_entropy_loss(softmax(output), target)."""
        probs = softmax(self.layers[-1].outputs)
        grad = [p - t for p, t in zip(probs, target)]
        for layer in reversed(self.layers):
            grad = layer.backward(grad)


def _loss_at(network, inputs, target):
    return cross_entropy_loss(softmax(network.forward(inputs)), target)


def gradient_check(network, inputs, target, eps=1e-5):
    """Largest relative gap between backward()'s weight gradients and central differences."""
    network.forward(inputs)
    network.backward(target)
    worst = 0.0
    for layer in network.layers:
        for i, row in enumerate(layer.weights):
            for j, w in enumerate(row):
                row[j] = w + eps
                up = _loss_at(network, inputs, target)
                row[j] = w - eps
                down = _loss_at(network, inputs, target)
                row[j] = w
                numeric = (up - down) / (2 * eps)
                analytic = layer.weight_gradients[i][j]
                gap = abs(numeric - analytic) / max(1e-8, abs(numeric) + abs(analytic))
                worst = max(worst, gap)
    return worst


if __name__ == "__main__":
    network = BackpropNetwork([4, 5, 3], seed=7)
    x, target = [0.5, -1.0, 2.0, 0.1], [0, 1, 0]
    print("loss before:", round(_loss_at(network, x, target), 6))
    print("worst relative gradient error:", f"{gradient_check(network, x, target):.2e}")
    for layer in network.layers:
        print(f"  {layer.activation:8s} dW shape {len(layer.weight_gradients)}x{len(layer.weight_gradients[0])}")
