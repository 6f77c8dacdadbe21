"""Replayed rows kept between gradings (grader/mistakes/rows.py): what is stored, what is never
stored, what makes a stored row unusable, and the real `grade` command diagnosing alike with no
rows and with the rows its first run left, replaying nothing the second time."""

from __future__ import annotations

import json

import pytest

from grader.course import load_course
from grader.diagnosis import signature
from grader.mistakes.rows import Sequence, course_key, open_rows, save
from submissions import ROOT, grade

PASSED, WRONG = signature("passed"), signature("failed", "expected 1, got 2", "f()", "1", "2")
TIMEOUT = signature("timeout", "f() did not finish within 2 s")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "mlp-grader"


def sequence(*nodeids: str, chapter: int = 1, key: str = "k") -> Sequence:
    return Sequence(key, chapter, nodeids or ("t1", "t2", "t3"))


def test_a_row_stops_before_its_first_timeout_and_only_a_longer_row_replaces_one(cache):
    stored = open_rows(sequence())
    stored.put("mutant:a", [PASSED, TIMEOUT, WRONG])    # how long a test takes depends on the machine's load
    stored.put("mutant:b", [PASSED, WRONG, WRONG])
    stored.put("mutant:b", [PASSED])
    assert stored.get("mutant:a") == (PASSED,) and stored.get("mutant:b") == (PASSED, WRONG, WRONG)
    assert stored.complete(stored.get("mutant:b")) and not stored.complete(stored.get("mutant:a"))


def test_two_judges_extend_one_file_and_the_longer_row_of_each_candidate_wins(cache):
    first, second = open_rows(sequence()), open_rows(sequence())
    first.put("mutant:a", [PASSED, WRONG])
    second.put("mutant:a", [PASSED])
    second.put("bank:m", [WRONG])
    save(first)
    save(second)
    again = open_rows(sequence())
    assert again.get("mutant:a") == (PASSED, WRONG) and again.get("bank:m") == (WRONG,)
    assert [p.name for p in cache.iterdir() if p.suffix == ".json"] == [f"diagnosis-{sequence().key[:32]}.json"]


def test_rows_of_another_course_key_test_order_or_chapter_are_not_read(cache):
    stored = open_rows(sequence())
    stored.put("mutant:a", [PASSED, WRONG, WRONG])
    save(stored)
    for other in (sequence(key="changed"), sequence("t2", "t1", "t3"), sequence(chapter=2)):
        assert open_rows(other).get("mutant:a") == ()
    # a file whose key does not match its name (copied, damaged) is not trusted either
    path = next(cache.glob("diagnosis-*.json"))
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "key": "0" * 64}))
    assert open_rows(sequence()).get("mutant:a") == ()


def test_an_unwritable_cache_folder_costs_replays_not_the_grading(tmp_path, monkeypatch):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    stored = open_rows(sequence())
    stored.put("mutant:a", [PASSED])
    save(stored)                                         # nothing to write to: nothing written, no error
    assert stored.path is None and stored.get("mutant:a") == (PASSED,)


def test_the_course_key_follows_the_seed_and_the_reference(tmp_path):
    course = load_course(ROOT / "course.yaml")
    assert course_key(course, 1) == course_key(course, 1) != course_key(course, 2)
    copy = tmp_path / "reference"
    copy.mkdir()
    for path in course.reference.glob("*.py"):
        (copy / path.name).write_text(path.read_text())
    text = (ROOT / "course.yaml").read_text().replace("reference: reference", f"reference: {copy}")
    (tmp_path / "course.yaml").write_text(text.replace("exercises: exercises", f"exercises: {ROOT / 'exercises'}"))
    copied = load_course(tmp_path / "course.yaml")
    before = course_key(copied, 1)
    (copy / "01_math_foundations.py").write_text((copy / "01_math_foundations.py").read_text() + "\n# edited\n")
    assert course_key(copied, 1) != before


NEURON_WITHOUT_BIAS = ("self.z = dot_product(self.weights, inputs) + self.bias", "self.z = dot_product(self.weights, inputs)")


def test_a_second_grading_reads_the_rows_the_first_left_and_says_the_same(tmp_path):
    submission = tmp_path / "student"
    submission.mkdir()
    source = (ROOT / "reference" / "02_single_neuron.py").read_text()
    assert source.count(NEURON_WITHOUT_BIAS[0]) == 1
    (submission / "02_single_neuron.py").write_text(source.replace(*NEURON_WITHOUT_BIAS))
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    first = grade("chapter", "2", "--submission", str(submission), report_dir=tmp_path / "r1", env=env)
    stored = sorted((tmp_path / "cache" / "mlp-grader").glob("diagnosis-*.json"))
    assert first.code == 1 and len(stored) == 1
    kept = stored[0].read_text()
    second = grade("chapter", "2", "--submission", str(submission), report_dir=tmp_path / "r2", env=env)
    said = [[c.get("diagnosis") for c in run.chapter(2)["criteria"]] for run in (first, second)]
    assert said[0] == said[1] and any(said[0])
    assert stored[0].read_text() == kept               # nothing was replayed: nothing was added
    assert not list((ROOT / "reports").glob("diagnosis-*")) and not list(ROOT.glob("diagnosis-*"))
