"""Chapter 6 — the training loop: forward, loss, backward, update, and again.

With gradients available, learning is a loop over examples:

    1. forward      output = network.forward(x)
    2. loss         L = cross_entropy_loss(softmax(output), target)
    3. backward     network.backward(target) fills every layer's gradients
    4. update       every weight and bias takes a small step DOWNHILL:
                        w = w - learning_rate * dL/dw

The gradient points in the direction that increases the loss, so the step goes against it.
Doing this after each single example (rather than after averaging over the whole dataset) is
stochastic gradient descent (SGD): noisier, but many more updates per pass. One pass over the
dataset is an epoch; the mean of its per-example losses is the number to watch go down.

The learning rate sets the step size. Too large and the loss jumps around or grows; too small
and it barely moves. Values between 0.001 and 0.1 are the usual starting range.

Things to get right:
  * subtract: w + learning_rate * g climbs the loss instead of descending it;
  * update the biases as well as the weights, in every layer, and change the network's own
    lists (in place) rather than building new lists that nobody else sees;
  * train_step returns the loss computed BEFORE the update (the loss of the forward pass you
    just backpropagated); computing it again after the update reports a different number;
  * train_epoch returns the MEAN of the step losses, not their sum, so the number does not
    depend on the size of the dataset;
  * train(..., verbose=False) prints nothing at all.

The Trainer constructor is given; it starts loss_history as a fresh empty list per trainer.

Check your work with:  python3 06_training_loop.py
"""

import importlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
_loss = importlib.import_module("04_loss_function")
softmax, cross_entropy_loss = _loss.softmax, _loss.cross_entropy_loss
BackpropNetwork = importlib.import_module("05_backpropagation").BackpropNetwork


class Trainer:
    """Trains a BackpropNetwork with plain SGD, one example at a time."""

    def __init__(self, network, learning_rate=0.01):
        # Given.
        self.network = network
        self.learning_rate = learning_rate
        self.loss_history = []

    def train_step(self, inputs, target):
        """Learn from one example and return its loss (measured before the update).

        Forward the inputs; loss = cross_entropy_loss(softmax(output), target); append the loss
        to self.loss_history; call self.network.backward(target); then, in every layer, replace
        each weight w by w - learning_rate * its gradient (layer.weight_gradients) and each
        bias b by b - learning_rate * its gradient (layer.bias_gradients). Return the loss.
        """
        raise NotImplementedError("Trainer.train_step: forward, loss, backward, then w -= lr * grad "
                                  "for every weight and bias; return the loss from before the update")

    def train_epoch(self, dataset):
        """Call train_step on every (inputs, target) pair of dataset, in order, and return the
        mean of the losses it returned."""
        raise NotImplementedError("Trainer.train_epoch: train_step on each pair in order; return "
                                  "the mean loss")

    def train(self, dataset, epochs, verbose=True):
        """Run train_epoch epochs times; return the list of the per-epoch mean losses.

        When verbose is true, print a progress line for the first epoch and for every tenth of
        the run (every epochs // 10 epochs, at least every epoch): one line naming the epoch,
        counting from 1, and that epoch's mean loss, such as "epoch   10/100  loss 0.4321".
        When false, print nothing.
        """
        raise NotImplementedError("Trainer.train: call train_epoch `epochs` times, collect the "
                                  "mean losses, print progress only when verbose")


# ---------------------------------------------------------------------------------------------
# Self-check: run `python3 06_training_loop.py`. Nothing below needs editing.

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


# Four points, two classes: is the first coordinate the larger one?
_DATA = [([1.0, 0.0], [1, 0]), ([0.0, 1.0], [0, 1]), ([0.9, 0.2], [1, 0]), ([0.1, 0.8], [0, 1])]


def _check_train_step():
    network = BackpropNetwork([3, 4, 2], seed=5)
    network.layers[0].biases = [0.1, -0.1, 0.2, 0.0]
    trainer = Trainer(network, learning_rate=0.5)
    x, target = [0.4, -0.7, 1.1], [0, 1]
    loss_before = cross_entropy_loss(softmax(network.forward(x)), target)
    old = [([list(row) for row in layer.weights], list(layer.biases)) for layer in network.layers]
    loss = trainer.train_step(x, target)
    problem = (_expect("train_step's return value (the loss before the update)", loss, loss_before)
               or _expect("loss_history after one step", trainer.loss_history, [loss_before]))
    if problem:
        return problem
    for n, (layer, (weights, biases)) in enumerate(zip(network.layers, old)):
        if layer.weight_gradients is None or layer.bias_gradients is None:
            return "no gradients were computed: call self.network.backward(target)"
        downhill_w = [[w - 0.5 * g for w, g in zip(row, grads)]
                      for row, grads in zip(weights, layer.weight_gradients)]
        downhill_b = [b - 0.5 * g for b, g in zip(biases, layer.bias_gradients)]
        if not _matches(layer.weights, downhill_w, 1e-12):
            return f"layers[{n}].weights are not w - learning_rate * gradient after one step"
        if not _matches(layer.biases, downhill_b, 1e-12):
            return f"layers[{n}].biases are not b - learning_rate * gradient after one step"
    return None


def _check_train_epoch():
    trainer = Trainer(BackpropNetwork([2, 6, 2], seed=3), learning_rate=0.1)
    mean = trainer.train_epoch(_DATA)
    steps = trainer.loss_history
    if len(steps) != len(_DATA):
        return f"one epoch over {len(_DATA)} examples recorded {len(steps)} step losses"
    return _expect("train_epoch (the mean of its step losses)", mean, sum(steps) / len(steps))


def _check_train():
    import contextlib
    import io

    trainer = Trainer(BackpropNetwork([2, 6, 2], seed=3), learning_rate=0.1)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        losses = trainer.train(_DATA, epochs=30, verbose=False)
    if printed.getvalue():
        return f"train(..., verbose=False) printed {printed.getvalue()!r}"
    if not isinstance(losses, list) or len(losses) != 30:
        return f"train(epochs=30) should return 30 epoch losses, got {losses!r}"
    if not losses[-1] < losses[0]:
        return f"the loss did not go down: {losses[0]:.4f} at the start, {losses[-1]:.4f} at the end"
    return None


_CHECKS = [
    ("Trainer.train_step", _check_train_step),
    ("Trainer.train_epoch", _check_train_epoch),
    ("Trainer.train", _check_train),
]

if __name__ == "__main__":
    for _name, _check in _CHECKS:
        _report(_name, _check)
