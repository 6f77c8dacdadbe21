"""Hidden tests of chapter 3: Layer.forward and Network.forward with injected weights and biases,
compared with the reference built in the judge from the same numbers."""

import pytest

from grader.checks import attempt, each, expect, expect_own
from grader.hidden.gates import gate_tests
from grader.hidden.support import assign, judge_random_untouched, settings_of

test_imports, test_standard_library_only = gate_tests(3)


def vector(rng, n, low=-1.5, high=1.5):
    return [round(rng.uniform(low, high), 4) for _ in range(n)]


def parameters(rng, n_in, n_out):
    """A weight matrix (n_out rows of n_in) and biases that are all non-zero."""
    weights = [vector(rng, n_in) for _ in range(n_out)]
    biases = [round(rng.choice((-1, 1)) * rng.uniform(0.05, 0.8), 4) for _ in range(n_out)]
    return weights, biases


def reference_layer(reference, weights, biases, activation):
    with judge_random_untouched():
        layer = reference.Layer(len(weights[0]), len(weights), activation)
    layer.weights, layer.biases = weights, biases
    return layer


def student_layer(student, weights, biases, activation):
    layer = student.Layer(len(weights[0]), len(weights), activation, seed=1)
    assign((layer, "weights", weights), (layer, "biases", biases))
    return layer


def expect_replaced(name, actual, expected, *, first_length, call, exact=False):
    """`actual` should be the second call's list; say so plainly when it grew instead."""
    if type(actual) is list and len(actual) == first_length + len(expected) and first_length:
        raise AssertionError(f"{name} was not replaced: after the second forward it holds {len(actual)} "
                             f"values, {first_length} from the first call and {len(expected)} from the "
                             f"second; assign a fresh list on every call instead of appending")
    if exact:
        expect(actual, expected, exact=True, call=call)
    else:
        expect(actual, expected, rel=1e-9, abs_tol=1e-12, call=call)


# --- Layer.forward ------------------------------------------------------------------------------

LAYER_SHAPES = [("relu", 3, 2), ("sigmoid", 3, 2), ("relu", 5, 4), ("sigmoid", 4, 5), ("relu", 1, 3),
                ("sigmoid", 6, 1)]


@pytest.mark.criterion("ch3-layer-forward")
@pytest.mark.parametrize("activation, n_in, n_out", LAYER_SHAPES)
def test_layer_forward(activation, n_in, n_out, student, reference, rng):
    weights, biases = parameters(rng, n_in, n_out)
    inputs = vector(rng, n_in, -2, 2)
    layer = student_layer(student, weights, biases, activation)
    out = layer.forward(inputs)
    expected = reference_layer(reference, weights, biases, activation).forward(list(inputs))
    expect(out, expected, rel=1e-9, abs_tol=1e-12,
           call=f"Layer({n_in}, {n_out}, {activation!r}) with weights {weights} and biases {biases}, "
                f"forward({inputs})")


# --- the stored values --------------------------------------------------------------------------

@pytest.mark.criterion("ch3-layer-cache")
def test_layer_stores_inputs_z_and_outputs(student, reference, rng):
    weights, biases = parameters(rng, 4, 3)
    inputs = vector(rng, 4, -2, 2)
    layer = student_layer(student, weights, biases, "sigmoid")
    out = layer.forward(inputs)
    expected = reference_layer(reference, weights, biases, "sigmoid")
    expected.forward(list(inputs))
    after = f"after forward({inputs}) on a sigmoid Layer(4, 3)"
    each(("layer.inputs", lambda: expect(layer.inputs, inputs, exact=True,
                                         call=f"layer.inputs {after} (the inputs, unchanged)")),
         ("layer.z_values", lambda: expect(layer.z_values, expected.z_values, rel=1e-9, abs_tol=1e-12,
                                           call=f"layer.z_values {after} (z before the activation)")),
         ("layer.outputs", lambda: expect(layer.outputs, expected.outputs, rel=1e-9, abs_tol=1e-12,
                                          call=f"layer.outputs {after} (the activations)")))
    expect(out, expected.outputs, rel=1e-9, abs_tol=1e-12, call=f"the value returned by forward {after}")


@pytest.mark.criterion("ch3-layer-cache")
@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
def test_layer_replaces_what_it_stores(activation, student, reference, rng):
    weights, biases = parameters(rng, 3, 4)
    first, second = vector(rng, 3, -2, 2), vector(rng, 3, -2, 2)
    layer = student_layer(student, weights, biases, activation)
    layer.forward(first)
    out = layer.forward(second)
    expected = reference_layer(reference, weights, biases, activation)
    expected.forward(list(second))
    after = f"after forward({first}) then forward({second}) on a {activation} Layer(3, 4)"
    each(("layer.inputs", lambda: expect_replaced("layer.inputs", layer.inputs, second, first_length=3,
                                                  exact=True, call=f"layer.inputs {after} (the second call's inputs)")),
         ("layer.z_values", lambda: expect_replaced("layer.z_values", layer.z_values, expected.z_values,
                                                    first_length=4, call=f"layer.z_values {after} (the second call's z)")),
         ("layer.outputs", lambda: expect_replaced("layer.outputs", layer.outputs, expected.outputs, first_length=4,
                                                   call=f"layer.outputs {after} (the second call's outputs)")))
    expect_replaced("the value returned by forward", out, expected.outputs, first_length=4,
                    call=f"the value returned by the second forward {after}")


# --- Network.forward ----------------------------------------------------------------------------

NETWORKS = [([4, 6, 3, 2], "relu", "sigmoid"), ([3, 5, 1], "sigmoid", "relu"), ([2, 3], "relu", "sigmoid")]
ON_YOUR_LAYERS = ("Network.forward chains your layers correctly; your Layer.forward itself is wrong: "
                  "see its criteria above.")


def own_chain(student, chosen, activations, inputs):
    """What Network.forward gives when it feeds each of the student's own layers (fresh ones, with
    the same weights) the previous one's output: the network graded apart from Layer.forward."""
    def chain():
        feed = inputs
        for (weights, biases), activation in zip(chosen, activations):
            feed = student_layer(student, weights, biases, activation).forward(feed)
        return feed
    return chain


@pytest.mark.criterion("ch3-network")
@pytest.mark.parametrize("sizes, hidden, output", NETWORKS)
def test_network_forward(sizes, hidden, output, student, reference, rng, record):
    shapes = list(zip(sizes, sizes[1:]))
    chosen = [parameters(rng, n_in, n_out) for n_in, n_out in shapes]
    inputs = vector(rng, sizes[0], -2, 2)
    network = student.Network(sizes, hidden_activation=hidden, output_activation=output, seed=3)
    layers = network.layers
    assign(*settings_of(layers, chosen))
    out = attempt(lambda: network.forward(inputs))

    with judge_random_untouched():
        expected = reference.Network(sizes, hidden_activation=hidden, output_activation=output, seed=3)
    for layer, (weights, biases) in zip(expected.layers, chosen):
        layer.weights, layer.biases = weights, biases
    expected_out = expected.forward(list(inputs))

    built = f"Network({sizes}, hidden_activation={hidden!r}, output_activation={output!r}) with given weights"
    activations = [hidden] * (len(shapes) - 1) + [output]
    expect_own(out, expected_out, own_chain(student, chosen, activations, inputs), note=ON_YOUR_LAYERS,
               record=record, rel=1e-9, abs_tol=1e-12, call=f"{built}, forward({inputs})")
    expect(len(layers), len(shapes), exact=True, call=f"len(network.layers) of {built}")
