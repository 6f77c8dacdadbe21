"""Chapter 4 — loss functions: one number that says how wrong the network is.

softmax turns raw scores into probabilities; cross-entropy scores those probabilities against
the right answer; mean squared error is the simpler loss used for regression.
"""

import math


def softmax(logits):
    """exp(x_i) / sum_j exp(x_j), computed stably."""
    # Subtracting the largest logit leaves the ratios unchanged (the factor cancels) and keeps
    # every exponent <= 0, so exp() cannot overflow even for logits like 1000.
    exps = [math.exp(x) for x in logits]
    total = sum(exps)
    return [e / total for e in exps]


def cross_entropy_loss(predicted, target):
    """-sum(t * log(p)); p is clamped to 1e-15 so a zero probability never reaches log(0)."""
    return -sum(t * math.log(max(p, 1e-15)) for p, t in zip(predicted, target))


def mse_loss(predicted, target):
    """The mean of the squared differences."""
    return sum((p - t) ** 2 for p, t in zip(predicted, target)) / len(predicted)


if __name__ == "__main__":
    logits = [2.0, 1.0, 0.1]
    probs = softmax(logits)
    print("softmax", logits, "=", [round(p, 4) for p in probs], "sum", round(sum(probs), 6))
    print("softmax [1000, 1001, 1002] =", [round(p, 4) for p in softmax([1000, 1001, 1002])])
    print("cross-entropy, right class likely:", round(cross_entropy_loss(probs, [1, 0, 0]), 4))
    print("cross-entropy, right class unlikely:", round(cross_entropy_loss(probs, [0, 0, 1]), 4))
    print("cross-entropy with p = 0:", round(cross_entropy_loss([0.0, 1.0], [1, 0]), 4))
    print("MSE:", mse_loss([0.9, 0.2], [1.0, 0.0]))
