"""Chapter 4 — loss functions: one number that measures how wrong the network is.

Training needs a single score to push down. For classification we turn the network's raw
output scores (logits) into probabilities, then ask how much probability went to the right
answer.

    softmax(x)[i]   = exp(x[i]) / sum_j exp(x[j])        all positive, they sum to 1,
                                                          and a larger score keeps a larger share
    cross-entropy   = -sum_i t[i] * log(p[i])             for a one-hot target t this is just
                                                          -log(probability of the right class)
    mse             = mean_i (p[i] - t[i])^2              the regression loss, for comparison

Cross-entropy is 0 when the right class gets probability 1 and grows without bound as that
probability shrinks towards 0. Paired with softmax its gradient with respect to the scores is
simply softmax(x) - t, which chapter 5 uses to start backpropagation.

Things to get right:
  * math.exp(1000) overflows. Subtract max(x) from every score before exponentiating: the
    common factor exp(-max) cancels between numerator and denominator, so the result is the
    same, but now every exponent is <= 0 and nothing can overflow;
  * log(0) is an error. Clamp each probability to at least 1e-15 inside the log
    (log(max(p, 1e-15))), so a zero probability costs about 34.5 instead of crashing;
  * mse is the MEAN of the squared differences, not their sum;
  * do not modify the lists you are given.

Check your work with:  python3 04_loss_function.py
"""

import math


def softmax(logits):
    """Turn a list of scores into probabilities that are positive and sum to 1.

    Compute exp(x - max(logits)) for each score x, then divide each by their total.
    softmax([1000, 1001, 1002]) must work and equal softmax([0, 1, 2]).
    """
    raise NotImplementedError("softmax: subtract the largest logit, exponentiate, divide by the total")


def cross_entropy_loss(predicted, target):
    """Return -sum(t * log(p)) over matching (p, t) pairs, with p clamped to at least 1e-15.

    predicted holds probabilities, target the true distribution (usually one-hot).
    """
    raise NotImplementedError("cross_entropy_loss: -sum of t * math.log(max(p, 1e-15)) over the pairs")


def mse_loss(predicted, target):
    """Return the mean of (p - t) squared over matching pairs."""
    raise NotImplementedError("mse_loss: average the squared differences (divide by the length)")


# ---------------------------------------------------------------------------------------------
# Self-check: run `python3 04_loss_function.py`. Nothing below needs editing.

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


def _check_softmax():
    try:
        big = softmax([1000, 1001, 1002])
    except OverflowError:
        return "softmax([1000, 1001, 1002]) overflowed: subtract max(logits) before math.exp"
    return (_expect("softmax([2.0, 1.0, 0.1])", softmax([2.0, 1.0, 0.1]),
                    [0.6590011388859679, 0.24243297070471392, 0.09856589040931818])
            or _expect("softmax([1000, 1001, 1002])", big,
                       [0.09003057317038046, 0.24472847105479764, 0.6652409557748218]))


def _check_cross_entropy_loss():
    try:
        zero = cross_entropy_loss([0.0, 1.0], [1, 0])
    except ValueError:
        return "cross_entropy_loss([0.0, 1.0], [1, 0]) took log(0): clamp p to at least 1e-15"
    return (_expect("cross_entropy_loss([0.2, 0.7, 0.1], [0, 1, 0])",
                    cross_entropy_loss([0.2, 0.7, 0.1], [0, 1, 0]), 0.35667494393873245)
            or _expect("cross_entropy_loss([0.0, 1.0], [1, 0])", zero, 34.538776394910684))


def _check_mse_loss():
    return _expect("mse_loss([0.9, 0.2], [1.0, 0.0])", mse_loss([0.9, 0.2], [1.0, 0.0]), 0.025)


_CHECKS = [
    ("softmax", _check_softmax),
    ("cross_entropy_loss", _check_cross_entropy_loss),
    ("mse_loss", _check_mse_loss),
]

if __name__ == "__main__":
    for _name, _check in _CHECKS:
        _report(_name, _check)
