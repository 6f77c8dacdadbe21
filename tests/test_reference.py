"""The instructor's solutions in reference/ checked against the course's API contract."""

import contextlib
import copy
import io
import math
import random
import re
import shutil
import subprocess
import sys

import pytest

from course_modules import CHAPTERS, REFERENCE, chapter_path, exercise, reference

m1, m2, m3, m4, m5, m6, m7 = (reference(n) for n in range(1, 8))


def numeric_slope(loss, values, j, eps=1e-6):
    """Central difference of loss() with respect to values[j]; values[j] is restored."""
    saved = values[j]
    values[j] = saved + eps
    up = loss()
    values[j] = saved - eps
    down = loss()
    values[j] = saved
    return (up - down) / (2 * eps)


def assert_matches_numeric(analytic, loss, values, what):
    assert isinstance(analytic, list) and len(analytic) == len(values), what
    for j in range(len(values)):
        numeric = numeric_slope(loss, values, j)
        assert analytic[j] == pytest.approx(numeric, rel=1e-5, abs=1e-8), f"{what}[{j}]"


def flatten(matrix):
    return [value for row in matrix for value in row]


def snapshot(network):
    return [([list(row) for row in layer.weights], list(layer.biases)) for layer in network.layers]


# --- chapter 1 -------------------------------------------------------------------------------

@pytest.mark.parametrize("name, expected", [
    ("vector_add", [5, 7, 9]),
    ("vector_subtract", [-3, -3, -3]),
    ("elementwise_multiply", [4, 10, 18]),
])
def test_elementwise_operations_give_exact_ints_in_new_lists(name, expected):
    a, b = [1, 2, 3], [4, 5, 6]
    result = getattr(m1, name)(a, b)
    assert result == expected
    assert all(type(x) is int for x in result)
    assert result is not a and result is not b
    assert (a, b) == ([1, 2, 3], [4, 5, 6])


def test_vector_subtract_is_a_minus_b():
    assert m1.vector_subtract([5, 7, 9], [4, 5, 6]) == [1, 2, 3]


def test_vector_scale():
    v = [1, -2, 3]
    assert m1.vector_scale(v, 3) == [3, -6, 9]
    assert all(type(x) is int for x in m1.vector_scale(v, 3))
    assert m1.vector_scale([0.5, 2.0], -2.0) == [-1.0, -4.0]
    assert v == [1, -2, 3]


def test_dot_product_is_an_exact_int_for_int_inputs():
    a, b = [1, 2, 3], [4, 5, 6]
    result = m1.dot_product(a, b)
    assert result == 32 and type(result) is int
    assert (a, b) == ([1, 2, 3], [4, 5, 6])
    assert m1.dot_product([0.5, -1.0], [2.0, 0.25]) == pytest.approx(0.75)


def test_transpose():
    m = [[1, 2, 3], [4, 5, 6]]
    result = m1.transpose(m)
    assert result == [[1, 4], [2, 5], [3, 6]]
    assert all(type(row) is list for row in result)
    assert m == [[1, 2, 3], [4, 5, 6]]
    assert m1.transpose([[7]]) == [[7]]
    assert m1.transpose([[1, 2, 3]]) == [[1], [2], [3]]


def test_transpose_of_an_empty_matrix_is_empty():
    assert m1.transpose([]) == []


def test_matrix_vector_multiply():
    m, v = [[1, 2, 3], [4, 5, 6]], [1, 0, 1]
    result = m1.matrix_vector_multiply(m, v)
    assert result == [4, 10] and all(type(x) is int for x in result)
    assert (m, v) == ([[1, 2, 3], [4, 5, 6]], [1, 0, 1])


@pytest.mark.parametrize("a, b, expected", [
    ([[1, 2, 3], [4, 5, 6]], [[1, 0], [0, 1], [2, -1]], [[7, -1], [16, -1]]),          # 2x3 . 3x2
    ([[1, 2, 3]], [[1, 0, 2, 1], [0, 1, 1, 1], [1, 1, 0, 1]], [[4, 5, 4, 6]]),          # 1x3 . 3x4
    ([[1], [2], [3]], [[4, 5]], [[4, 5], [8, 10], [12, 15]]),                            # 3x1 . 1x2
])
def test_matrix_multiply_rectangular(a, b, expected):
    a_before, b_before = copy.deepcopy(a), copy.deepcopy(b)
    result = m1.matrix_multiply(a, b)
    assert result == expected
    assert all(type(x) is int for row in result for x in row)
    assert (a, b) == (a_before, b_before)


# --- chapter 2 -------------------------------------------------------------------------------

def test_sigmoid_values():
    assert m2.sigmoid(0) == 0.5
    assert m2.sigmoid(2) == pytest.approx(1 / (1 + math.exp(-2)), abs=1e-15)
    assert m2.sigmoid(-3) == pytest.approx(1 - m2.sigmoid(3), abs=1e-15)


@pytest.mark.parametrize("z, clamped", [(1000, 500), (-1000, -500), (1e308, 500), (-1e308, -500)])
def test_sigmoid_clamps_z_to_500(z, clamped):
    value = m2.sigmoid(z)  # must not raise OverflowError
    assert 0.0 <= value <= 1.0
    assert value == 1.0 / (1.0 + math.exp(-clamped))


def test_sigmoid_derivative_takes_the_output():
    assert m2.sigmoid_derivative(0.5) == 0.25
    assert m2.sigmoid_derivative(0.2) == pytest.approx(0.16)  # a * (1 - a), not sigmoid'(0.2)
    assert m2.sigmoid_derivative(0.0) == 0 and m2.sigmoid_derivative(1.0) == 0


def test_relu():
    assert m2.relu(-3) == 0 and m2.relu(0) == 0 and m2.relu(2.5) == 2.5


@pytest.mark.parametrize("z, slope", [(0, 0), (0.0, 0), (1e-12, 1), (-1e-12, 0), (5, 1), (-5, 0)])
def test_relu_derivative(z, slope):
    assert m2.relu_derivative(z) == slope


def test_neuron_starts_empty():
    neuron = m2.Neuron([1.0], 0.5)
    assert (neuron.weights, neuron.bias, neuron.activation) == ([1.0], 0.5, "relu")
    assert (neuron.inputs, neuron.z, neuron.a) == ([], 0, 0)


def test_neuron_forward_sigmoid_stores_inputs_z_and_a():
    neuron = m2.Neuron([0.5, -0.3, 0.8], 0.1, activation="sigmoid")
    out = neuron.forward([1.0, 2.0, 3.0])
    assert neuron.z == pytest.approx(2.4)
    assert out == neuron.a == pytest.approx(1 / (1 + math.exp(-2.4)))
    assert neuron.inputs == [1.0, 2.0, 3.0]


def test_neuron_forward_relu_stores_inputs_z_and_a():
    neuron = m2.Neuron([1.0, 1.0], -3.0)
    assert neuron.forward([1.0, 0.5]) == 0 and neuron.z == pytest.approx(-1.5) and neuron.a == 0
    assert neuron.forward([2.0, 2.5]) == pytest.approx(1.5) and neuron.z == pytest.approx(1.5)
    assert neuron.inputs == [2.0, 2.5]


# --- chapter 3 -------------------------------------------------------------------------------

@pytest.mark.parametrize("layer_class", [m3.Layer, m5.BackpropLayer], ids=["Layer", "BackpropLayer"])
@pytest.mark.parametrize("fan_in, fan_out", [(30, 10), (3, 50), (26, 64)])
def test_xavier_uniform_limits(layer_class, fan_in, fan_out):
    layer = layer_class(fan_in, fan_out, seed=1)
    limit = math.sqrt(6 / (fan_in + fan_out))
    assert len(layer.weights) == fan_out and all(len(row) == fan_in for row in layer.weights)
    magnitudes = [abs(w) for row in layer.weights for w in row]
    assert max(magnitudes) <= limit
    assert max(magnitudes) > 0.8 * limit  # the full range is used, not a smaller scale
    assert min(w for row in layer.weights for w in row) < 0 < max(w for row in layer.weights for w in row)


@pytest.mark.parametrize("layer_class", [m3.Layer, m5.BackpropLayer], ids=["Layer", "BackpropLayer"])
def test_seeded_weights_are_drawn_row_by_row(layer_class):
    first, second = layer_class(5, 4, seed=3), layer_class(5, 4, seed=3)
    assert first.weights == second.weights
    assert layer_class(5, 4, seed=4).weights != first.weights
    limit = math.sqrt(6 / 9)
    random.seed(3)
    assert first.weights == [[random.uniform(-limit, limit) for _ in range(5)] for _ in range(4)]


@pytest.mark.parametrize("layer_class", [m3.Layer, m5.BackpropLayer], ids=["Layer", "BackpropLayer"])
def test_unseeded_layer_draws_from_the_current_random_state(layer_class):
    random.seed(99)
    weights = layer_class(3, 2).weights
    random.seed(99)
    limit = math.sqrt(6 / 5)
    assert weights == [[random.uniform(-limit, limit) for _ in range(3)] for _ in range(2)]


def test_layer_starts_with_zero_float_biases_and_empty_caches():
    layer = m3.Layer(4, 3, activation="sigmoid", seed=0)
    assert layer.biases == [0.0, 0.0, 0.0] and all(type(b) is float for b in layer.biases)
    assert layer.activation == "sigmoid" and m3.Layer(4, 3).activation == "relu"
    assert (layer.inputs, layer.z_values, layer.outputs) == ([], [], [])


def test_layer_forward_values_and_caches_replaced_on_each_call():
    layer = m3.Layer(2, 2, activation="sigmoid")
    layer.weights = [[0.5, -1.0], [2.0, 0.25]]
    layer.biases = [0.1, -0.2]
    out = layer.forward([2.0, 1.0])
    assert layer.z_values == pytest.approx([0.1, 4.05])
    assert out == layer.outputs == pytest.approx([1 / (1 + math.exp(-0.1)), 1 / (1 + math.exp(-4.05))])
    layer.activation = "relu"
    out = layer.forward([-1.0, 1.0])
    assert layer.inputs == [-1.0, 1.0]
    assert layer.z_values == pytest.approx([-1.4, -1.95])
    assert out == layer.outputs == [0, 0]
    assert layer.forward([4.0, 0.0]) == pytest.approx([2.1, 7.8])


def test_network_layers_are_seeded_with_seed_plus_index():
    network = m3.Network([4, 6, 3, 2], seed=10)
    assert len(network.layers) == 3
    for i, (layer, (n_in, n_out)) in enumerate(zip(network.layers, [(4, 6), (6, 3), (3, 2)])):
        assert layer.weights == m3.Layer(n_in, n_out, seed=10 + i).weights
    default = m3.Network([4, 6, 3])
    assert default.layers[1].weights == m3.Layer(6, 3, seed=43).weights


def test_network_activations_per_layer():
    assert [l.activation for l in m3.Network([4, 6, 3, 2]).layers] == ["relu", "relu", "sigmoid"]
    custom = m3.Network([4, 6, 3, 2], hidden_activation="sigmoid", output_activation="relu")
    assert [l.activation for l in custom.layers] == ["sigmoid", "sigmoid", "relu"]
    assert [l.activation for l in m3.Network([3, 2]).layers] == ["sigmoid"]


def test_network_forward_chains_the_layers():
    network = m3.Network([3, 5, 4, 2], seed=2)
    x = [0.3, -1.2, 2.0]
    expected = x
    for i, (n_in, n_out) in enumerate([(3, 5), (5, 4), (4, 2)]):
        expected = m3.Layer(n_in, n_out, "sigmoid" if i == 2 else "relu", seed=2 + i).forward(expected)
    assert network.forward(x) == pytest.approx(expected)
    assert network.layers[0].outputs == network.layers[1].inputs


# --- chapter 4 -------------------------------------------------------------------------------

def test_softmax_sums_to_one_and_keeps_order():
    logits = [2.0, 1.0, 0.1, 3.5]
    probs = m4.softmax(logits)
    assert sum(probs) == pytest.approx(1.0)
    assert sorted(range(4), key=probs.__getitem__) == sorted(range(4), key=logits.__getitem__)
    total = sum(math.exp(x) for x in logits)
    assert probs == pytest.approx([math.exp(x) / total for x in logits])
    assert logits == [2.0, 1.0, 0.1, 3.5]
    assert m4.softmax([0.7, 0.7]) == pytest.approx([0.5, 0.5])


def test_softmax_is_stable_for_large_logits():
    assert m4.softmax([1000, 1001, 1002]) == pytest.approx(m4.softmax([0, 1, 2]))
    spread = m4.softmax([-1000, 0, 1000])
    assert spread == pytest.approx([0.0, 0.0, 1.0]) and sum(spread) == pytest.approx(1.0)


def test_cross_entropy_loss():
    assert m4.cross_entropy_loss([0.2, 0.7, 0.1], [0, 1, 0]) == pytest.approx(-math.log(0.7))
    assert m4.cross_entropy_loss([0.5, 0.5], [0.25, 0.75]) == pytest.approx(math.log(2))
    assert m4.cross_entropy_loss([0.0, 1.0], [0, 1]) == 0  # zero probability, zero target


@pytest.mark.parametrize("p", [0.0, 1e-20])
def test_cross_entropy_clamps_probabilities_at_1e_15(p):
    assert m4.cross_entropy_loss([p, 1.0], [1, 0]) == pytest.approx(-math.log(1e-15), rel=1e-12)


def test_mse_loss_is_a_mean():
    assert m4.mse_loss([0.9, 0.2], [1.0, 0.0]) == pytest.approx(0.025)
    assert m4.mse_loss([1, 2, 3], [1, 2, 6]) == pytest.approx(3.0)


# --- chapter 5 -------------------------------------------------------------------------------

def test_backprop_layer_is_initialised_like_layer():
    layer, plain = m5.BackpropLayer(5, 3, "linear", seed=8), m3.Layer(5, 3, "linear", seed=8)
    for attribute in ("weights", "biases", "activation", "inputs", "z_values", "outputs"):
        assert getattr(layer, attribute) == getattr(plain, attribute), attribute
    assert layer.weight_gradients is None and layer.bias_gradients is None


@pytest.mark.parametrize("activation, expected", [
    ("sigmoid", [1 / (1 + math.exp(1.4)), 1 / (1 + math.exp(1.95))]),
    ("relu", [0, 0]),
    ("linear", [-1.4, -1.95]),
])
def test_backprop_layer_forward(activation, expected):
    layer = m5.BackpropLayer(2, 2, activation)
    layer.weights, layer.biases = [[0.5, -1.0], [2.0, 0.25]], [0.1, -0.2]
    assert layer.forward([-1.0, 1.0]) == pytest.approx(expected)
    assert layer.z_values == pytest.approx([-1.4, -1.95]) and layer.inputs == [-1.0, 1.0]


@pytest.mark.parametrize("activation", ["sigmoid", "relu", "linear"])
def test_backprop_layer_backward_matches_numerical_gradients(activation):
    x, upstream = [0.5, -1.5, 2.0, 1.0], [0.3, -1.2, 0.7]
    layer = m5.BackpropLayer(4, 3, activation, seed=3)
    layer.biases = [0.1, -0.2, 0.3]

    def loss():  # a fixed upstream gradient g stands for the rest of the network
        return sum(g * a for g, a in zip(upstream, layer.forward(x)))

    loss()
    weights_before = copy.deepcopy(layer.weights)
    dx = layer.backward(upstream)
    assert layer.weights == weights_before  # backward computes, it does not update
    if activation == "relu":  # the relu mask is exercised on both sides, away from the kink
        assert any(z < -0.01 for z in layer.z_values) and any(z > 0.01 for z in layer.z_values)
    assert len(layer.weight_gradients) == 3 and all(len(r) == 4 for r in layer.weight_gradients)
    assert_matches_numeric(dx, loss, x, "dx")
    assert_matches_numeric(layer.bias_gradients, loss, layer.biases, "bias_gradients")
    for i in range(3):
        assert_matches_numeric(layer.weight_gradients[i], loss, layer.weights[i], f"weight_gradients[{i}]")


def test_backprop_layer_backward_replaces_old_gradients():
    layer = m5.BackpropLayer(2, 2, "linear", seed=1)
    layer.forward([1.0, 2.0])
    layer.backward([1.0, 1.0])
    layer.forward([3.0, -1.0])
    layer.backward([0.5, -2.0])
    assert layer.weight_gradients == [[1.5, -0.5], [-6.0, 2.0]]
    assert layer.bias_gradients == [0.5, -2.0]


@pytest.mark.parametrize("sizes, hidden, output, seed", [
    ([4, 5, 3], "relu", "sigmoid", 7),
    ([3, 4, 4, 2], "sigmoid", "linear", 11),
    ([3, 6, 3], "relu", "relu", 2),
])
def test_network_backward_matches_numerical_gradients(sizes, hidden, output, seed):
    network = m5.BackpropNetwork(sizes, hidden_activation=hidden, output_activation=output, seed=seed)
    for n, layer in enumerate(network.layers):
        layer.biases = [0.05 * (i + 1) * (-1) ** (i + n) for i in range(len(layer.biases))]
    x = [0.5, -1.0, 2.0, 0.1][: sizes[0]]
    target = [0.0] * sizes[-1]
    target[1] = 1.0

    def loss():
        return m4.cross_entropy_loss(m4.softmax(network.forward(x)), target)

    loss()
    network.backward(target)
    for n, layer in enumerate(network.layers):
        assert_matches_numeric(layer.bias_gradients, loss, layer.biases, f"layers[{n}].bias_gradients")
        for i, row in enumerate(layer.weights):
            assert_matches_numeric(layer.weight_gradients[i], loss, row, f"layers[{n}].weight_gradients[{i}]")


def test_backprop_network_construction():
    network = m5.BackpropNetwork([4, 6, 3], seed=5)
    assert network.output_activation == "sigmoid"
    assert [l.activation for l in network.layers] == ["relu", "sigmoid"]
    assert network.layers[1].weights == m5.BackpropLayer(6, 3, seed=6).weights
    assert m5.BackpropNetwork([2, 3], output_activation="linear").output_activation == "linear"


def test_gradient_check_is_small_and_leaves_the_weights_alone():
    network = m5.BackpropNetwork([4, 5, 3], seed=7)
    before = snapshot(network)
    assert 0 <= m5.gradient_check(network, [0.5, -1.0, 2.0, 0.1], [0, 1, 0]) < 1e-6
    assert snapshot(network) == before


# --- chapter 6 -------------------------------------------------------------------------------

FOUR_POINTS = [([1.0, 0.0], [1, 0]), ([0.0, 1.0], [0, 1]), ([0.9, 0.2], [1, 0]), ([0.1, 0.8], [0, 1])]


def test_trainer_attributes():
    network = m5.BackpropNetwork([2, 3, 2])
    trainer = m6.Trainer(network)
    assert trainer.network is network and trainer.learning_rate == 0.01 and trainer.loss_history == []
    assert m6.Trainer(network).loss_history is not trainer.loss_history


def test_train_step_applies_sgd_and_returns_the_loss_before_the_update():
    network = m5.BackpropNetwork([3, 4, 2], seed=5)
    network.layers[0].biases = [0.1, -0.1, 0.2, 0.0]
    x, target, lr = [0.4, -0.7, 1.1], [0, 1], 0.1
    # The expected update, worked out on an untouched copy: gradients at the current weights.
    twin = copy.deepcopy(network)
    loss_before = m4.cross_entropy_loss(m4.softmax(twin.forward(x)), target)
    twin.backward(target)
    expected = [([[w - lr * g for w, g in zip(row, grads)] for row, grads in zip(l.weights, l.weight_gradients)],
                 [b - lr * g for b, g in zip(l.biases, l.bias_gradients)]) for l in twin.layers]
    assert snapshot(network) != expected

    trainer = m6.Trainer(network, learning_rate=lr)
    weight_lists = [(l.weights, l.weights[0], l.biases) for l in network.layers]
    loss = trainer.train_step(x, target)

    assert loss == pytest.approx(loss_before, abs=1e-12)
    assert trainer.loss_history == [loss]
    for (weights, biases), (want_w, want_b) in zip(snapshot(network), expected):
        assert flatten(weights) == pytest.approx(flatten(want_w), abs=1e-12)
        assert biases == pytest.approx(want_b, abs=1e-12)
    loss_after = m4.cross_entropy_loss(m4.softmax(network.forward(x)), target)
    assert loss_after < loss_before - 1e-6  # a step downhill, and the returned value is the old loss
    assert all(l.weights is w and l.weights[0] is r and l.biases is b
               for l, (w, r, b) in zip(network.layers, weight_lists))  # updated in place


def test_train_epoch_steps_in_order_and_returns_the_mean():
    network = m5.BackpropNetwork([2, 6, 2], seed=3)
    replay = m6.Trainer(copy.deepcopy(network), learning_rate=0.1)
    step_losses = [replay.train_step(x, t) for x, t in FOUR_POINTS]
    trainer = m6.Trainer(network, learning_rate=0.1)
    mean = trainer.train_epoch(FOUR_POINTS)
    assert trainer.loss_history == pytest.approx(step_losses, abs=1e-12)
    assert mean == pytest.approx(sum(step_losses) / 4, abs=1e-12)


def test_training_lowers_the_loss_and_verbose_false_prints_nothing(capsys):
    trainer = m6.Trainer(m5.BackpropNetwork([2, 6, 2], seed=3), learning_rate=0.1)
    losses = trainer.train(FOUR_POINTS, epochs=100, verbose=False)
    assert capsys.readouterr().out == ""
    assert len(losses) == 100 and all(isinstance(v, float) for v in losses)
    assert losses[-1] < 0.6 * losses[0]
    assert len(trainer.loss_history) == 400


def test_verbose_training_reports_the_first_epoch_and_every_tenth(capsys):
    m6.Trainer(m5.BackpropNetwork([2, 6, 2], seed=3), learning_rate=0.1).train(FOUR_POINTS, epochs=20)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 11  # epoch 1, then epochs 2, 4, ..., 20


# --- chapter 7 -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def trained():
    """One LetterClassifier trained for 500 epochs with the defaults (about 8 s), shared."""
    classifier = m7.LetterClassifier()
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        losses = classifier.train(epochs=500, verbose=False)
    return classifier, losses, printed.getvalue()


def one_hot(i):
    return [1.0 if j == i else 0.0 for j in range(26)]


def test_classifier_construction():
    classifier = m7.LetterClassifier()
    assert m7.LetterClassifier.LETTERS == "abcdefghijklmnopqrstuvwxyz"
    assert (classifier.hidden_size, classifier.learning_rate) == (64, 0.05)
    layers = classifier.network.layers
    assert sum(len(l.weights) * len(l.weights[0]) + len(l.biases) for l in layers) == 3418
    assert [l.activation for l in layers] == ["relu", "sigmoid"]
    reference_network = m5.BackpropNetwork([26, 64, 26], seed=42)
    assert [l.weights for l in layers] == [l.weights for l in reference_network.layers]
    assert classifier.trainer.network is classifier.network and classifier.trainer.learning_rate == 0.05
    small = m7.LetterClassifier(hidden_size=8, learning_rate=0.2, seed=1)
    assert len(small.network.layers[0].weights) == 8 and small.trainer.learning_rate == 0.2
    assert small.network.layers[0].weights == m5.BackpropLayer(26, 8, seed=1).weights


def test_dataset_is_26_one_hot_pairs():
    dataset = m7.LetterClassifier()._make_dataset()
    assert len(dataset) == 26
    for i, (x, target) in enumerate(dataset):
        assert x == target == one_hot(i)
        assert all(type(v) is float for v in x + target)


def test_training_reaches_95_percent(trained):
    classifier, losses, printed = trained
    assert printed == ""
    assert len(losses) == 500 and losses[-1] < losses[0]
    accuracy, _ = classifier.evaluate()
    assert accuracy >= 0.95


@pytest.mark.parametrize("which", ["trained", "untrained"])
def test_evaluate_structure(which, trained):
    # The untrained classifier gets letters wrong, which a perfectly trained one never shows.
    classifier = trained[0] if which == "trained" else m7.LetterClassifier()
    accuracy, results = classifier.evaluate()
    assert [r["letter"] for r in results] == list(m7.LetterClassifier.LETTERS)
    for i, r in enumerate(results):
        assert set(r) == {"letter", "predicted", "correct", "confidence"}
        assert r["predicted"] == classifier.predict(one_hot(i))
        assert r["correct"] is (r["predicted"] == r["letter"])
        assert r["confidence"] == pytest.approx(max(classifier.predict_probs(one_hot(i)).values()))
        assert 0 < r["confidence"] <= 1
    assert accuracy == pytest.approx(sum(r["correct"] for r in results) / 26)


def test_predict_and_predict_probs(trained):
    classifier = trained[0]
    probs = classifier.predict_probs(one_hot(3))
    assert list(probs) == list(m7.LetterClassifier.LETTERS)
    assert sum(probs.values()) == pytest.approx(1.0)
    assert classifier.predict(one_hot(3)) == max(probs, key=probs.get) == "d"


def test_untrained_classifier_is_not_accurate():
    accuracy, _ = m7.LetterClassifier().evaluate()
    assert accuracy < 0.5  # so the 95% above is earned by training


def test_exercise_7_self_check_accepts_the_trained_reference(trained):
    # The training check of exercises/07 is judged here, where a trained classifier exists,
    # instead of training a third time in test_exercises.py.
    judge = exercise(7)._judge
    assert judge(trained[0], minimum_accuracy=0.95) is None
    assert judge(m7.LetterClassifier(), minimum_accuracy=0.95) is not None


# --- every chapter as a script, from a copy of reference/ alone --------------------------------

def test_reference_chapters_run_as_scripts_from_a_copy(tmp_path):
    for name in CHAPTERS.values():
        shutil.copy(chapter_path(REFERENCE, int(name[:2])), tmp_path)
    outputs = {}
    for number, name in CHAPTERS.items():
        # -I: no user site, no PYTHON* variables, and the script's folder is not put on sys.path,
        # so each chapter must find its predecessors through its own sys.path.insert.
        done = subprocess.run([sys.executable, "-I", str(tmp_path / f"{name}.py")], cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{name}: {done.stderr}"
        assert done.stderr == "", name
        outputs[number] = done.stdout
    assert "M^T         = [[1, 4], [2, 5], [3, 6]]" in outputs[1]
    error = float(re.search(r"worst relative gradient error: (\S+)", outputs[5]).group(1))
    assert error < 1e-6
    assert "accuracy: 26/26" in outputs[7]
