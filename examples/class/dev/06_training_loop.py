"""Chapter 6 — the training loop: forward, loss, backward, update; repeat.

Stochastic gradient descent nudges every parameter a small step against its gradient after
each example:

    w <- w - learning_rate * dL/dw

One pass over the whole dataset is an epoch; the mean loss per epoch should go down.
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
        self.network = network
        self.learning_rate = learning_rate
        self.loss_history = []

    def train_step(self, inputs, target):
        """One example: forward, loss, backward, update. Returns the loss before the update."""
        output = self.network.forward(inputs)
        loss = cross_entropy_loss(softmax(output), target)
        self.loss_history.append(loss)
        self.network.backward(target)
        lr = self.learning_rate
        for layer in self.network.layers:
            # Replace each row's contents in place ([:] =) so anyone holding the row sees the update.
            for row, grads in zip(layer.weights, layer.weight_gradients):
                row[:] = [w + lr * g for w, g in zip(row, grads)]
            layer.biases[:] = [b + lr * g for b, g in zip(layer.biases, layer.bias_gradients)]
        return loss

    def train_epoch(self, dataset):
        """train_step on every (inputs, target) pair in order; return the mean loss."""
        total = 0.0
        for inputs, target in dataset:
            total += self.train_step(inputs, target)
        return total / len(dataset)

    def train(self, dataset, epochs, verbose=True):
        """Run several epochs; return the mean loss of each."""
        losses = []
        report_every = max(1, epochs // 10)
        for epoch in range(epochs):
            losses.append(self.train_epoch(dataset))
            if verbose and (epoch == 0 or (epoch + 1) % report_every == 0):
                print(f"epoch {epoch + 1:4d}/{epochs}  loss {losses[-1]:.4f}")
        return losses


if __name__ == "__main__":
    # Four points, two classes: is the first coordinate larger than the second?
    data = [([1.0, 0.0], [1, 0]), ([0.0, 1.0], [0, 1]), ([0.9, 0.2], [1, 0]), ([0.1, 0.8], [0, 1])]
    trainer = Trainer(BackpropNetwork([2, 6, 2], seed=3), learning_rate=0.1)
    losses = trainer.train(data, epochs=100)
    print(f"loss went from {losses[0]:.4f} to {losses[-1]:.4f}")
