"""Hidden tests of chapter 6: the student's Trainer trains a network (the reference BackpropNetwork,
running in the worker) with injected weights; the reference Trainer, in the judge, trains a twin
network with the very same numbers, and losses and parameters must agree.

Each criterion grades its own part (a mistake costs its points once): the step's loss is checked
against the network as it stands (whatever the update did), the epoch's mean with learning_rate=0;
when train_epoch or train differs from the reference, it is graded again on a stand-in for the
part it calls (worker.stand_in: a method answering the judge's data), and passes when it does its
own job with right answers. train's progress lines are read from the worker's output, on a
stand-in train_epoch, and compared with the losses train itself returned."""

import re

import pytest

from grader.checks import attempt, check, consistent_with_own, difference, expect
from grader.outcomes import RELATIVE
from grader.remote import StudentFault
from grader.hidden.gates import gate_tests
from grader.hidden.support import assign, judge_random_untouched, plain, settings_of, reported_epochs, shows_value

test_imports, test_standard_library_only = gate_tests(6)

LEARNING_RATE = 0.3  # not the default 0.01, so a hard-coded rate shows


def vector(rng, n, low=-1.0, high=1.0):
    return [round(rng.uniform(low, high), 4) for _ in range(n)]


def one_hot(i, n):
    return [1 if j == i else 0 for j in range(n)]


def parameters(rng, sizes):
    """(weights, biases) per layer; every bias non-zero so a missed bias update shows."""
    return [([vector(rng, n_in) for _ in range(n_out)],
             [round(rng.choice((-1, 1)) * rng.uniform(0.05, 0.5), 4) for _ in range(n_out)])
            for n_in, n_out in zip(sizes, sizes[1:])]


def dataset(rng, size, n_in, n_out):
    return [(vector(rng, n_in, -2, 2), one_hot(i % n_out, n_out)) for i in range(size)]


def twins(student, reference, sizes, chosen, learning_rate=LEARNING_RATE):
    """The student's Trainer on a network in the worker and the reference Trainer on an identical
    network in the judge; returns (student trainer, its layers, reference trainer)."""
    network = student.BackpropNetwork(sizes, seed=11)
    layers = network.layers
    assign(*settings_of(layers, chosen))
    trainer = student.Trainer(network, learning_rate=learning_rate)
    with judge_random_untouched():
        twin = reference.BackpropNetwork(sizes, seed=11)
    for layer, (weights, biases) in zip(twin.layers, chosen):
        layer.weights = [list(row) for row in weights]
        layer.biases = list(biases)
    return trainer, layers, reference.Trainer(twin, learning_rate=learning_rate)


def describe_update(name, actual, before, expected):
    """Why the parameters after a step differ from before - learning_rate * gradient, in words."""
    if expected == before:  # every gradient was zero (dead relu units): nothing to tell apart
        return None
    if actual == before:
        return f"{name} did not change: subtract learning_rate * gradient from every value, in every layer"
    uphill = [2 * b - e for b, e in zip(before, expected)]  # before + learning_rate * gradient
    if all(abs(a - u) <= 1e-9 * max(1.0, abs(u)) for a, u in zip(actual, uphill)):
        return (f"{name} moved uphill: they became before + learning_rate * gradient; "
                f"gradient descent subtracts (w -= learning_rate * gradient)")
    return None


def flat(values):
    return [v for row in values for v in row] if values and type(values[0]) is list else list(values)


# --- train_step ---------------------------------------------------------------------------------

SIZES = [3, 5, 4, 2]


@pytest.mark.criterion("ch6-step-update")
def test_train_step_updates_every_weight_and_bias(student, reference, rng):
    chosen = parameters(rng, SIZES)
    inputs, target = vector(rng, 3, -2, 2), [0, 1]
    trainer, layers, twin = twins(student, reference, SIZES, chosen)
    trainer.train_step(inputs, target)
    twin.train_step(list(inputs), list(target))
    step = f"one train_step({inputs}, {target}) with learning_rate={LEARNING_RATE}"
    for i, (layer, expected, (weights, biases)) in enumerate(zip(layers, twin.network.layers, chosen)):
        for name, actual, before, after in (("weights", layer.weights, weights, expected.weights),
                                            ("biases", layer.biases, biases, expected.biases)):
            label = f"network.layers[{i}].{name}"
            what = f"{label} after {step} (each value minus learning_rate * its gradient)"
            if type(actual) is list and len(flat(actual)) == len(flat(after)):
                reason = describe_update(label, flat(actual), flat(before), flat(after))
                check(reason is None, f"after {step}, {reason}", expected=after, actual=actual, call=what)
            expect(actual, after, rel=1e-9, abs_tol=1e-12, call=what)


@pytest.mark.criterion("ch6-step-update")
def test_train_step_updates_every_bias(student, reference, rng):
    """The biases on their own, every layer's: a step that moves the weights but not the biases
    (or only some layers') says so here, whatever happened to the weights."""
    chosen = parameters(rng, SIZES)
    inputs, target = vector(rng, 3, -2, 2), [1, 0]
    trainer, layers, twin = twins(student, reference, SIZES, chosen)
    trainer.train_step(inputs, target)
    twin.train_step(list(inputs), list(target))
    step = f"one train_step({inputs}, {target}) with learning_rate={LEARNING_RATE}"
    for i, (layer, expected, (_, biases)) in enumerate(zip(layers, twin.network.layers, chosen)):
        actual = layer.biases
        what = f"network.layers[{i}].biases after {step} (each bias minus learning_rate * its gradient)"
        if type(actual) is list and len(actual) == len(biases):
            reason = describe_update(f"network.layers[{i}].biases", actual, biases, expected.biases)
            check(reason is None, f"after {step}, {reason}", expected=expected.biases, actual=actual, call=what)
        expect(actual, expected.biases, rel=1e-9, abs_tol=1e-12, call=what)


@pytest.mark.criterion("ch6-step-loss")
def test_train_step_returns_and_records_the_loss(student, reference, rng):
    sizes = [3, 4, 2]
    chosen = parameters(rng, sizes)
    examples = [(vector(rng, 3, -2, 2), target) for target in ([1, 0], [0, 1], [1, 0])]
    trainer, layers, _ = twins(student, reference, sizes, chosen)
    losses = []
    for n, (inputs, target) in enumerate(examples, start=1):
        # The loss of the network as it stands before this step, whatever earlier updates did to it.
        current = chosen if n == 1 else [(layer.weights, layer.biases) for layer in layers]
        expected = loss_of(reference, sizes, current, inputs, target)
        loss = trainer.train_step(inputs, target)
        losses.append(loss)
        expect(loss, expected, rel=1e-9,
               call=f"train_step({inputs}, {target}), step {n} (returns the loss of its forward pass, "
                    f"computed before the update)")
        history = trainer.loss_history
        check(type(history) is list and len(history) == n,
              f"after {n} train_step call{'s' if n > 1 else ''}, loss_history should hold {n} "
              f"loss{'es' if n > 1 else ''} (one appended per step), it holds "
              f"{len(history) if type(history) is list else repr(history)}")
        expect(history, losses, rel=0, abs_tol=0,
               call=f"trainer.loss_history after {n} step{'s' if n > 1 else ''} "
                    f"(the losses train_step returned)")


def loss_of(reference, sizes, current, inputs, target):
    """cross_entropy_loss(softmax(output), target) of a reference network holding `current`."""
    for i, (weights, biases) in enumerate(current):
        check(type(weights) is list and len(weights) == sizes[i + 1]
              and all(type(row) is list and len(row) == sizes[i] for row in weights)
              and type(biases) is list and len(biases) == sizes[i + 1],
              f"after a train_step, network.layers[{i}] no longer holds a {sizes[i + 1]} x {sizes[i]} weight "
              f"matrix and {sizes[i + 1]} biases; update the values, keep the shapes")
    with judge_random_untouched():
        network = reference.BackpropNetwork(sizes, seed=11)
    for layer, (weights, biases) in zip(network.layers, current):
        layer.weights, layer.biases = [list(row) for row in weights], list(biases)
    return reference.cross_entropy_loss(reference.softmax(network.forward(list(inputs))), target)


# --- train_epoch --------------------------------------------------------------------------------

@pytest.mark.criterion("ch6-epoch")
def test_train_epoch_returns_the_mean_loss(student, reference, worker, rng, record):
    # learning_rate=0 keeps the weights fixed, so the epoch's losses do not depend on how
    # train_step updates them (that is ch6-step-update's business): only the averaging counts.
    sizes = [2, 4, 3]
    chosen = parameters(rng, sizes)
    data = dataset(rng, 5, 2, 3)
    trainer, _, twin = twins(student, reference, sizes, chosen, learning_rate=0.0)
    mean = attempt(lambda: trainer.train_epoch(data))
    expected = twin.train_epoch([(list(x), list(t)) for x, t in data])
    steps = twin.loss_history
    about = f"train_epoch on {len(data)} examples (with learning_rate=0.0, so the weights stay fixed)"
    if type(mean) is float and abs(mean - sum(steps)) < 1e-9 * sum(steps):
        raise AssertionError(f"{about} returned {mean!r}, the SUM of the {len(steps)} step losses; "
                             f"divide by the number of examples to get the mean, {expected!r}")
    if type(mean) is float and abs(mean - steps[-1]) < 1e-9 * steps[-1]:
        raise AssertionError(f"{about} returned {mean!r}, the loss of the last step only; return "
                             f"the mean over all {len(steps)} examples, {expected!r}")
    if difference(mean, expected, rel=1e-9) is not None and averages_right_steps(student, reference, worker,
                                                                                 sizes, chosen, data) \
            and consistent_with_own(mean, own_mean(student, reference, sizes, chosen, data), rel=1e-9):
        record(RELATIVE, ON_YOUR_STEP)  # its own train_step is what differs from the reference
        return
    if isinstance(mean, StudentFault):
        raise mean
    expect(mean, expected, rel=1e-9, call=f"{about} (the mean of the losses of its train_step calls)")


ON_YOUR_STEP = ("train_epoch runs your train_step on every example and averages its losses correctly; "
                "train_step itself is wrong: see the train_step criteria above.")


def arguments(call, names):
    """A recorded call's arguments in order, whether passed by position or by name."""
    args, kwargs = call
    return plain(args) + [plain(kwargs[name]) for name in names if name in kwargs]


def own_mean(student, reference, sizes, chosen, data):
    """The mean of what the student's own train_step returns on each example, on a fresh twin."""
    def mean():
        trainer, _, _ = twins(student, reference, sizes, chosen, learning_rate=0.0)
        return sum(trainer.train_step(x, t) for x, t in data) / len(data)
    return mean


def averages_right_steps(student, reference, worker, sizes, chosen, data):
    """train_epoch graded apart from train_step: with a train_step standing in that answers known
    losses, it must call it on each example in order and return their mean."""
    answers = [round(0.25 + 0.5 * k / len(data) + 0.01 * k * k, 6) for k in range(len(data))]
    try:
        trainer, _, _ = twins(student, reference, sizes, chosen, learning_rate=0.0)
        stand_in = worker.stand_in(trainer, "train_step", answers)
        mean = trainer.train_epoch(data)
        calls = stand_in.calls
    except StudentFault:
        return False
    return (type(calls) is list and [arguments(c, ("inputs", "target")) for c in calls] == plain(data)
            and difference(mean, sum(answers) / len(answers), rel=1e-12) is None)


# --- train --------------------------------------------------------------------------------------

TRAIN_SIZES, EPOCHS = [2, 4, 2], 20


def training_data(rng):
    """Four points, two classes: is the first coordinate the larger one?"""
    points = [[1.0, 0.0], [0.0, 1.0], [0.9, 0.2], [0.1, 0.8]]
    return [([round(v + rng.uniform(-0.05, 0.05), 4) for v in p], one_hot(0 if p[0] > p[1] else 1, 2))
            for p in points]


ON_YOUR_EPOCH = ("train runs your train_epoch once per epoch and returns its losses correctly; the difference "
                 "from the reference lies in train_step or train_epoch: see their criteria above.")


@pytest.mark.criterion("ch6-train")
def test_train_returns_one_loss_per_epoch(student, reference, worker, rng, record):
    chosen = parameters(rng, TRAIN_SIZES)
    data = training_data(rng)
    trainer, layers, twin = twins(student, reference, TRAIN_SIZES, chosen, learning_rate=0.1)
    losses = attempt(lambda: trainer.train(data, EPOCHS))
    if type(losses) is list:
        record("loss_curve", losses)
    expected = twin.train([(list(x), list(t)) for x, t in data], EPOCHS, verbose=False)
    if isinstance(losses, StudentFault) and graded_on_stand_ins(student, reference, worker, chosen, data, losses):
        record(RELATIVE, ON_YOUR_EPOCH)  # it raised as its own train_epoch does, and does its job on a stand-in
        return
    if isinstance(losses, StudentFault):
        raise losses
    check(type(losses) is list and len(losses) == EPOCHS,
          f"train(dataset, epochs={EPOCHS}) should return a list of {EPOCHS} mean losses, one per epoch, "
          f"got {f'{len(losses)} values' if type(losses) is list else repr(losses)}")
    if difference(losses, expected, rel=1e-7, abs_tol=1e-12) is None:
        check(losses[-1] < losses[0], f"the loss did not go down: {losses[0]:.4f} after the first epoch, "
                                      f"{losses[-1]:.4f} after the last")
        return
    # train's own job is to run train_epoch once per epoch on the dataset and return what it
    # measured; whether the numbers are right is train_step's and train_epoch's business.
    if graded_on_stand_ins(student, reference, worker, chosen, data, losses):
        record(RELATIVE, ON_YOUR_EPOCH)
        return
    expect(losses, expected, rel=1e-7, abs_tol=1e-12,
           call=f"train(dataset of {len(data)} examples, epochs={EPOCHS}) with learning_rate=0.1")


def graded_on_stand_ins(student, reference, worker, chosen, data, losses, epochs=EPOCHS):
    """train differs from the reference: it passes as its own part when it does its job on a
    stand-in train_epoch and its real answer is what its own train_epoch gives, epoch by epoch."""
    return (runs_right_epochs(student, reference, worker, chosen, data, epochs)
            and consistent_with_own(losses, own_epochs(student, reference, chosen, data, epochs), rel=1e-12, abs_tol=0))


def own_epochs(student, reference, chosen, data, epochs):
    """What the student's own train_epoch gives, epoch after epoch, on a fresh twin."""
    def epochs_run():
        trainer, _, _ = twins(student, reference, TRAIN_SIZES, chosen, learning_rate=0.1)
        return numbers([trainer.train_epoch(data) for _ in range(epochs)])
    return epochs_run


def numbers(values):
    """`values` when every one is a number train can print; else their answers cannot be composed
    (a TypeError, as composing them would raise): train then has nothing to agree with."""
    if not all(type(v) in (int, float) for v in values):
        raise TypeError("the losses of train_epoch are not numbers")
    return values


def epoch_answers(epochs):
    """Losses a stand-in train_epoch answers: distinct, falling, each printable to 4 decimals."""
    return [round(1.5 / (k + 2) + 0.001 * k, 6) for k in range(epochs)]


def trainer_on_stand_ins(student, reference, worker, chosen, epochs):
    """A fresh trainer whose train_epoch is a stand-in answering epoch_answers(epochs)."""
    trainer, _, _ = twins(student, reference, TRAIN_SIZES, chosen, learning_rate=0.1)
    return trainer, worker.stand_in(trainer, "train_epoch", epoch_answers(epochs))


def runs_right_epochs(student, reference, worker, chosen, data, epochs):
    """train graded apart from train_epoch: with a stand-in train_epoch, train must call it once
    per epoch with the dataset and return its answers in order."""
    try:
        trainer, stand_in = trainer_on_stand_ins(student, reference, worker, chosen, epochs)
        losses = trainer.train(data, epochs, verbose=False)
        calls = stand_in.calls
    except StudentFault:
        return False
    return (losses == epoch_answers(epochs) and type(calls) is list
            and [arguments(c, ("dataset",)) for c in calls] == [[plain(data)]] * epochs)


def printed_by_train(student, reference, worker, chosen, data, epochs, run, *, text):
    """(what train returned, what it printed) on real components; or, when train raises what its
    own train_epoch raises, on a stand-in train_epoch: what train prints is train's business.
    `text`: the printed text (stdout), else the number of bytes printed on either stream."""
    mark, since = (worker.stdout_mark, worker.stdout_since) if text else (worker.output_mark, worker.printed_since)

    def printed_on(trainer):
        start = mark()
        return attempt(lambda: run(trainer)), since(start)
    trainer, _, _ = twins(student, reference, TRAIN_SIZES, chosen, learning_rate=0.1)
    losses, printed = printed_on(trainer)
    if isinstance(losses, StudentFault):
        if not consistent_with_own(losses, own_epochs(student, reference, chosen, data, epochs)):
            # it raised on its own, not because its train_epoch does
            raise losses
        losses, printed = printed_on(trainer_on_stand_ins(student, reference, worker, chosen, epochs)[0])
        if isinstance(losses, StudentFault):
            raise losses
    return losses, printed


@pytest.mark.criterion("ch6-quiet")
def test_train_quiet_prints_nothing(student, reference, worker, rng):
    chosen = parameters(rng, TRAIN_SIZES)
    data = training_data(rng)
    _, printed = printed_by_train(student, reference, worker, chosen, data, 12,
                                  lambda trainer: trainer.train(data, 12, verbose=False), text=False)
    check(printed == 0, f"train(dataset, epochs=12, verbose=False) printed {printed} bytes; with "
                        f"verbose=False it must print nothing")


# Runs whose reports fall every 3, 2, 1 and 1 epochs (30 // 10, 25 // 10, 18 // 10, at least 1 for
# 7), so that neither epochs / 10, epochs // 9 nor epochs // 11 gives the same lines; the last one
# with verbose left at its default, which is True.
@pytest.mark.criterion("ch6-verbose")
@pytest.mark.parametrize("epochs, verbose", [(30, True), (25, True), (18, True), (7, None)])
def test_train_verbose_reports_progress(epochs, verbose, student, reference, worker, rng):
    chosen = parameters(rng, TRAIN_SIZES)
    data = training_data(rng)
    run = (lambda trainer: trainer.train(data, epochs)) if verbose is None else \
        (lambda trainer: trainer.train(data, epochs, verbose=verbose))
    losses, printed = printed_by_train(student, reference, worker, chosen, data, epochs, run, text=True)
    call = f"train(dataset, epochs={epochs}{'' if verbose is None else ', verbose=True'})"
    check(printed is not None, f"{call}: the output was cut off at the grader's cap; print one short line "
                               f"per report, nothing else")
    due = reported_epochs(epochs)
    lines = [line for line in printed.splitlines() if line.strip()]
    check(len(lines) == len(due), f"{call} printed {len(lines)} line{'s' if len(lines) != 1 else ''}; it "
                                  f"should print one progress line for each of the epochs {due} (the first, "
                                  f"then every epochs // 10)")
    for line, epoch in zip(lines, due):
        number = re.search(r"\d+", line)
        check(number is not None and int(number.group()) == epoch,
              f"{call}: the progress line {line.strip()!r} should start by naming epoch {epoch} "
              f"(counting from 1)")
        if type(losses) is list and len(losses) == epochs and type(losses[epoch - 1]) is float:
            check(shows_value(line, losses[epoch - 1]),
                  f"{call}: the progress line {line.strip()!r} for epoch {epoch} should show that "
                  f"epoch's mean loss, {losses[epoch - 1]:.4f}")
