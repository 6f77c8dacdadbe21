"""Student releases (grader/release/): the record/replay machinery on a small made-up reference,
then one fresh release of this course (tests/release_support.py), which must grade every fixture
submission exactly as this tree does, contain no reference source, and fail loudly where its
recorded answers have a gap."""

from __future__ import annotations

import ast
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from grader.course import load_course
from grader.errors import CourseError
from grader.mistakes.local import LocalSession, load_chapter
from grader.release.build import Ran, compare, verify_release
from grader.release.plan import Grading
from grader.release.record import LiveAnswerer, Recorder
from grader.release.replay import ReplayAnswerer, StudentFallback
from grader.release.space import ReferenceRaised, Space, UnrecordedQuestion
from grader.release.tree import release_course_text
from grader.release.values import dumps, from_wire, question_key, to_wire
from release_support import CHAPTER_ONE_ONLY, fresh_release
from submissions import ROOT, assemble

# --- a small made-up reference: chapter 1 has Counter, chapter 2 (the one graded) has Pair ------


class Counter:
    def __init__(self, start=0):
        self.value = start
        self.history = []

    def add(self, amount):
        self.value += amount
        self.history.append(amount)
        return self.value

    def parts(self):
        return [Part(self, 0), Part(self, 1)]

    def fail(self):
        raise ValueError("no such thing")


class Part:
    def __init__(self, owner, index):
        self.owner, self.index = owner, index

    def bump(self):
        return self.owner.add(self.index + 1)


class Pair:
    def __init__(self, left, right):
        self.left, self.right = left, right

    def total(self):
        return self.left.value + self.right.value


def odd_values():
    return {"tuple": (1, 2.5), "nan": math.nan, "inf": -math.inf, "minus zero": -0.0, "third": 0.1 + 0.2,
            3: [True, None, "text"]}


def noisy():
    return random.random()


NAMESPACE = {"Counter": Counter, "Pair": Pair, "odd_values": odd_values, "noisy": noisy}
HOMES = {"Counter": 1, "Pair": 2, "odd_values": 1, "noisy": 1}


def recording(keeper: Recorder):
    return Space(2, NAMESPACE, LiveAnswerer(keeper, NAMESPACE)).namespace


def replaying(keeper: Recorder, open_session=None):
    def refuse(module):
        raise AssertionError(f"no worker may be started here (asked for {module})")
    fallback = StudentFallback(2, HOMES, {1: "earlier"}, open_session or refuse)
    return Space(2, dict.fromkeys(HOMES), ReplayAnswerer(keeper.answers, fallback)).namespace


def story(ref):
    """A test's worth of questions: objects made, changed through each other, merged, read."""
    counter = ref.Counter(5)
    seen = [counter.add(2), counter.value, counter.history]
    parts = counter.parts()
    seen.append(parts[1].bump())         # changes `counter` through one of its parts
    seen.append(counter.value)
    other = ref.Counter(5)               # the same question as `counter`'s creation: an object of its own
    seen.append(other.value)
    pair = ref.Pair(counter, other)      # their families meet
    other.add(1)
    seen.append(pair.total())
    seen.append(ref.odd_values())
    return seen


def same(a, b):
    """Equal, and of the same types and float bits all the way down (NaN included)."""
    return dumps(to_wire(a, repr)) == dumps(to_wire(b, repr))


def test_replay_answers_every_recorded_question_exactly():
    keeper = Recorder()
    recorded = story(recording(keeper))
    assert recorded[:6] == [7, 7, [2], 9, 9, 5] and recorded[6] == 15
    assert not keeper.problems
    replayed = story(replaying(keeper))
    assert same(replayed, recorded)
    odd = replayed[-1]
    assert type(odd["tuple"]) is tuple and math.isnan(odd["nan"]) and math.copysign(1, odd["minus zero"]) < 0
    assert odd["third"] == 0.1 + 0.2 and odd[3] == [True, None, "text"]


def test_a_question_is_keyed_by_its_familys_history_not_by_what_else_happened():
    keeper = Recorder()
    ref = recording(keeper)
    ref.Counter(1).add(1)                # unrelated objects first
    counter = ref.Counter(5)
    counter.add(2)
    assert replaying(keeper).Counter(5).add(2) == 7  # asked without the unrelated history: same key
    counter.add(2)
    assert counter.history == [2, 2]
    again = replaying(keeper).Counter(5)
    again.add(2)
    assert again.add(2) == 9 and again.history == [2, 2]


def test_an_unrecorded_question_is_an_error_never_an_answer():
    keeper = Recorder()
    story(recording(keeper))
    ref = replaying(keeper)
    counter = ref.Counter(5)
    with pytest.raises(UnrecordedQuestion, match=r"no recorded answer to `Pair\(.*test_release.py::"):
        ref.Pair(counter, counter)       # the graded chapter's class: never answered by the student
    assert not issubclass(UnrecordedQuestion, (AssertionError, ReferenceRaised))


def test_exceptions_and_missing_attributes_replay_as_they_were_raised():
    keeper = Recorder()
    ref = recording(keeper)
    counter = ref.Counter(0)
    with pytest.raises(ValueError, match="no such thing"):
        counter.fail()
    assert getattr(counter, "missing", "default") == "default"
    replayed = replaying(keeper).Counter(0)
    with pytest.raises(ValueError, match="no such thing") as raised:
        replayed.fail()
    assert type(raised.value).__name__ == "ValueError"
    assert getattr(replayed, "missing", "default") == "default"


def test_answers_are_copies_both_ways():
    keeper = Recorder()
    ref = recording(keeper)
    counter = ref.Counter(0)
    history = counter.history
    history.append("changed by the test")
    assert counter.history == []
    given = [1, 2]
    pair = ref.Pair(ref.Counter(given), counter)
    given.append(3)                      # the reference kept a copy, as a worker would
    assert pair.left.value == [1, 2]


def test_a_reference_that_answers_one_question_two_ways_stops_the_recording():
    keeper = Recorder()
    ref = recording(keeper)
    ref.noisy()
    ref.noisy()
    assert keeper.problems and "answered the same question twice differently" in keeper.problems[0]


def test_values_keep_their_exact_types_and_keys_tell_them_apart():
    value = [1, 1.0, True, None, "1", (1,), {1: 1.0}, 1e-320, -0.0, math.inf]
    assert same(from_wire(json.loads(dumps(to_wire(value, repr))), None), value)
    keys = {question_key("c", "t", "call", "f", dumps(to_wire([v], repr))) for v in (1, 1.0, True, "1", (1,), [1])}
    assert len(keys) == 6


EARLIER = textwrap.dedent("""
    class Counter:  # the student's own chapter 1: counts in tens
        def __init__(self, start=0):
            self.value = start * 10
        def add(self, amount):
            self.value += amount * 10
            return self.value
""")


def test_a_judges_computation_on_the_students_data_falls_back_to_their_earlier_chapter():
    """An unrecorded question about a chapter-1 object, asked while grading chapter 2, is answered
    by the student's own chapter 1 (the release grades integrated); chapter 2's own class never is."""
    opened = []

    def open_session(module):
        opened.append(module)
        return LocalSession(lambda: load_chapter(EARLIER, file="earlier.py", module=module, reference=Path("."),
                                                 label="student"), module=module, file="earlier.py",
                            request_timeout=2, budget=10)

    ref = replaying(Recorder(), open_session)
    counter = ref.Counter(3)
    assert counter.add(1) == 40 and counter.value == 40
    assert opened == ["earlier"]
    with pytest.raises(UnrecordedQuestion):
        ref.Pair(counter, counter).total()


def test_the_release_course_yaml_has_no_mistakes_and_no_reference():
    text = release_course_text((ROOT / "course.yaml").read_text(), "course.yaml")
    assert "\nmistakes:" not in text and "\nreference:" not in text and "replace:" not in text
    assert "exercises: exercises\n" in text and "seed: 20261122\n" in text


def test_compare_names_unrecorded_questions_and_differing_criteria():
    def ran(status, unrecorded=()):
        results = {"chapters": [{"number": 3, "status": "graded", "criteria": [
            {"id": "ch3-network", "status": status, "score": 5 if status == "passed" else 0, "message": ""}]}]}
        return Ran(Grading("reference", (3,), "reference"), 1, results, "", 1.0, {"unrecorded": list(unrecorded)})
    assert compare(ran("passed"), ran("passed")) == []
    problems = compare(ran("passed"), ran("error", ["no recorded answer to `Network(...)` (test_x)"]))
    assert problems[0] == "reference: no recorded answer to `Network(...)` (test_x)"
    assert "ch3-network: this tree passed (5 points), the release error (0 points)" in problems[1]


# --- one fresh release of this course --------------------------------------------------------


@pytest.fixture(scope="module")
def release():
    return fresh_release()


def release_grade(release, *args: str, report: Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """`grade ARGS` run with the release's own grader, from inside the release."""
    env = {**os.environ, "PYTHONPATH": str(release.root), "NO_COLOR": "1"}
    env.pop("GITHUB_STEP_SUMMARY", None)
    return subprocess.run([sys.executable, "-m", "grader", *args, "--report-dir", str(report)], cwd=cwd or release.root,
                          env=env, capture_output=True, text=True, timeout=600)


def criteria(results: dict) -> dict[str, tuple[str, float]]:
    return {c["id"]: (c["status"], c["score"]) for ch in results["chapters"] for c in ch["criteria"]}


def test_the_release_grades_every_fixture_as_this_tree_does_criterion_by_criterion(release):
    """Each pair is the same `grade chapter ...` on one submission: in this tree (--integrated,
    the real reference) and in the release (the oracle). The fixtures were not recorded from."""
    runs = {mine.grading.name: (mine, theirs) for mine, theirs in release.summary.runs}
    fixtures = {p.name for p in release.submissions.iterdir()}
    assert {f"check: {name}" for name in fixtures} <= runs.keys() and len(fixtures) >= 13
    for name, (mine, theirs) in runs.items():
        assert mine.results and theirs.results, (name, mine.stderr, theirs.stderr)
        assert criteria(theirs.results) == criteria(mine.results), name
        assert not theirs.notes["unrecorded"], name
        assert theirs.results["integrated"] is True and theirs.results["seed"] == mine.results["seed"]
    reference = runs["reference"][1].results
    assert reference["score"] == reference["max_score"] == 100
    assert {c["status"] for ch in reference["chapters"] for c in ch["criteria"]} == {"passed"}
    some_failed = {c["status"] for _, theirs in runs.values() for c in theirs.results["chapters"][0]["criteria"]}
    assert {"passed", "failed", "error"} <= some_failed


def test_a_fixture_graded_on_chapter_one_scores_the_same_in_the_release(release, tmp_path):
    for name in CHAPTER_ONE_ONLY:
        folder = assemble(name, tmp_path)
        mine = subprocess.run([sys.executable, "-m", "grader", "chapter", "1", "--integrated", "--course",
                               str(release.course), "--submission", str(folder), "--report-dir", str(tmp_path / "a")],
                              capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"}, timeout=300)
        theirs = release_grade(release, "chapter", "1", "--submission", str(folder), report=tmp_path / "b")
        assert mine.returncode == theirs.returncode == 1, (mine.stderr, theirs.stderr)
        assert criteria(json.loads((tmp_path / "b" / "results.json").read_text())) == \
            criteria(json.loads((tmp_path / "a" / "results.json").read_text()))


def reference_bodies() -> list[tuple[str, tuple[str, ...]]]:
    """(name, its statements with whitespace removed) of every function body of the reference that
    students write: those of the starters (the constructors given to students) do not count. A
    body counts as present in a file when all of its statements are (comments may sit between)."""
    def bodies(path: Path) -> list[tuple[str, tuple[str, ...]]]:
        found = []
        source = path.read_text()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                statements = node.body[1:] if ast.get_docstring(node) else node.body
                found.append((f"{path.name}:{node.lineno}:{node.name}",
                              tuple(squeeze(ast.get_source_segment(source, s)) for s in statements)))
        return found
    given = {body for path in (ROOT / "exercises").glob("0*.py") for _, body in bodies(path)}
    return [(name, body) for path in sorted((ROOT / "reference").glob("0*.py"))
            for name, body in bodies(path) if body not in given and len("".join(body)) >= 15]


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def holds(text: str, body: tuple[str, ...]) -> bool:
    return all(statement in text for statement in body)


def test_the_release_contains_no_reference_source(release):
    bodies = reference_bodies()
    everything = squeeze("".join(p.read_text() for p in (ROOT / "reference").glob("0*.py")))
    assert len(bodies) >= 30 and all(holds(everything, body) for _, body in bodies)  # the search finds them there
    files = [p for p in release.root.rglob("*") if p.is_file()]
    assert not [p for p in files if p.suffix in (".pyc", ".pyo", ".pickle", ".pkl", ".marshal")]
    assert not [p for p in release.root.rglob("*") if p.name in ("reference", "__pycache__")]
    reference_files = {p.read_bytes() for p in (ROOT / "reference").glob("0*.py")}
    leaked = []
    for path in files:
        data = path.read_bytes()
        assert data not in reference_files, path
        # pickle streams start with PROTO (0x80); marshalled code objects with TYPE_CODE ('c' | 0x80)
        assert not data.startswith((b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05", b"\xe3")), path
        text = squeeze(data.decode("utf-8", errors="replace"))
        leaked += [f"{path.relative_to(release.root)} holds {name}" for name, body in bodies if holds(text, body)]
        if path.suffix == ".py":  # code may compile a string, but not one holding a chapter's body
            # The one exception: the worker installs the sealed chapters a judge sends it over its
            # pipe; a release has none to send (its reference source seals nothing).
            allowed = path == release.root / "grader" / "sandbox" / "worker.py"
            assert allowed or "marshal.loads" not in data.decode(), path
            assert "pickle.loads" not in data.decode(), path
    assert not leaked
    instructors_bank = squeeze((ROOT / "grader" / "mistakes" / "bank.yaml").read_text())
    assert any(holds(instructors_bank, body) for _, body in bodies)  # what the release must not ship
    assert "mistakes: []" in (release.root / "grader" / "mistakes" / "bank.yaml").read_text()
    course = load_course(release.root / "course.yaml")
    assert not course.mistakes and not course.reference.exists()


def test_the_oracle_is_data_kept_to_what_the_tests_ask(release):
    oracle = json.loads((release.root / "oracle" / "oracle.json").read_text())
    assert set(oracle) == {"format", "course", "grader_version", "seed", "hidden_tests", "names", "answers"}
    assert all(re.fullmatch(r"[0-9a-f]{24}", key) for key in oracle["answers"])  # no question in clear
    strings = set()

    def walk(value):
        if type(value) is str:
            strings.add(value)
        elif type(value) is list:
            for v in value:
                walk(v)
        elif type(value) is dict:
            for v in value.values():
                walk(v)
    walk(oracle["answers"])
    assert all(len(s) < 40 and "\n" not in s for s in strings), sorted(strings, key=len)[-3:]
    size = (release.root / "oracle" / "oracle.json").stat().st_size
    assert size < 1_000_000 and release.summary.oracle_bytes == size


def test_a_gap_in_the_oracle_fails_the_release_step_naming_the_test(release, tmp_path):
    """Remove the answers chapter 3's tests need: the verification the release step runs names the
    test, and a student's grading ends those checks as errors, never as passes."""
    copy = tmp_path / "release"
    shutil.copytree(release.root, copy)
    path = copy / "oracle" / "oracle.json"
    oracle = json.loads(path.read_text())
    recorded = next(mine for mine, _ in release.summary.runs if mine.grading.name == "reference")
    wanted = {key for key, test in recorded.notes["asked_by"].items() if test.startswith("test_ch03_forward.py")}
    oracle["answers"] = {k: v for k, v in oracle["answers"].items() if k not in wanted}
    path.write_text(json.dumps(oracle))
    chapter_3 = {**recorded.results, "chapters": [ch for ch in recorded.results["chapters"] if ch["number"] == 3]}
    reference = Ran(Grading("reference", (3,), "reference"), recorded.code, chapter_3, "", 0.0, recorded.notes)
    problems, released = verify_release(copy, [reference], [ROOT / "reference"], tmp_path, jobs=1)
    assert problems and any("test_ch03_forward.py::test_layer_forward" in p for p in problems), problems
    statuses = {c["status"] for c in released[0].results["chapters"][0]["criteria"] if c["max_score"]}
    assert statuses == {"error"}


def test_a_release_refuses_another_seed_and_other_hidden_tests(release, tmp_path):
    done = release_grade(release, "chapter", "1", "--seed", "7", report=tmp_path / "r")
    assert done.returncode == 2 and "--seed 7 cannot be used here: this is a student release" in done.stderr
    assert "Traceback" not in done.stderr
    copy = tmp_path / "release"
    shutil.copytree(release.root, copy)
    hidden = copy / "grader" / "hidden" / "test_ch01_math.py"
    hidden.write_text(hidden.read_text() + "\n# changed\n")
    done = subprocess.run([sys.executable, "-m", "grader", "chapter", "1", "--report-dir", str(tmp_path / "s")],
                          cwd=copy, env={**os.environ, "PYTHONPATH": str(copy)}, capture_output=True, text=True)
    assert done.returncode == 2 and "hidden tests" in done.stderr and "recorded" in done.stderr


def test_the_release_grades_on_its_own_and_its_smoke_test_passes(release, tmp_path):
    """What `make test` runs, then `grade chapter 5`, from the release alone."""
    env = {**os.environ, "PYTHONPATH": str(release.root), "NO_COLOR": "1"}
    smoke = subprocess.run([sys.executable, "-m", "grader.release.smoke"], cwd=release.root, env=env,
                           capture_output=True, text=True, timeout=300)
    assert smoke.returncode == 0, smoke.stderr
    assert "graded the untouched starters as expected" in smoke.stdout
    graded = release_grade(release, "chapter", "5", report=tmp_path / "r")
    assert graded.returncode == 1 and "not implemented yet" in graded.stdout  # the starters in exercises/
    results = json.loads((tmp_path / "r" / "results.json").read_text())
    assert results["integrated"] is True
    assert results["chapters"][0]["files"] == {name: "student" for name in results["chapters"][0]["files"]}


def test_grade_release_refuses_a_folder_in_use_and_a_release(release, tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file").write_text("x")
    done = subprocess.run([sys.executable, "-m", "grader", "release", str(tmp_path / "taken")], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 2 and "exists and is not an empty folder" in done.stderr
    done = subprocess.run([sys.executable, "-m", "grader", "release", str(tmp_path / "again")], cwd=release.root,
                          env={**os.environ, "PYTHONPATH": str(release.root)}, capture_output=True, text=True)
    assert done.returncode == 2 and "belongs to a student release" in done.stderr
    assert not (tmp_path / "again").exists()


def test_grade_selftest_in_a_release_checks_what_the_release_holds(release, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(release.root), "NO_COLOR": "1"}
    done = subprocess.run([sys.executable, "-m", "grader", "selftest", "--report-dir", str(tmp_path / "s")],
                          cwd=release.root, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("This is a student release: it has no reference solutions or mistake bank")
    assert lines[1].startswith("ok: the grader works here; it graded the untouched starters as expected (7 chapters")
    (tmp_path / "broken").mkdir()          # a starter that no longer imports: the check says so and fails
    copy = tmp_path / "broken" / "release"
    shutil.copytree(release.root, copy)
    starter = copy / "oracle" / "starters" / "01_math_foundations.py"
    starter.write_text("def broken(:\n")
    done = subprocess.run([sys.executable, "-m", "grader", "selftest"], cwd=copy, capture_output=True, text=True,
                          env={**env, "PYTHONPATH": str(copy)}, timeout=300)
    assert done.returncode == 1 and "ch1-imports: a starter must pass this check" in done.stderr


def test_run_selftest_refuses_a_release_in_one_line(release, tmp_path):
    from grader.errors import UsageError
    from grader.selftest import run_selftest
    with pytest.raises(UsageError, match=r"^grade selftest proves the rubric with the instructor's reference") as error:
        run_selftest(course=load_course(release.root / "course.yaml"), report_dir=tmp_path)
    assert "\n" not in str(error.value)


def test_the_release_holds_both_workflows(release):
    assert {".github/workflows/grade.yml", ".github/workflows/classroom.yml"} <= set(release.summary.contents)
    assert (release.root / ".github" / "workflows" / "classroom.yml").is_file()


def test_a_release_with_the_bank_is_what_grade_release_makes_by_default():
    from grader.release.plan import plan_gradings
    from grader.mistakes import load_bank
    course = load_course(ROOT / "course.yaml")
    plan = plan_gradings(course, load_bank(course))
    names = [g.name for g in plan]
    assert names[0] == "reference" and "starters" in names
    assert sum(n.startswith("bank: ") for n in names) == len(load_bank(course).mistakes)
    assert all(g.record for g in plan)
    with pytest.raises(CourseError):
        from grader.release.build import merge_recordings
        merge_recordings(course, [Ran(plan[0], 3, None, "boom", 0.0, {})])
