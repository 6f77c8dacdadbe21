"""The scorecard's page data and pictures, checked as data (no HTML parsing): what a page shows
is decided in grader/report/pages.py and figures.py, so that is where it is tested."""

from __future__ import annotations

import dataclasses
import math

import pytest

from grader.budget import Calibration, Relative, TrainingRecord, resolve_budget
from grader.report.axes import nice_ticks
from grader.report.gradcheck import gradcheck_figure
from grader.report.letters import letter_grid
from grader.report.losscurve import loss_figure
from grader.report.pages import OUTPUT_CHARS, chapter_page, criterion_row, index_page
from grader.report.status import MARKS
from grader.report.text import clip, code_spans, printable, small_number
from report_cards import criterion, failing_card, passing_card


def chapter_of(card, number):
    return next(ch for ch in card.chapters if ch.number == number)


# --- status marks ------------------------------------------------------------------------

def test_every_status_has_an_icon_and_a_word_not_just_a_colour():
    for status, m in MARKS.items():
        assert m.icon and m.word and m.key == status
    assert len({m.icon for m in MARKS.values()}) == len(MARKS)


# --- criteria ----------------------------------------------------------------------------

def test_a_visible_failure_shows_call_expected_actual_location_and_hint():
    card = failing_card()
    rows = {r.id: r for r in chapter_page(card, chapter_of(card, 1)).criteria}
    dot = rows["ch1-dot"]
    assert (dot.call, dot.expected) == ("dot_product([1, 2, 3], [4, 5, 6])", "32")
    assert dot.has_details and dot.hint
    error = rows["ch1-vector-ops"]
    assert error.mark.word == "error" and error.location.line == 35 and error.location.function == "vector_add"
    assert rows["ch1-transpose"].mark.word == "timed out"
    assert rows["ch1-matvec"].message == "" and rows["ch1-matvec"].hint == () and not rows["ch1-matvec"].has_details


def test_a_hidden_criterion_never_shows_call_expected_or_actual():
    # Even a result that (wrongly) carries them: the page checks visibility itself.
    leaky = criterion("ch5-network-backward", "backward", 6, "failed", visibility="hidden",
                      message="some hidden checks failed", call="secret_call([1, 2])",
                      expected="[0.5]", actual="[0.7]", help="Start from softmax.")
    row = criterion_row(leaky)
    assert row.hidden and not row.has_details
    assert (row.call, row.expected, row.actual) == ("", None, None)
    assert row.message == "some hidden checks failed" and row.hint


def test_skipped_criteria_say_why_and_give_no_hint():
    card = failing_card()
    rows = chapter_page(card, chapter_of(card, 2)).criteria
    skipped = [r for r in rows if r.mark.word == "skipped"]
    assert skipped and all("did not pass" in r.message and r.hint == () for r in skipped)


def test_hints_show_backticks_as_code():
    assert [(s.text, s.code) for s in code_spans("Run `python3 x.py` and fix it.")] == [
        ("Run ", False), ("python3 x.py", True), (" and fix it.", False)]
    assert [(s.text, s.code) for s in code_spans("a ` lone backtick")] == [("a ` lone backtick", False)]


# --- output ------------------------------------------------------------------------------

def test_long_output_is_clipped_with_a_visible_marker():
    card = failing_card()
    page = chapter_page(card, chapter_of(card, 1))
    stdout, stderr = page.outputs
    assert len(stdout.text) <= OUTPUT_CHARS
    assert any("more characters not shown" in cut for cut in stdout.cuts)
    assert any("stopped capturing" in cut for cut in stdout.cuts)   # the worker's own cap
    assert "\x1b" not in stdout.text and "\x00" not in stdout.text and "red" in stdout.text
    assert stderr.label.startswith("Errors")


def test_clip_counts_what_it_hides_and_printable_removes_controls():
    clipped = clip("a\n" * 100, max_chars=1000, max_lines=10)
    assert clipped.text.count("\n") == 9 and clipped.cut and clipped.total_chars == 200
    assert not clip("short", max_chars=10, max_lines=10).cut
    assert printable("\x1b[1mbold\x1b[0m\r\nnext\x07") == "bold\nnext\ufffd"


# --- chapters and the index --------------------------------------------------------------

def test_chapters_not_graded_say_why_and_draw_nothing():
    card = failing_card()
    missing = chapter_page(card, chapter_of(card, 3))
    assert missing.state.word == "missing" and "was not found" in missing.note and not missing.figures
    broken = chapter_page(card, chapter_of(card, 4))
    assert broken.state.word == "not gradable" and "symbolic link" in broken.note


def test_the_index_has_a_full_bar_per_chapter_when_everything_passed():
    page = index_page(passing_card())
    assert [line.bar.percent for line in page.chapters] == [100.0] * 7
    assert page.bar.percent == 100.0 and page.score == "100" and page.max_score == 100
    assert all(line.state.word == "passed" for line in page.chapters)
    assert [line.href for line in page.chapters][:2] == ["chapter-01.html", "chapter-02.html"]


def test_pages_link_their_neighbours_and_the_index():
    card = passing_card()
    first, middle = chapter_page(card, card.chapters[0]), chapter_page(card, card.chapters[3])
    assert first.previous is None and first.next.href == "chapter-02.html"
    assert (middle.previous.href, middle.next.href, middle.index.href) == (
        "chapter-03.html", "chapter-05.html", "index.html")


def test_provenance_names_everything_needed_to_reproduce_the_run():
    labels = dict(index_page(failing_card()).provenance.items)
    assert labels["Grader"] == "grade 0.1.0"
    assert labels["Course sha256"] == "c0" * 32 and labels["Submission sha256"] == "5b" * 32
    assert labels["Seed"] == "20261122" and labels["Python"] == "3.11.7"
    assert labels["Sandbox"].startswith("process (bwrap is not available")
    assert labels["Date"] == "2026-11-22 09:30:00 UTC" and labels["Duration"] == "1 min 15 s"


def test_provenance_shows_the_training_budget_its_use_and_the_calibration():
    calibration = Calibration(chapter=7, reference_cpu=8.4, epochs=500, sample_epochs=50, samples=(0.84, 0.85, 0.83),
                              measured_at="2026-11-22T09:00:00+00:00", machine="lab-3 · Xeon · 2 cores",
                              python="3.11.7", tier="bwrap", key="ab" * 32, reused=True)
    record = TrainingRecord(7, "10x (at least 30 s)", resolve_budget(Relative(10, 30), 8.4), calibration)
    card = passing_card()
    seven = next(ch for ch in card.chapters if ch.number == 7)
    chapters = tuple(dataclasses.replace(ch, run=dataclasses.replace(ch.run, training_cpu=9.2)) if ch is seven else ch
                     for ch in card.chapters)
    labels = dict(index_page(dataclasses.replace(card, chapters=chapters, training=(record,))).provenance.items)
    assert labels["Chapter 7 training budget"] == ("84 s of CPU (10× the reference's 8.4 s on this machine; "
                                                   "course.yaml: 10x (at least 30 s)), wall-clock ceiling 840 s")
    assert labels["Chapter 7 training used"] == "9.2 s of CPU, 1.1× the reference's"
    assert labels["Chapter 7 calibration"] == (
        "the reference's training, 8.4 s of CPU: median of 3 runs of 50 epochs (0.84, 0.85, 0.83 s) × 10; "
        "lab-3 · Xeon · 2 cores, Python 3.11.7, bwrap sandbox; measured 2026-11-22T09:00:00+00:00, reused")
    assert not any(label.startswith("Chapter 7") for label, _ in index_page(card).provenance.items)


def test_scores_show_fractions_rounded_and_bars_their_share():
    card = failing_card()
    page = chapter_page(card, chapter_of(card, 1))
    assert page.score == "5.67" and page.bar.percent == 56.7 and page.bar.label == "5.67 of 10 points"


# --- chapter 5: the gradient check -------------------------------------------------------

def test_the_gradient_check_picture_shows_which_gradients_are_off_and_by_how_much():
    card = failing_card()
    figure = chapter_page(card, chapter_of(card, 5)).figures.gradcheck
    failed = {(r.case, r.layer, r.kind): r for r in figure.rows if not r.passed}
    assert set(failed) == {("sigmoid→linear", 2, "weights"), ("relu→sigmoid", 1, "biases"),
                           ("relu→sigmoid", 2, "biases"), ("sigmoid→linear", 1, "biases"),
                           ("linear→relu", 2, "biases")}
    assert figure.failed == 5 and figure.summary.startswith("5 of 18 gradient checks are off")
    assert failed[("relu→sigmoid", 1, "biases")].ratio == "5,000× the tolerance"
    assert [c.kind for c in figure.columns] == ["weights", "biases", "inputs"]
    assert figure.tolerance == "1.0 × 10⁻⁴"
    # the hidden criterion's data is not drawn
    assert all("SECRET" not in r.case for r in figure.rows)


def test_the_log_axis_places_zero_nan_and_infinity_on_its_edges_with_a_label():
    checks = [{"case": "c", "layer": 0, "kind": "weights", "worst_error": value, "tolerance": 1e-4,
               "passed": value == 0.0} for value in (0.0, math.nan, math.inf)]
    checks = [dict(check, layer=i) for i, check in enumerate(checks)]
    rows = gradcheck_figure(checks).rows
    zero, nan, inf = rows
    assert (zero.clamp, zero.x, zero.error) == ("0", zero.left, "0")
    assert (nan.clamp, nan.x, nan.error, nan.ratio) == ("NaN", nan.right, "NaN", "not a number")
    assert (inf.clamp, inf.x, inf.error) == ("∞", inf.right, "∞")
    assert [r.passed for r in rows] == [True, False, False]


def test_the_log_axis_puts_an_error_left_of_the_tolerance_exactly_when_it_passes():
    checks = [{"case": "c", "layer": i, "kind": "biases", "worst_error": e, "tolerance": 1e-4}
              for i, e in enumerate([1e-9, 3e-5, 2e-4, 0.5, 40.0])]
    figure = gradcheck_figure(checks)
    for row in figure.rows:    # no "passed" recorded: it is worked out from the tolerance
        assert (row.x < row.tolerance_x) == row.passed
        assert row.left <= row.x <= row.right and row.clamp == ""
    assert "10⁻⁴" in [t.label for t in figure.columns[0].ticks]


def test_repeated_checks_keep_the_worst_and_malformed_ones_are_ignored():
    checks = [{"case": "c", "layer": 0, "kind": "inputs", "worst_error": 1e-9, "tolerance": 1e-4},
              {"case": "c", "layer": 0, "kind": "inputs", "worst_error": 0.2, "tolerance": 1e-4},
              {"case": "c", "layer": 0, "kind": "gradients?", "worst_error": 1.0},
              "not a dict", None]
    figure = gradcheck_figure(checks)
    assert len(figure.rows) == 1 and figure.rows[0].error == "0.2" and not figure.rows[0].passed
    assert gradcheck_figure([]) is None and gradcheck_figure(["junk"]) is None


def test_small_numbers_are_written_for_people():
    assert small_number(2.5e-10) == "2.5 × 10⁻¹⁰"
    assert small_number(0.85) == "0.85" and small_number(1.0) == "1"
    assert small_number(math.nan) == "NaN" and small_number(math.inf) == "∞" and small_number(0.0) == "0"


# --- chapters 6 and 7: loss and letters --------------------------------------------------

def test_the_loss_curve_breaks_where_the_loss_stops_being_a_number():
    figure = loss_figure([[0.7, 0.6, 0.5, math.nan, math.nan]])
    (curve,) = figure.curves
    assert len(curve.segments) == 1 and len(curve.segments[0].split()) == 3
    assert figure.breaks and figure.breaks[0].label == "NaN from epoch 4"
    assert "training diverged" in figure.summary


def test_a_long_loss_curve_is_thinned_but_keeps_its_ends_and_spikes():
    losses = [1.0 / (e + 1) for e in range(500)]
    losses[250] = 5.0
    figure = loss_figure([losses])
    points = figure.curves[0].segments[0].split()
    assert len(points) <= 330
    ys = [float(p.split(",")[1]) for p in points]
    assert min(ys) == pytest.approx(figure.top, abs=40)   # the spike reaches near the top
    assert points[0].startswith(f"{figure.left},") and points[-1].startswith(f"{figure.right},")
    assert figure.x_ticks[0].label == "1" and figure.x_ticks[-1].label == "500"
    assert figure.summary.startswith("The loss went from 1 (epoch 1) to 0.002 (epoch 500)")


def test_a_loss_that_does_not_go_down_is_said_so():
    assert "did not go down" in loss_figure([[0.5, 0.6, 0.7]]).summary
    assert loss_figure([]) is None and loss_figure([[]]) is None


def test_nice_ticks():
    assert nice_ticks(3.4, 4) == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert nice_ticks(0.74, 4) == [0.0, 0.2, 0.4, 0.6, 0.8]
    assert nice_ticks(500, 5) == [0.0, 100.0, 200.0, 300.0, 400.0, 500.0]


def test_the_letter_grid_marks_each_letter_right_or_wrong_with_its_confidence():
    card = failing_card()
    grid = chapter_page(card, chapter_of(card, 7)).figures.letters
    assert (grid.right, grid.total) == (22, 26)
    wrong = {c.letter: c for c in grid.cells if not c.correct}
    assert set(wrong) == {"e", "q", "x", "z"}
    assert wrong["e"].predicted == "c" and wrong["e"].mark.word == "failed" and wrong["e"].confidence == "43%"
    assert wrong["x"].predicted == "<…"   # a long answer is cut to fit its square
    assert grid.summary.startswith("22 of 26 letters named right (accuracy 84.6%); wrong: e → c")
    assert all(0 <= c.bar <= grid.bar_width for c in grid.cells)


def test_the_letter_grid_survives_odd_values():
    grid = letter_grid([[{"letter": "a", "predicted": None, "correct": "yes", "confidence": "high"},
                         {"letter": "b", "predicted": "b", "correct": True, "confidence": 7.0}]], [math.nan])
    first, second = grid.cells
    assert not first.correct and first.confidence == "—" and first.bar == 0
    assert second.confidence == "100%" and second.bar == grid.bar_width
    assert letter_grid([], []) is None


def test_figures_come_only_from_visible_criteria():
    card = failing_card()
    ch5 = chapter_of(card, 5)
    hidden_only = dataclasses.replace(ch5, criteria=tuple(c for c in ch5.criteria if c.visibility == "hidden"))
    assert not chapter_page(card, hidden_only).figures
