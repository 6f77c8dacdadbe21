"""course.yaml: the shipped rubric is valid and adds up; a broken one is refused with the file,
line and key at fault."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.budget import DEFAULT_FLOOR, Relative
from grader.course import load_course, parse_course
from grader.errors import CourseError

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def course():
    return load_course(ROOT / "course.yaml")


def test_the_course_has_seven_chapters_worth_100_points(course):
    assert [ch.number for ch in course.chapters] == [1, 2, 3, 4, 5, 6, 7]
    assert course.max_score == 100
    by_points = sorted(course.chapters, key=lambda ch: ch.max_score)
    assert {by_points[-1].number, by_points[-2].number} == {5, 7}  # the hardest carry the most


def test_every_chapter_starts_with_its_gates(course):
    for chapter in course.chapters:
        first, second = chapter.criteria[:2]
        assert (first.id, first.points) == (f"ch{chapter.number}-imports", 0)
        assert (second.id, second.depends_on) == (f"ch{chapter.number}-stdlib", first.id)


def test_chapter_dependencies_follow_the_api(course):
    assert course.closure(6) == (1, 2, 4, 5)
    assert course.closure(4) == ()
    # Chapter 7's training budget is relative to the reference's own training on the grading machine.
    assert course.chapter(7).limits.training_timeout == Relative(10.0, 30.0)
    assert course.chapter(6).limits.training_timeout == course.limits.training_timeout == 60


def text_with(replace: str, by: str) -> str:
    text = (ROOT / "course.yaml").read_text()
    assert replace in text
    return text.replace(replace, by, 1)


@pytest.mark.parametrize("old, new, expected", [
    ("        points: 2\n        partial: proportional\n        depends_on: ch1-stdlib",
     "        points: two\n        partial: proportional\n        depends_on: ch1-stdlib",
     r"course.yaml:\d+: chapters\[0\].criteria\[2\].points: expected int, got 'two'"),
    ("      - id: ch1-dot\n", "      - id: ch1-vector-ops\n", r"the id 'ch1-vector-ops' is used twice"),
    ("        partial: proportional\n        depends_on: ch1-stdlib\n        help: Build",
     "        partial: sometimes\n        depends_on: ch1-stdlib\n        help: Build",
     r"course.yaml:\d+: chapters\[0\].criteria\[2\].partial: must be one of all, proportional"),
    ("seed: 20261122", "seed: 20261122\ncolour: blue", r"course.yaml:\d+: course.colour: unknown key"),
    ("    tests: test_ch01_math.py", "    tests: test_ch01_nothing.py", r"no hidden test module 'test_ch01_nothing.py'"),
    ("        depends_on: ch1-imports\n", "        depends_on: ch1-later\n", r"'ch1-later' is not an earlier criterion"),
    ("title: MLP from scratch", "title: [unclosed", r"course.yaml:\d+: not valid YAML"),
])
def test_a_broken_rubric_names_file_line_and_key(old, new, expected):
    with pytest.raises(CourseError, match=expected):
        parse_course(text_with(old, new), ROOT / "course.yaml")


TRAINING = "      training_timeout: 10x\n      training_floor: 30\n"


@pytest.mark.parametrize("new, expected", [
    ("      training_timeout: 10 times\n", r"course.yaml:\d+: chapters\[6\].limits.training_timeout: expected "
     r"seconds or a multiple of the reference's time such as 10x, got '10 times'"),
    ("      training_timeout: 0x\n", r"course.yaml:\d+: chapters\[6\].limits.training_timeout: must be positive"),
    ("      training_timeout: -5\n", r"chapters\[6\].limits.training_timeout: must be positive"),
    ("      training_timeout: true\n", r"chapters\[6\].limits.training_timeout: expected seconds or a multiple"),
    ("      training_timeout: 150\n      training_floor: 30\n",
     r"chapters\[6\].limits.training_floor: a floor applies only to a training_timeout given as a multiple"),
    ("      training_timeout: 10x\n      training_floor: soon\n",
     r"chapters\[6\].limits.training_floor: expected float, got 'soon'"),
    ("      training_timeout: 10x\n      chapter_timeout: 3x\n", r"course.yaml:\d+: chapters\[6\].limits.chapter_timeout: "
     r"only training_timeout can be a multiple of the reference's time"),
])
def test_a_broken_training_budget_names_file_line_and_key(new, expected):
    with pytest.raises(CourseError, match=expected) as error:
        parse_course(text_with(TRAINING, new), ROOT / "course.yaml")
    line = int(str(error.value).split(":")[1])
    key = str(error.value).split(": ")[1].rsplit(".", 1)[1]
    assert text_with(TRAINING, new).splitlines()[line - 1].strip().startswith(key + ":")


def test_training_budgets_in_seconds_or_as_multiples():
    plain = parse_course(text_with(TRAINING, "      training_timeout: 150\n"), ROOT / "course.yaml")
    assert plain.chapter(7).limits.training_timeout == 150
    default_floor = parse_course(text_with(TRAINING, "      training_timeout: 2.5x\n"), ROOT / "course.yaml")
    assert default_floor.chapter(7).limits.training_timeout == Relative(2.5, DEFAULT_FLOOR)
    # A chapter inherits the course's multiple, and may change its floor alone.
    inherited = parse_course(text_with(TRAINING, "      training_floor: 5\n").replace(
        "training_timeout: 60 ", "training_timeout: 4x "), ROOT / "course.yaml")
    assert inherited.chapter(7).limits.training_timeout == Relative(4.0, 5.0)
    assert inherited.chapter(1).limits.training_timeout == Relative(4.0, DEFAULT_FLOOR)


def test_the_line_number_points_at_the_faulty_key():
    text = text_with("      - id: ch1-matmul\n        title: matrix_multiply on square and rectangular matrices\n        points: 2",
                     "      - id: ch1-matmul\n        title: matrix_multiply on square and rectangular matrices\n        points: -2")
    with pytest.raises(CourseError) as error:
        parse_course(text, ROOT / "course.yaml")
    line = int(str(error.value).split(":")[1])
    assert text.splitlines()[line - 1].strip() == "points: -2"
