"""Hidden tests of chapter 4: softmax, cross-entropy and mean squared error, against the reference."""

import math

import pytest

from grader.checks import check, expect
from grader.hidden.gates import gate_tests
from grader.remote import StudentRaised

test_imports, test_standard_library_only = gate_tests(4)


def explained(call, *args, kinds, advice):
    """`call(*args)`, turning one of the exception `kinds` raised by the student's code into a
    failure that says what to change."""
    try:
        return call(*args)
    except StudentRaised as fault:
        if fault.kind not in kinds:
            raise
        where = f" at line {fault.location['line']}" if fault.location else ""
        raise AssertionError(f"{fault.call} raised {fault.kind} ({fault.detail}){where}: {advice}") from None


def logits(rng, n, spread=4.0):
    return [round(rng.uniform(-spread, spread), 4) for _ in range(n)]


def distribution(rng, n):
    weights = [rng.uniform(0.05, 1.0) for _ in range(n)]
    return [w / sum(weights) for w in weights]


# --- softmax ------------------------------------------------------------------------------------

@pytest.mark.criterion("ch4-softmax")
def test_softmax_values(student, reference, worker, rng):
    softmax = student.softmax
    expect(softmax([2.0, 1.0, 0.1]), reference.softmax([2.0, 1.0, 0.1]), rel=1e-9, abs_tol=1e-15)
    expect(softmax([1, 2, 3]), reference.softmax([1, 2, 3]), rel=1e-9, abs_tol=1e-15)
    expect(softmax([0.5]), [1.0], rel=1e-12)
    scores = logits(rng, 6)
    kept = worker.keep(scores)
    expect(softmax(kept), reference.softmax(scores), rel=1e-9, abs_tol=1e-15, call=f"softmax({scores})")
    expect(worker.fetch(kept), scores, exact=True,
           call=f"the list given to softmax({scores}) afterwards (softmax must not change it)")


@pytest.mark.criterion("ch4-softmax")
def test_softmax_sums_to_one(student, rng):
    softmax = student.softmax
    for scores in ([0.0, 0.0], logits(rng, 3), logits(rng, 7, 10), logits(rng, 12, 30)):
        probabilities = softmax(scores)
        check(type(probabilities) is list and len(probabilities) == len(scores),
              f"softmax({scores}) should return a list of {len(scores)} probabilities, got {probabilities!r}")
        check(all(type(p) in (int, float) and 0 <= p <= 1 for p in probabilities),
              f"softmax({scores}) returned {probabilities}: every probability lies between 0 and 1")
        expect(sum(probabilities), 1.0, abs_tol=1e-9,
               call=f"sum(softmax({scores})) (the probabilities must add up to 1)")


@pytest.mark.criterion("ch4-softmax")
def test_softmax_keeps_the_order(student, rng):
    softmax = student.softmax
    scores = logits(rng, 6)
    while len(set(scores)) < len(scores):
        scores = logits(rng, 6)
    probabilities = softmax(scores)
    by_score = sorted(range(len(scores)), key=lambda i: scores[i])
    check(type(probabilities) is list and len(probabilities) == len(scores)
          and all(probabilities[i] < probabilities[j] for i, j in zip(by_score, by_score[1:])),
          f"softmax({scores}) returned {probabilities}: a larger logit must get a larger probability")
    expect(softmax([3.0, 3.0, 3.0]), [1 / 3, 1 / 3, 1 / 3], rel=1e-9,
           call="softmax([3.0, 3.0, 3.0]) (equal logits share the probability equally)")


@pytest.mark.criterion("ch4-softmax")
@pytest.mark.parametrize("scores", [[1000, 1001, 1002], [-1000, 0, 1000], [-1000, -1000.5, -1002]])
def test_softmax_is_stable_for_huge_logits(scores, student, reference):
    probabilities = explained(student.softmax, scores, kinds=("OverflowError", "ZeroDivisionError"),
                              advice="subtract max(logits) from every logit before math.exp")
    check(type(probabilities) is list and len(probabilities) == len(scores),
          f"softmax({scores}) should return a list of {len(scores)} probabilities, got {probabilities!r}")
    check(not any(type(p) is float and math.isnan(p) for p in probabilities),
          f"softmax({scores}) returned {probabilities}, which contains NaN: subtract max(logits) "
          f"before math.exp")
    expect(probabilities, reference.softmax(scores), rel=1e-9, abs_tol=1e-15, call=f"softmax({scores})")
    expect(sum(probabilities), 1.0, abs_tol=1e-9, call=f"sum(softmax({scores}))")


# --- cross-entropy ------------------------------------------------------------------------------

LOG_ZERO = "clamp each probability with max(p, 1e-15) before math.log"


@pytest.mark.criterion("ch4-cross-entropy")
def test_cross_entropy_one_hot(student, reference, worker, rng):
    loss = student.cross_entropy_loss
    expect(loss([0.2, 0.7, 0.1], [0, 1, 0]), -math.log(0.7), rel=1e-9)
    expect(loss([0.9, 0.1], [1.0, 0.0]), -math.log(0.9), rel=1e-9)
    predicted = reference.softmax(logits(rng, 5))
    target = [0] * 5
    target[rng.randrange(5)] = 1
    kept_p, kept_t = worker.keep(predicted), worker.keep(target)
    expect(loss(kept_p, kept_t), reference.cross_entropy_loss(predicted, target), rel=1e-9,
           call=f"cross_entropy_loss({predicted}, {target})")
    expect([worker.fetch(kept_p), worker.fetch(kept_t)], [predicted, target], exact=True,
           call="the lists given to cross_entropy_loss afterwards (it must not change them)")


@pytest.mark.criterion("ch4-cross-entropy")
def test_cross_entropy_with_zero_probabilities(student, reference):
    loss = student.cross_entropy_loss
    cases = [([0.0, 1.0], [1, 0]), ([0.0, 1.0], [0, 1]), ([0.5, 0.0, 0.5], [0, 1, 0]),
             ([0.0, 0.0, 1.0], [1, 0, 0]),
             # 1e-20 is clamped too: the loss stays at -log(1e-15), not -log(1e-20) = 46.05
             ([1e-20, 1.0], [1, 0])]
    for predicted, target in cases:
        value = explained(loss, predicted, target, kinds=("ValueError", "ZeroDivisionError"), advice=LOG_ZERO)
        # rel=1e-4 accepts log(p + 1e-15) as well as log(max(p, 1e-15)); no clamp is 33% off.
        expect(value, reference.cross_entropy_loss(predicted, target), rel=1e-4, abs_tol=1e-12,
               call=f"cross_entropy_loss({predicted}, {target})")
    expect(loss([0.0, 1.0], [1, 0]), 34.538776394910684, rel=1e-6,
           call="cross_entropy_loss([0.0, 1.0], [1, 0]) (= -log(1e-15))")


@pytest.mark.criterion("ch4-cross-entropy")
def test_cross_entropy_soft_targets(student, reference, rng):
    loss = student.cross_entropy_loss
    expect(loss([0.25, 0.25, 0.5], [0.1, 0.3, 0.6]),
           reference.cross_entropy_loss([0.25, 0.25, 0.5], [0.1, 0.3, 0.6]), rel=1e-9)
    for n in (4, 6):
        predicted, target = distribution(rng, n), distribution(rng, n)
        expect(loss(predicted, target), reference.cross_entropy_loss(predicted, target), rel=1e-9,
               call=f"cross_entropy_loss({predicted}, {target}) (a soft target: every t counts)")


# --- mean squared error -------------------------------------------------------------------------

@pytest.mark.criterion("ch4-mse")
def test_mse(student, reference, worker, rng):
    mse = student.mse_loss
    # Four values first: the mean (/ 4), the sum, the ½ convention (/ 2) and an off-by-one mean
    # (/ 3) all differ here, so the failure tells the diagnosis which one a student wrote (with
    # three values, / 2 and / (n - 1) are the same number).
    expect(mse([0.9, 0.2, 0.4, 0.5], [1.0, 0.0, 0.0, 0.5]), 0.0525, rel=1e-9)
    expect(mse([0.9, 0.2, 0.4], [1.0, 0.0, 0.0]), 0.07, rel=1e-9)
    expect(mse([1, 2, 3, 4], [1, 2, 3, 4]), 0, rel=0, abs_tol=0)
    expect(mse([1, 2, 3], [3, 5, 3]), 13 / 3, rel=1e-12)
    expect(mse([0.9, 0.2], [1.0, 0.0]), 0.025, rel=1e-9)
    predicted, target = logits(rng, 7, 2), logits(rng, 7, 2)
    kept_p, kept_t = worker.keep(predicted), worker.keep(target)
    expect(mse(kept_p, kept_t), reference.mse_loss(predicted, target), rel=1e-9,
           call=f"mse_loss({predicted}, {target})")
    expect([worker.fetch(kept_p), worker.fetch(kept_t)], [predicted, target], exact=True,
           call="the lists given to mse_loss afterwards (it must not change them)")
