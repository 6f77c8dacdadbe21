"""Chapter 5 — backpropagation: the chain rule, run backwards one layer at a time.

To improve a weight we need dL/dw: how much the loss L moves when that weight moves a little.
The network is a chain of simple functions (weighted sum, activation, weighted sum, ...,
softmax, cross-entropy), and the chain rule says the slope of a chain is the product of the
slopes of its links. Backpropagation evaluates that product from the loss end, so each layer
only needs the gradient handed down from the layer above plus what it stored in forward().

One layer's backward pass, given g[i] = dL/da[i] for each of its outputs:

    dz[i]    = g[i] * f'(...)        sigmoid: sigmoid_derivative(outputs[i])   (uses a)
                                     relu:    relu_derivative(z_values[i])     (uses z)
                                     linear:  dz[i] = g[i]
    dW[i][j] = dz[i] * inputs[j]     same shape as weights
    db[i]    = dz[i]
    dx[j]    = sum_i dz[i] * W[i][j] every input fed every neuron, so its gradient gathers
                                     one term per neuron: column j of W, i.e. W transposed

dx is the g of the layer below. The chain starts at the top: for
L = cross_entropy_loss(softmax(a_out), target) the gradient with respect to the last layer's
outputs is simply softmax(a_out) - target.

To trust your gradients, compare them with a numerical estimate: nudge one weight by +eps and
-eps, re-run the forward pass and the loss, and compute (L+ - L-) / (2 eps). The two should agree
to about 1e-6 or better.

Things to get right:
  * sigmoid_derivative takes the stored outputs (a), relu_derivative the stored z_values;
  * the input gradient sums down a COLUMN of W (the transpose). Summing a row instead gives the
    wrong length (output_size instead of input_size) and wrong values;
  * backward reads the caches of the most recent forward() and must not change any weight;
  * replace weight_gradients and bias_gradients on every call instead of adding to the old ones:
    with one example per step, gradients from an earlier example must not leak into this one.

Check your work with:  python3 05_backpropagation.py
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
    """A chapter-3 Layer that can also run backwards; activation is "relu", "sigmoid" or "linear"."""

    def __init__(self, input_size, output_size, activation="relu", seed=None):
        # Given: the same seeded Xavier initialisation as Layer, plus slots for the gradients.
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
        """As Layer.forward in chapter 3, with a third activation.

        Store inputs, z_values[i] = dot_product(weights[i], inputs) + biases[i], and outputs:
        sigmoid(z) for "sigmoid", z itself for "linear", relu(z) otherwise. Return outputs.
        """
        raise NotImplementedError("BackpropLayer.forward: like Layer.forward, and for 'linear' "
                                  "the outputs are the z_values themselves")

    def backward(self, output_gradients):
        """Take dL/da (one number per neuron) and return dL/dx (one number per input).

        1. dz[i] = output_gradients[i] * sigmoid_derivative(outputs[i]) for "sigmoid",
           * relu_derivative(z_values[i]) for "relu", and unchanged for "linear";
        2. self.weight_gradients[i][j] = dz[i] * inputs[j];
        3. self.bias_gradients[i] = dz[i];
        4. return dx with dx[j] = sum over i of dz[i] * weights[i][j].
        """
        raise NotImplementedError("BackpropLayer.backward: dz through the activation, store "
                                  "dz[i]*x[j] and dz; return dx[j] = sum_i dz[i]*W[i][j]")


class BackpropNetwork:
    """A stack of BackpropLayers trained with softmax + cross-entropy at the output."""

    def __init__(self, layer_sizes, hidden_activation="relu", output_activation="sigmoid", seed=42):
        # Given: built like chapter 3's Network, layer i seeded with seed + i.
        self.output_activation = output_activation
        self.layers = []
        last = len(layer_sizes) - 2
        for i in range(len(layer_sizes) - 1):
            activation = output_activation if i == last else hidden_activation
            self.layers.append(
                BackpropLayer(layer_sizes[i], layer_sizes[i + 1], activation, seed=seed + i)
            )

    def forward(self, inputs):
        """Given: feed inputs through every layer and return the last layer's outputs."""
        for layer in self.layers:
            inputs = layer.forward(inputs)
        return inputs

    def backward(self, target):
        """Fill every layer's gradients for cross_entropy_loss(softmax(output), target).

        Call it after forward(). Start from grad[i] = softmax(last layer's outputs)[i] - target[i],
        then for each layer from the last to the first: grad = layer.backward(grad).
        Nothing needs to be returned.
        """
        raise NotImplementedError("BackpropNetwork.backward: grad = softmax(last outputs) - target, "
                                  "then grad = layer.backward(grad) from the last layer down")


def gradient_check(network, inputs, target, eps=1e-5):
    """Compare backward()'s weight gradients with numerical ones; return the worst relative gap.

    Run forward(inputs) and backward(target) once. Then for every weight w of every layer: set it
    to w + eps and compute the loss cross_entropy_loss(softmax(network.forward(inputs)), target),
    do the same at w - eps, put w back, and take numeric = (up - down) / (2 * eps). The relative
    gap is |numeric - analytic| / max(1e-8, |numeric| + |analytic|); return the largest one.
    A correct backward() gives something around 1e-8 or smaller.
    """
    raise NotImplementedError("gradient_check: central differences (L(w+eps) - L(w-eps)) / (2 eps) "
                              "against weight_gradients; return the largest relative gap")


# ---------------------------------------------------------------------------------------------
# Self-check: run `python3 05_backpropagation.py`. Nothing below needs editing.

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


def _numeric_slope(loss, values, j, eps=1e-6):
    """Central-difference estimate of d loss() / d values[j]; values[j] is restored afterwards."""
    saved = values[j]
    values[j] = saved + eps
    up = loss()
    values[j] = saved - eps
    down = loss()
    values[j] = saved
    return (up - down) / (2 * eps)


def _compare_slopes(what, analytic, loss, values):
    """Compare a list of analytic gradients for values with numerical ones; None if they agree."""
    if not isinstance(analytic, list) or len(analytic) != len(values):
        return f"{what} should be a list of {len(values)} numbers, got {analytic!r}"
    for j in range(len(values)):
        numeric = _numeric_slope(loss, values, j)
        if abs(analytic[j] - numeric) > 1e-6 + 1e-4 * abs(numeric):
            return f"{what}[{j}] is {analytic[j]:.6g}, but a numerical check says {numeric:.6g}"
    return None


def _check_layer_forward():
    for activation, expected in (("sigmoid", [0.52497918747894, 0.9828759666842724]),
                                 ("relu", [0.1, 4.05]), ("linear", [0.1, 4.05])):
        layer = BackpropLayer(2, 2, activation)
        layer.weights = [[0.5, -1.0], [2.0, 0.25]]
        layer.biases = [0.1, -0.2]
        problem = (_expect(f"{activation} layer outputs", layer.forward([2.0, 1.0]), expected)
                   or _expect(f"{activation} layer z_values", layer.z_values, [0.1, 4.05]))
        if problem:
            return problem
        negative = layer.forward([-1.0, 1.0])  # z = [-1.4, -1.95]; the stored values are replaced
        problem = _expect(f"{activation} layer outputs for [-1.0, 1.0]", negative,
                          {"sigmoid": [0.19781611144141825, 0.12455335818741645],
                           "relu": [0.0, 0.0], "linear": [-1.4, -1.95]}[activation])
        if problem:
            return problem
    return None


def _check_layer_backward():
    x, upstream = [0.5, -1.5, 2.0, 1.0], [0.3, -1.2, 0.7]
    for activation in ("sigmoid", "relu", "linear"):
        layer = BackpropLayer(4, 3, activation, seed=3)
        layer.biases = [0.1, -0.2, 0.3]

        def loss():  # a stand-in for "the rest of the network": L = sum(upstream[i] * a[i])
            return sum(g * a for g, a in zip(upstream, layer.forward(x)))

        loss()
        dx = layer.backward(upstream)
        weight_gradients, bias_gradients = layer.weight_gradients, layer.bias_gradients
        if not isinstance(weight_gradients, list) or len(weight_gradients) != 3:
            return f"{activation}: weight_gradients should have 3 rows, got {weight_gradients!r}"
        problem = (_compare_slopes(f"{activation} dx", dx, loss, x)
                   or _compare_slopes(f"{activation} bias_gradients", bias_gradients, loss, layer.biases))
        for i in range(3):
            problem = problem or _compare_slopes(f"{activation} weight_gradients[{i}]",
                                                 weight_gradients[i], loss, layer.weights[i])
        if problem:
            return problem
    return None


def _check_network_backward():
    network = BackpropNetwork([3, 4, 2], seed=5)
    network.layers[0].biases = [0.1, -0.1, 0.2, 0.0]
    network.layers[1].biases = [0.05, -0.05]
    x, target = [0.4, -0.7, 1.1], [0, 1]

    def loss():
        return cross_entropy_loss(softmax(network.forward(x)), target)

    loss()
    network.backward(target)
    for n, layer in enumerate(network.layers):
        problem = _compare_slopes(f"layers[{n}].bias_gradients", layer.bias_gradients, loss, layer.biases)
        for i, row in enumerate(layer.weights):
            grads = layer.weight_gradients[i] if isinstance(layer.weight_gradients, list) else None
            problem = problem or _compare_slopes(f"layers[{n}].weight_gradients[{i}]", grads, loss, row)
        if problem:
            return problem
    return None


def _check_gradient_check():
    network = BackpropNetwork([3, 4, 2], seed=5)
    before = [[list(row) for row in layer.weights] for layer in network.layers]
    worst = gradient_check(network, [0.4, -0.7, 1.1], [0, 1])
    if not isinstance(worst, (int, float)) or not 0 <= worst < 1e-5:
        return f"gradient_check returned {worst!r}; expected a small non-negative number (< 1e-5)"
    if [[list(row) for row in layer.weights] for layer in network.layers] != before:
        return "gradient_check changed the weights: put each weight back after nudging it"
    return None


_CHECKS = [
    ("BackpropLayer.forward", _check_layer_forward),
    ("BackpropLayer.backward", _check_layer_backward),
    ("BackpropNetwork.backward", _check_network_backward),
    ("gradient_check", _check_gradient_check),
]

if __name__ == "__main__":
    for _name, _check in _CHECKS:
        _report(_name, _check)
