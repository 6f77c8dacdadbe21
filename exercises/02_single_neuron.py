"""Chapter 2 — a single neuron: a weighted sum, then a non-linear squash.

A neuron owns a weight vector w and a bias b. Given an input vector x it computes

    z = dot(w, x) + b          the pre-activation
    a = f(z)                   the activation, the neuron's output

The non-linear f is what makes depth worth anything: without it, a stack of layers is one
matrix product in disguise and can only draw straight lines. Two choices of f:

    sigmoid(z) = 1 / (1 + e^-z)    output in (0, 1); slope a * (1 - a), never above 0.25, so
                                   gradients shrink through every sigmoid layer ("vanishing")
    relu(z)    = max(0, z)         slope 1 for z > 0 and 0 otherwise; cheap and it does not
                                   shrink gradients, hence its use in hidden layers

Things to get right:
  * math.exp overflows (OverflowError) once its argument passes about 709, so sigmoid clamps
    z into [-500, 500] first: the curve is already flat to 200 decimal places there;
  * sigmoid_derivative receives the sigmoid's OUTPUT a (already computed in the forward
    pass) and returns a * (1 - a); do not apply sigmoid to it again;
  * relu_derivative receives the PRE-activation z; at exactly z == 0 it returns 0;
  * Neuron.forward must remember inputs, z and a on the object: chapter 5 reads them back.

The Neuron constructor is written for you. It sets self.inputs = [] inside the body rather than
using a list as a default argument: a default like `def f(v=[])` is created once and then
shared by every call, a classic Python trap to avoid in any helper you add.

Check your work with:  python3 02_single_neuron.py
"""

import importlib
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
dot_product = importlib.import_module("01_math_foundations").dot_product


def sigmoid(z):
    """Return 1 / (1 + e^(-z)), after clamping z into [-500, 500] so math.exp cannot overflow.

    sigmoid(0) == 0.5; the result always lies between 0 and 1.
    """
    raise NotImplementedError("sigmoid: clamp z to [-500, 500], then return 1 / (1 + math.exp(-z))")


def sigmoid_derivative(a):
    """Return the sigmoid's slope a * (1 - a), where a is the sigmoid's OUTPUT, not z."""
    raise NotImplementedError("sigmoid_derivative: a is already sigmoid(z); return a * (1 - a)")


def relu(z):
    """Return z when it is positive, 0 otherwise."""
    raise NotImplementedError("relu: return max(0, z)")


def relu_derivative(z):
    """Return relu's slope at the pre-activation z: 1 if z > 0, else 0 (also 0 when z == 0)."""
    raise NotImplementedError("relu_derivative: 1 if z > 0 else 0")


class Neuron:
    """One neuron: a weight per input, a bias, and an activation ("sigmoid" or "relu")."""

    def __init__(self, weights, bias, activation="relu"):
        # Given. These three fields are filled in by forward(); backpropagation reads them.
        self.weights = weights
        self.bias = bias
        self.activation = activation
        self.inputs = []
        self.z = 0
        self.a = 0

    def forward(self, inputs):
        """Compute the neuron's output for one input vector, remembering the steps.

        Store inputs in self.inputs, z = dot_product(weights, inputs) + bias in self.z, and
        a = sigmoid(z) if self.activation == "sigmoid", otherwise relu(z), in self.a.
        Return a.
        """
        raise NotImplementedError("Neuron.forward: store inputs, z = w . x + b and a = f(z); return a")


# ---------------------------------------------------------------------------------------------
# Self-check: run `python3 02_single_neuron.py`. Nothing below needs editing.

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


def _check_sigmoid():
    try:
        extremes = (sigmoid(-1000), sigmoid(1000))
    except OverflowError:
        return "sigmoid(-1000) overflowed: clamp z into [-500, 500] before math.exp"
    return (_expect("sigmoid(0)", sigmoid(0), 0.5)
            or _expect("sigmoid(2)", sigmoid(2), 0.8807970779778823)
            or _expect("sigmoid(-1000), sigmoid(1000)", list(extremes), [0.0, 1.0]))


def _check_sigmoid_derivative():
    return (_expect("sigmoid_derivative(0.5)", sigmoid_derivative(0.5), 0.25)
            or _expect("sigmoid_derivative(0.2) (0.2 is the sigmoid's output a)",
                       sigmoid_derivative(0.2), 0.16))


def _check_relu():
    return _expect("relu(-3), relu(0), relu(2.5)", [relu(-3), relu(0), relu(2.5)], [0.0, 0.0, 2.5])


def _check_relu_derivative():
    return _expect("relu_derivative(-2), relu_derivative(0), relu_derivative(3)",
                   [relu_derivative(-2), relu_derivative(0), relu_derivative(3)], [0.0, 0.0, 1.0])


def _check_neuron_forward():
    neuron = Neuron([0.5, -0.3, 0.8], 0.1, activation="sigmoid")
    out = neuron.forward([1.0, 2.0, 3.0])
    quiet = Neuron([1.0, 1.0], -3.0)  # relu; z = -1.5
    return (_expect("sigmoid neuron output", out, 0.9168273035060777)
            or _expect("neuron.z", neuron.z, 2.4)
            or _expect("neuron.a", neuron.a, 0.9168273035060777)
            or _expect("neuron.inputs", neuron.inputs, [1.0, 2.0, 3.0])
            or _expect("relu neuron output", quiet.forward([1.0, 0.5]), 0.0)
            or _expect("relu neuron z", quiet.z, -1.5))


_CHECKS = [
    ("sigmoid", _check_sigmoid),
    ("sigmoid_derivative", _check_sigmoid_derivative),
    ("relu", _check_relu),
    ("relu_derivative", _check_relu_derivative),
    ("Neuron.forward", _check_neuron_forward),
]

if __name__ == "__main__":
    for _name, _check in _CHECKS:
        _report(_name, _check)
