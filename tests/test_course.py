"""course.yaml: the shipped rubric is valid and adds up; a broken one is refused with the file,
line and key at fault."""

from __future__ import annotations

from pathlib import Path

import pytest

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
    assert course.chapter(7).limits.training_timeout > course.limits.training_timeout


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


def test_the_line_number_points_at_the_faulty_key():
    text = text_with("      - id: ch1-matmul\n        title: matrix_multiply on square and rectangular matrices\n        points: 2",
                     "      - id: ch1-matmul\n        title: matrix_multiply on square and rectangular matrices\n        points: -2")
    with pytest.raises(CourseError) as error:
        parse_course(text, ROOT / "course.yaml")
    line = int(str(error.value).split(":")[1])
    assert text.splitlines()[line - 1].strip() == "points: -2"
