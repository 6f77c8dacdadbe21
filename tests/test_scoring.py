"""Point resolution is a small pure function; these pin down its rules."""

from __future__ import annotations

from fractions import Fraction

from grader.course import Criterion
from grader.outcomes import TestOutcome
from grader.scoring import criterion_points, criterion_status, score_criterion

ALL = Criterion(id="c", title="C", points=4)
PROPORTIONAL = Criterion(id="c", title="C", points=4, partial="proportional")
HIDDEN = Criterion(id="c", title="C", points=4, visibility="hidden", help="look again")


def outcome(status: str, message: str = "", **extra) -> TestOutcome:
    return TestOutcome(nodeid=f"t{status}{message}", chapter=1, criterion="c", status=status, message=message, **extra)


def test_status_is_the_worst_outcome():
    assert criterion_status(["passed", "passed"]) == "passed"
    assert criterion_status(["passed", "failed", "timeout"]) == "timeout"
    assert criterion_status(["timeout", "error", "failed"]) == "error"
    assert criterion_status(["passed", "skipped"]) == "skipped"
    assert criterion_status([]) == "skipped"


def test_all_or_nothing_and_proportional_points():
    assert criterion_points(ALL, 3, 3) == 4
    assert criterion_points(ALL, 2, 3) == 0
    assert criterion_points(PROPORTIONAL, 2, 3) == Fraction(8, 3)
    assert criterion_points(PROPORTIONAL, 0, 0) == 0


def test_a_visible_failure_shows_call_expected_and_actual():
    result = score_criterion(ALL, [outcome("passed"), outcome("failed", "expected 3, got 4", call="f(1)",
                                                               expected="3", actual="4")])
    assert (result.status, result.score, result.call, result.expected, result.actual) == ("failed", 0, "f(1)", "3", "4")
    assert result.message == "expected 3, got 4"


def test_a_hidden_failure_shows_only_a_generic_message_and_the_hint():
    result = score_criterion(HIDDEN, [outcome("failed", "expected 3, got 4", call="f(1)", expected="3", actual="4")])
    assert result.message == "some hidden checks failed"
    assert (result.call, result.expected, result.actual) == ("", None, None)
    assert result.help == "look again"


def test_not_implemented_is_said_even_for_hidden_criteria():
    result = score_criterion(HIDDEN, [outcome("failed", "not implemented yet (f: add them up)")])
    assert result.message.startswith("not implemented yet")


def test_recorded_data_from_several_tests_is_kept_in_order():
    result = score_criterion(ALL, [outcome("passed", data={"curve": [[1.0, 0.5]]}),
                                   outcome("passed", "b", data={"curve": [[2.0]]})])
    assert result.data == {"curve": [[1.0, 0.5], [2.0]]}
