"""Hidden tests of chapter 5: BackpropLayer.forward and backward, BackpropNetwork.backward and
gradient_check.

The gradient checks are the heart of this chapter. For a stack of two of the student's layers,
the judge computes the loss L = cross_entropy_loss(softmax(output), target) itself, with the
reference's forward pass, and differentiates it numerically (central differences). Each of the
student's layers is then run backward from the *reference's* upstream gradient, so a mistake
in one kind of gradient (say, the input gradient) cannot spill into the checks of another.
"""

import math
import random

import pytest

from grader.checks import attempt, check, each, expect, passes_as_own
from grader.hidden.support import assign, chain_for, judge_random_untouched, settings_of
from grader.hidden.gates import gate_tests
from grader.remote import StudentFault

test_imports, test_standard_library_only = gate_tests(5)

EPS = 1e-6
TOLERANCE = 1e-4
# (first activation, second activation, layer sizes, seed): every activation in both positions.
CASES = {
    "relu→sigmoid": ("relu", "sigmoid", [3, 4, 2], 11),
    "sigmoid→linear": ("sigmoid", "linear", [4, 3, 3], 12),
    "linear→relu": ("linear", "relu", [2, 5, 3], 13),
}


def random_matrix(rng, rows, cols):
    return [[rng.uniform(-1, 1) for _ in range(cols)] for _ in range(rows)]


def random_vector(rng, n, low=-1.0, high=1.0):
    return [rng.uniform(low, high) for _ in range(n)]


def one_hot(n, i):
    return [1.0 if j == i else 0.0 for j in range(n)]


def reference_layer(reference, weights, biases, activation):
    layer = reference.BackpropLayer(len(weights[0]), len(weights), activation)
    layer.weights = [row[:] for row in weights]
    layer.biases = biases[:]
    return layer


def student_layer(student, weights, biases, activation):
    layer = student.BackpropLayer(len(weights[0]), len(weights), activation)
    assign((layer, "weights", weights), (layer, "biases", biases))
    return layer


def relative_error(analytic, numeric):
    if not (isinstance(analytic, (int, float)) and math.isfinite(analytic)):
        return math.inf
    return abs(analytic - numeric) / max(abs(analytic) + abs(numeric), 1e-7)


class Stack:
    """Two layers' parameters and one example, with the judge's own loss and numeric gradients."""

    def __init__(self, reference, rng, first, second, sizes):
        self.reference = reference
        self.activations = (first, second)
        while True:  # keep relu's kink and tiny z away from the numeric differences
            self.params = [
                (random_matrix(rng, sizes[1], sizes[0]), random_vector(rng, sizes[1], -0.5, 0.5)),
                (random_matrix(rng, sizes[2], sizes[1]), random_vector(rng, sizes[2], -0.5, 0.5)),
            ]
            self.x = random_vector(rng, sizes[0], -2, 2)
            self.target = one_hot(sizes[2], rng.randrange(sizes[2]))
            layers = self.layers()
            hidden = layers[0].forward(self.x)
            layers[1].forward(hidden)
            if all(abs(z) > 1e-3 for layer in layers for z in layer.z_values):
                break
        self.hidden = hidden

    def layers(self):
        return [reference_layer(self.reference, w, b, a) for (w, b), a in zip(self.params, self.activations)]

    def loss(self, x=None, hidden=None):
        layers = self.layers()
        h = hidden if hidden is not None else layers[0].forward(x if x is not None else self.x)
        out = layers[1].forward(h)
        return self.reference.cross_entropy_loss(self.reference.softmax(out), self.target)

    def numeric(self, layer, kind):
        """Central differences of the loss for one layer's weights, biases or inputs."""
        def slope(vector, i, evaluate):
            saved = vector[i]
            vector[i] = saved + EPS
            up = evaluate()
            vector[i] = saved - EPS
            down = evaluate()
            vector[i] = saved
            return (up - down) / (2 * EPS)

        weights, biases = self.params[layer]
        if kind == "weights":
            return [[slope(row, j, self.loss) for j in range(len(row))] for row in weights]
        if kind == "biases":
            return [slope(biases, i, self.loss) for i in range(len(biases))]
        if layer == 0:
            x = self.x[:]
            return [slope(x, j, lambda: self.loss(x=x)) for j in range(len(x))]
        h = self.hidden[:]
        return [slope(h, j, lambda: self.loss(hidden=h)) for j in range(len(h))]

    def upstream(self):
        """dL/da for each layer, from the reference's own backward pass."""
        layers = self.layers()
        out = layers[1].forward(layers[0].forward(self.x))
        probs = self.reference.softmax(out)
        top = [p - t for p, t in zip(probs, self.target)]
        return [layers[1].backward(top), top]


_analytic_cache: dict = {}


def student_gradients(student, reference, rng, name):
    """The student's gradients for one case: {(layer, kind): values}, computed once per case."""
    key = (id(student), name)
    if key not in _analytic_cache:
        try:
            _analytic_cache[key] = _run_case(student, reference, rng, name)
        except BaseException as error:  # a failure counts against every criterion of this case
            _analytic_cache[key] = error
    result = _analytic_cache[key]
    if isinstance(result, BaseException):
        raise result
    return result


def _run_case(student, reference, rng, name):
    first, second, sizes, _seed = CASES[name]
    stack = Stack(reference, rng, first, second, sizes)
    upstream = stack.upstream()
    gradients = {}
    twins = stack.layers()
    for index, ((weights, biases), activation) in enumerate(zip(stack.params, stack.activations)):
        layer = student_layer(student, weights, biases, activation)
        x = stack.x if index == 0 else stack.hidden
        layer.forward(x)
        right_forward(layer, twins[index], x)
        gradients[(index, "inputs")] = layer.backward(upstream[index])
        gradients[(index, "weights")] = layer.weight_gradients
        gradients[(index, "biases")] = layer.bias_gradients
    return stack, gradients


def right_forward(layer, twin, x):
    """Give the student's layer the values a right forward pass stores (course API: inputs,
    z_values, outputs), so that backward is graded on its own: a forward mistake costs the
    forward criterion, not every gradient check again."""
    outputs = twin.forward(list(x))
    assign((layer, "inputs", list(x)), (layer, "z_values", list(twin.z_values)), (layer, "outputs", list(outputs)))


def flatten(values, kind):
    if kind == "weights":
        return [(f"weights[{i}][{j}]", v) for i, row in enumerate(values) for j, v in enumerate(row)]
    return [(f"{kind}[{i}]", v) for i, v in enumerate(values)]


def gradient_check(student, reference, course_seed, record, name, kind):
    # One random stack per case, shared by the three criteria that check it.
    case_rng = random.Random(f"{course_seed}:case:{name}:{CASES[name][3]}")
    stack, gradients = student_gradients(student, reference, case_rng, name)
    failures = []
    for layer in (0, 1):
        numeric = stack.numeric(layer, kind)
        analytic = gradients[(layer, kind)]
        activation = stack.activations[layer]
        label = f"{kind} of layer {layer + 1} ({activation}, case {name})"
        expect(_shape(analytic), _shape(numeric), exact=True,
               call=f"BackpropLayer.backward, {label}: the shape of the gradient")
        pairs = list(zip(flatten(analytic, kind), flatten(numeric, kind)))
        worst_where, worst_a, worst_n = max(
            ((where, a, n) for (where, a), (_, n) in pairs), key=lambda p: relative_error(p[1], p[2]))
        worst = relative_error(worst_a, worst_n)
        record("gradcheck", {"case": name, "layer": layer, "kind": kind, "worst_error": worst,
                             "tolerance": TOLERANCE, "where": worst_where, "analytic": worst_a,
                             "numeric": worst_n, "passed": worst <= TOLERANCE})
        if worst > TOLERANCE:
            yours = f"{worst_a:.6g}" if type(worst_a) in (int, float) else repr(worst_a)[:40]
            failures.append(f"{label}: relative error {worst:.2g} at {worst_where} "
                            f"(yours {yours}, numerical {worst_n:.6g}); tolerance {TOLERANCE:g}")
    check(not failures, "; ".join(failures))


def _shape(values):
    if type(values) is not list:
        return type(values).__name__
    return [len(row) if type(row) is list else "number" for row in values] if values and type(values[0]) is list \
        else len(values)


@pytest.mark.criterion("ch5-forward")
@pytest.mark.parametrize("activation", ["relu", "sigmoid", "linear"])
def test_layer_forward(activation, student, reference, rng):
    weights, biases = random_matrix(rng, 4, 3), random_vector(rng, 4)
    x = random_vector(rng, 3, -2, 2)
    layer = student_layer(student, weights, biases, activation)
    expected = reference_layer(reference, weights, biases, activation)
    outputs = layer.forward(x)
    expect(outputs, expected.forward(x), rel=1e-9, abs_tol=1e-12)
    each(("layer.z_values", lambda: expect(layer.z_values, expected.z_values, rel=1e-9, abs_tol=1e-12,
                                           call="BackpropLayer.z_values after forward")),
         ("layer.inputs", lambda: expect(layer.inputs, x, call="BackpropLayer.inputs after forward")))


@pytest.mark.criterion("ch5-shapes")
@pytest.mark.parametrize("sizes", [(3, 4), (5, 2)])
def test_gradient_shapes(sizes, student, reference, rng):
    n_in, n_out = sizes
    weights, biases, x = random_matrix(rng, n_out, n_in), random_vector(rng, n_out), random_vector(rng, n_in)
    layer = student_layer(student, weights, biases, "sigmoid")
    layer.forward(x)
    right_forward(layer, reference_layer(reference, weights, biases, "sigmoid"), x)
    dx = layer.backward(random_vector(rng, n_out))
    check(type(dx) is list and len(dx) == n_in,
          f"backward on a {n_in}→{n_out} layer must return {n_in} input gradients, got {_describe(dx)}")
    dw = layer.weight_gradients
    check(type(dw) is list and len(dw) == n_out and all(type(r) is list and len(r) == n_in for r in dw),
          f"weight_gradients of a {n_in}→{n_out} layer must be {n_out} rows of {n_in} values, got {_describe(dw)}")
    db = layer.bias_gradients
    check(type(db) is list and len(db) == n_out,
          f"bias_gradients of a {n_in}→{n_out} layer must have {n_out} values, got {_describe(db)}")


@pytest.mark.criterion("ch5-shapes")
def test_backward_replaces_its_gradients(student, reference, rng):
    """Two examples through one layer, as training goes: after the second backward the layer holds
    what a fresh layer of the student's holds after that example alone (replaced, not added to the
    first's). Compared with the student's own layer, so wrong values cost the gradient checks only."""
    weights, biases = random_matrix(rng, 3, 4), random_vector(rng, 3)
    examples = [(random_vector(rng, 4, -2, 2), random_vector(rng, 3)) for _ in range(2)]

    def backward_on(chosen):
        layer = student_layer(student, weights, biases, "sigmoid")
        for x, upstream in chosen:
            layer.forward(x)
            right_forward(layer, reference_layer(reference, weights, biases, "sigmoid"), x)
            layer.backward(upstream)
        return layer
    both, alone = backward_on(examples), backward_on(examples[1:])
    after = "forward and backward on one example, then on a second, on a sigmoid BackpropLayer(4, 3)"
    expect(both.weight_gradients, alone.weight_gradients, rel=1e-12, abs_tol=0,
           call=f"weight_gradients after {after} (the second example's only, as a fresh layer gives)")
    expect(both.bias_gradients, alone.bias_gradients, rel=1e-12, abs_tol=0,
           call=f"bias_gradients after {after} (the second example's only, as a fresh layer gives)")


def _describe(value):
    if type(value) is list:
        inner = f" of {len(value[0])}" if value and type(value[0]) is list else ""
        return f"a list of {len(value)}{inner}"
    return repr(value) if value is None else f"a {type(value).__name__}"


@pytest.mark.criterion("ch5-grad-weights")
@pytest.mark.parametrize("case", list(CASES))
def test_weight_gradients(case, student, reference, course_seed, record):
    gradient_check(student, reference, course_seed, record, case, "weights")


@pytest.mark.criterion("ch5-grad-biases")
@pytest.mark.parametrize("case", list(CASES))
def test_bias_gradients(case, student, reference, course_seed, record):
    gradient_check(student, reference, course_seed, record, case, "biases")


@pytest.mark.criterion("ch5-grad-inputs")
@pytest.mark.parametrize("case", list(CASES))
def test_input_gradients(case, student, reference, course_seed, record):
    gradient_check(student, reference, course_seed, record, case, "inputs")


ON_YOUR_LAYERS = ("BackpropNetwork.backward runs your layers' backward correctly, from the output layer to the "
                  "first; BackpropLayer itself is wrong: see its criteria above.")


def network_twins(student, reference, rng, sizes, hidden, output, seed):
    """The student's network and the reference's with the same weights and (random) biases; and
    a maker of fresh copies of the student's, for chaining its layers by hand."""
    with judge_random_untouched():
        expected = reference.BackpropNetwork(sizes, hidden_activation=hidden, output_activation=output, seed=seed)
    for ref_layer in expected.layers:
        ref_layer.biases = random_vector(rng, len(ref_layer.biases), -0.5, 0.5)
    chosen = [([row[:] for row in layer.weights], layer.biases[:]) for layer in expected.layers]

    def build():
        network = student.BackpropNetwork(sizes, hidden_activation=hidden, output_activation=output, seed=seed)
        assign(*settings_of(network.layers, chosen))
        return network
    return build, expected


def gradients_of(layers):
    return [[layer.weights, layer.weight_gradients, layer.bias_gradients] for layer in layers]


def own_backward(reference, build, examples):
    """What BackpropNetwork.backward leaves when it does its own job on the student's own layers:
    softmax(output) - target, passed back through each layer's backward, last layer first."""
    def chain():
        network = build()
        layers = network.layers
        for x, target in examples:
            network.forward(x)
            grad = [p - t for p, t in zip(reference.softmax(layers[-1].outputs), target)]
            for layer in reversed(layers):
                grad = layer.backward(grad)
        return gradients_of(layers)
    return chain


def trained_by_hand(network, examples):
    for x, target in examples:
        network.forward(x)
        network.backward(target)
    return network


def expect_network_gradients(student, reference, build, expected, examples, record, after):
    network = build()
    gradients = attempt(lambda: gradients_of(trained_by_hand(network, examples).layers))
    trained_by_hand(expected, examples)
    if passes_as_own(gradients, gradients_of(expected.layers), own_backward(reference, build, examples),
                     note=ON_YOUR_LAYERS, record=record, rel=1e-7, abs_tol=1e-10):
        return
    if isinstance(gradients, StudentFault):
        raise gradients
    layers = network.layers
    check(len(layers) == len(expected.layers), "the network has the wrong number of layers")
    for number, (layer, ref_layer) in enumerate(zip(layers, expected.layers), start=1):
        expect(layer.weights, ref_layer.weights, rel=1e-12, abs_tol=0,
               call=f"BackpropNetwork weights after {after} (layer {number}): backward must leave them as they were")
        expect(layer.weight_gradients, ref_layer.weight_gradients, rel=1e-7, abs_tol=1e-10,
               call=f"BackpropNetwork.backward: weight_gradients of layer {number} after {after}")
        expect(layer.bias_gradients, ref_layer.bias_gradients, rel=1e-7, abs_tol=1e-10,
               call=f"BackpropNetwork.backward: bias_gradients of layer {number} after {after}")


@pytest.mark.criterion("ch5-network-backward")
@pytest.mark.parametrize("sizes, hidden, output", [([4, 5, 3], "relu", "sigmoid"),
                                                   ([3, 4, 4, 2], "sigmoid", "linear")])
def test_network_backward(sizes, hidden, output, student, reference, rng, record):
    build, expected = network_twins(student, reference, rng, sizes, hidden, output, seed=5)
    x = random_vector(rng, sizes[0], -2, 2)
    target = one_hot(sizes[-1], rng.randrange(sizes[-1]))
    expect_network_gradients(student, reference, build, expected, [(x, target)], record, "forward and backward")


@pytest.mark.criterion("ch5-network-backward")
def test_network_backward_replaces_the_gradients(student, reference, rng, record):
    """Two examples in a row, as training goes: after the second backward every layer holds that
    example's gradients only (replaced, not added to the first's), and no weight has moved
    (updating is the training step's job, chapter 6)."""
    sizes = [3, 4, 2]
    build, expected = network_twins(student, reference, rng, sizes, "relu", "sigmoid", seed=8)
    examples = [(random_vector(rng, sizes[0], -2, 2), one_hot(sizes[-1], i)) for i in (0, 1)]
    expect_network_gradients(student, reference, build, expected, examples, record,
                             "forward and backward on one example, then on a second (the second example's only)")


# --- gradient_check -----------------------------------------------------------------------------
#
# What gradient_check must report depends only on the network it is given: the worst relative gap
# between the gradients that network's own backward() leaves and central differences of the loss
# through that network's own forward(). The judge measures the same thing with the same requests,
# so a mistake in the student's forward or backward changes what is expected, not whether
# gradient_check passes: this criterion grades the check alone.

GRADCHECK_EPS = 1e-5        # gradient_check's default eps, as the starter documents it
GOOD_BELOW = 1e-5           # a correct backward: the starter's own self-check asks for less than this
GAP_FLOOR = 1e-8            # the denominator's floor in the starter's formula


def network_loss(reference, network, x, target):
    return reference.cross_entropy_loss(reference.softmax(network.forward(list(x))), target)


def judged_gap(reference, network, x, target):
    """(worst gap, where) for `network` as gradient_check left it: its layers' weight_gradients
    against central differences, visiting the layers as gradient_check does (in order, a layer
    that appears twice twice). Each layer's nudges (set a weight, run forward) go to the worker
    as one chain of requests: the same requests, in the same order, as one at a time."""
    worst, where = 0.0, ""
    for number, layer in enumerate(network.layers):
        weights, analytic = layer.weights, layer.weight_gradients
        cells = [(i, j, w) for i, row in enumerate(weights) for j, w in enumerate(row)]
        # The judge stops at the first gradient that is not a number, once that weight's nudges ran.
        stop = next((k for k, (i, j, _) in enumerate(cells) if type(analytic[i][j]) not in (int, float)), None)
        forward, steps = network.forward, chain_for(layer)
        for i, j, w in cells[:None if stop is None else stop + 1]:
            for nudged in (w + GRADCHECK_EPS, w - GRADCHECK_EPS):
                changed = [list(r) for r in weights]
                changed[i][j] = nudged
                steps.set(layer, "weights", changed)
                steps.call(forward, list(x), data=True)
        if stop is None:
            steps.set(layer, "weights", weights)
        answers = steps.run()
        for i, j, w in cells:
            slopes = []
            for _ in range(2):
                next(answers)  # the weight set
                out = next(answers)
                slopes.append(reference.cross_entropy_loss(reference.softmax(out), target))
            numeric = (slopes[0] - slopes[1]) / (2 * GRADCHECK_EPS)
            a = analytic[i][j]
            if type(a) not in (int, float):
                check(False, f"network.layers[{number}].weight_gradients[{i}][{j}] is not a number")
            gap = abs(numeric - a) / max(GAP_FLOOR, abs(numeric) + abs(a))
            if gap > worst:
                worst, where = gap, f"layers[{number}].weights[{i}][{j}] (analytic {a:.6g}, numeric {numeric:.6g})"
        next(answers)  # the weights put back
    return worst, where


def good_network(student, params):
    """A [3, 4, 2] relu -> sigmoid network with known weights and non-zero biases: its backward is
    right whenever BackpropLayer.backward and BackpropNetwork.backward are. Hidden unit 0 is dead
    (its bias keeps z below zero), so its weights' gradients are exactly zero both ways: the gap's
    denominator floor, max(1e-8, ...), is what keeps 0 / 0 away."""
    network = student.BackpropNetwork([3, 4, 2], hidden_activation="relu", output_activation="sigmoid", seed=5)
    assign(*settings_of(network.layers, params))
    return network


def good_case(rng):
    """(parameters, input) for good_network, its live relu units well away from the kink."""
    x = random_vector(rng, 3, -2, 2)
    while True:
        hidden = random_matrix(rng, 4, 3)
        biases = [-10.0] + random_vector(rng, 3, -0.5, 0.5)
        if all(abs(sum(w * v for w, v in zip(row, x)) + b) > 1e-3 for row, b in zip(hidden[1:], biases[1:])):
            return [(hidden, biases), (random_matrix(rng, 2, 4), random_vector(rng, 2, -0.5, 0.5))], x


# One 3 -> 3 sigmoid layer used twice in a row (network.layers = [layer, layer]), with numbers chosen
# so that the worst gap lies well inside (0, 1): 1 is what any sign error saturates at.
TIED = ([[0.1, -0.74, 0.42], [-0.4, 0.88, -0.61], [0.52, -0.67, 0.93]], [0.37, -0.39, 0.15])
TIED_INPUT = [-1.13, 0.05, 1.4]


def broken_network(student, params):
    """The loss depends on the tied layer's weights through both uses, but each backward() call
    overwrites the gradients of the other and reads the inputs cached by the last forward, so
    backward() is wrong here however correct each part is: a gradient check must report a large
    gap (about 0.68 with these numbers)."""
    network = student.BackpropNetwork([3, 3], hidden_activation="sigmoid", output_activation="sigmoid", seed=6)
    (layer,) = network.layers
    ((weights, biases),) = params
    assign((layer, "weights", weights), (layer, "biases", biases))
    network.layers = [layer, layer]
    return network


def broken_case(_rng):
    return [TIED], TIED_INPUT


# kind -> (how to build the network, how to choose its parameters and input)
NETWORKS = {"a correct network": (good_network, good_case),
            "a network whose backward is wrong": (broken_network, broken_case)}


@pytest.mark.criterion("ch5-gradient-check")
@pytest.mark.parametrize("kind", list(NETWORKS))
def test_gradient_check(kind, student, reference, rng):
    build, choose = NETWORKS[kind]
    params, x = choose(rng)
    target = one_hot(len(params[-1][1]), 1)
    network = build(student, params)
    before = [layer.weights for layer in network.layers]
    call = f"gradient_check({kind}, {x}, {target})"
    try:
        reported = student.gradient_check(network, x, target)
    except StudentFault as fault:
        if backward_fault(build(student, params), x, target, fault.location) is None:
            raise
        return  # the network's own forward or backward is at fault, which their criteria grade
    check(type(reported) in (int, float) and not isinstance(reported, bool) and math.isfinite(reported)
          and reported >= 0, f"{call} returned {reported!r}; it must return the worst relative gap, a "
                             f"non-negative number")
    if [layer.weights for layer in network.layers] != before:
        check(backward_fault(build(student, params), x, target, None) is not None,
              f"{call} changed the network's weights: put every weight back after nudging it")
    if not all(same_shape(layer.weight_gradients, layer.weights) for layer in network.layers):
        check(backward_fault(build(student, params), x, target, None) is not None,
              f"after {call}, some weight_gradients are not one gradient per weight: gradient_check must run "
              f"backward() once before comparing")
        return  # the network's backward leaves gradients of the wrong shapes: nothing to compare with
    expected, where = judged_gap(reference, network, x, target)
    if expected < GOOD_BELOW:
        check(reported < GOOD_BELOW, f"{call} returned {reported:.3g}, but this network's backward() agrees "
                                     f"with central differences (worst gap {expected:.2g}); a correct "
                                     f"check reports less than {GOOD_BELOW:g}")
    else:
        expect(reported, expected, rel=1e-6, abs_tol=0,
               call=f"{call}: the worst relative gap |numeric - analytic| / max({GAP_FLOOR:g}, |numeric| + "
                    f"|analytic|), here at {where}")


def backward_fault(network, x, target, location):
    """What is wrong with a fresh copy of the network's own forward() and backward(), if anything a
    gradient check cannot be blamed for: they raise (at `location`, when one is given), leave
    weight gradients of the wrong shapes, or change the weights. None when they work."""
    before = [layer.weights for layer in network.layers]
    try:
        network.forward(x)
        network.backward(target)
    except StudentFault as own:
        return "raises" if location is None or own.location == location else None
    layers = network.layers
    if not all(same_shape(layer.weight_gradients, weights) for layer, weights in zip(layers, before)):
        return "leaves gradients of the wrong shapes"
    if [layer.weights for layer in layers] != before:
        return "changes the weights"
    return None


def same_shape(gradients, weights):
    return (type(gradients) is list and len(gradients) == len(weights)
            and all(type(g) is list and len(g) == len(w) for g, w in zip(gradients, weights)))
