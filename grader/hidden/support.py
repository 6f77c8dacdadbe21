"""Small helpers shared by the hidden tests."""

import contextlib
import random
import re

from grader.remote import Remote


@contextlib.contextmanager
def judge_random_untouched():
    """The reference constructors seed the global random generator; keep the judge's as it was."""
    state = random.getstate()
    try:
        yield
    finally:
        random.setstate(state)


def chain_for(remote):
    """Requests to send the worker of `remote` (a student's object) at once: grader/remote.py's Chain."""
    return remote._session.chain()


def assign(*settings):
    """`target.name = value` for each `(target, name, value)` in order, students' objects of one
    worker, in one request instead of one each (a network's weights and biases, layer by layer).
    Each runs, or fails, exactly as its own assignment would, and the ones after a failure do not."""
    targets = [target for target, _, _ in settings]
    if not targets or not all(isinstance(t, Remote) and t._session is targets[0]._session for t in targets):
        for target, name, value in settings:  # not all the student's objects of one worker: one by one
            setattr(target, name, value)
        return
    chain = chain_for(targets[0])
    for target, name, value in settings:
        chain.set(target, name, value)
    for _ in chain.run():
        pass


def settings_of(layers, parameters):
    """The assignments giving `layers` their `(weights, biases)`, layer by layer (as `assign` takes
    them); as many as zip() pairs, like a loop over both."""
    return [(layer, name, value) for layer, (weights, biases) in zip(layers, parameters)
            for name, value in (("weights", weights), ("biases", biases))]


def plain(value):
    """Tuples as lists, all the way down: a pair comes back from the worker as either."""
    return [plain(v) for v in value] if type(value) in (list, tuple) else value


# Any number written with a decimal point (or an exponent), as progress lines print losses.
_DECIMAL = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+(?=[eE]))(?:[eE][-+]?\d+)?")


def shows_value(line, value):
    """Whether some number printed in `line` is `value` rounded to the digits it was printed with."""
    for match in _DECIMAL.finditer(line):
        text = match.group()
        mantissa, _, exponent = text.lower().partition("e")
        digits = len(mantissa.partition(".")[2])
        unit = 10.0 ** (int(exponent or 0) - digits)
        if abs(float(text) - value) <= 0.51 * unit + 1e-12 * abs(value):
            return True
    return False


def reported_epochs(epochs):
    """The epochs a progress line is due for: the first, and every epochs // 10 (at least every one)."""
    every = max(1, epochs // 10)
    return [epoch for epoch in range(1, epochs + 1) if epoch == 1 or epoch % every == 0]
