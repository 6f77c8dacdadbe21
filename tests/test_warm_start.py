"""Workers that start before they are needed: the compiled worker program, chapter files sent
over the request pipe, and the standby pool `grade watch` keeps (grader/sandbox/standby.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from grader.remote import Session, StudentModule, StudentRaised
from grader.sandbox import tiers
from grader.sandbox.channel import WorkerSpec
from grader.sandbox.standby import Standby

CHAPTER = b"print('imported')\n\ndef double(x):\n    return 2 * x\n\ndef fail():\n    raise ValueError('no')\n"


def spec(folder: Path, **changes) -> WorkerSpec:
    fields = dict(workdir=folder, student_files=("chapter.py",), tier="process", cpu_seconds=30,
                  memory_bytes=512 << 20, files=(("chapter.py", CHAPTER),))
    return WorkerSpec(**{**fields, **changes})


def session(folder: Path, standby: Standby | None = None) -> Session:
    return Session(spec(folder), "chapter", request_timeout=10, chapter_timeout=60, output_bytes=4096,
                   standby=standby)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    tiers.worker_program.cache_clear()
    yield tmp_path / "cache" / "mlp-grader"
    tiers.worker_program.cache_clear()


def test_the_worker_runs_compiled_from_a_private_cache(cache):
    program = tiers.worker_program()
    assert program.parent == cache and program.suffix == ".pyc"
    assert program.read_bytes()[:4] == __import__("importlib.util").util.MAGIC_NUMBER


def test_a_cache_others_may_write_is_not_used(cache):
    cache.mkdir(parents=True)
    cache.chmod(0o777)
    assert tiers.worker_program() == tiers.WORKER_SCRIPT


def test_the_chapter_file_arrives_over_the_pipe(tmp_path):
    folder = tmp_path / "worker"
    folder.mkdir()   # empty: the worker writes the file itself
    student = session(folder)
    try:
        assert StudentModule(student).double(21) == 42
        assert student.stdout.data == b"imported\n"
        with pytest.raises(StudentRaised) as raised:
            StudentModule(student).fail()
        assert raised.value.location["file"] == "chapter.py"   # its frames are the student's
    finally:
        student.close()


def test_a_standby_worker_serves_one_session_only(tmp_path):
    pool = Standby()
    try:
        first = session(tmp_path / "a", pool)
        (tmp_path / "a").mkdir()
        assert StudentModule(first).double(1) == 2       # none was waiting: its own worker
        pool.refill()                                     # ... so one of its kind is started
        (waiting,) = pool._waiting[first.spec.launch_key]
        second = session(tmp_path / "b", pool)
        (tmp_path / "b").mkdir()
        assert StudentModule(second).double(2) == 4
        assert second.channel is waiting and second.channel is not first.channel
        assert second.stdout.data == b"imported\n"         # its output is the session's
        first.close()
        second.close()
        assert not alive(waiting.process.pid)
        pool.refill()
        (fresh,) = pool._waiting[first.spec.launch_key]
        assert fresh is not waiting and alive(fresh.process.pid)
    finally:
        pool.close()
    assert not alive(fresh.process.pid)


# --- the prepared pytest session (grader/prepared.py) -----------------------------------------

ROOT = Path(__file__).resolve().parent.parent
BUGGY = ROOT / "tests" / "fixtures" / "submissions" / "buggy-ch5-bias-gradient-skips-activation"


def criteria(card) -> list[tuple]:
    """Everything a student sees of each criterion, timings aside."""
    return [(c.id, c.status, c.score, c.message, c.call, c.expected, c.actual, c.data, c.diagnosis)
            for chapter in card.chapters for c in chapter.criteria]


@pytest.fixture(scope="module")
def course():
    from grader.course import load_course

    return load_course(ROOT / "course.yaml")


def graded(course, submission: Path, chapters: list[int]):
    from grader.grading import grade
    from grader.reference import LiveReference

    return grade(course=course, reference=LiveReference(course), submission=submission, chapters=chapters,
                 sandbox="process")


def test_gradings_in_a_prepared_session_match_fresh_ones_and_keep_nothing(course, tmp_path):
    from grader import prepared

    buggy = tmp_path / "buggy"
    buggy.mkdir()
    for chapter in (1, 5):
        name = course.chapter(chapter).file
        (buggy / name).write_bytes((BUGGY / name if (BUGGY / name).is_file() else ROOT / "reference" / name)
                                   .read_bytes())

    def three_gradings():
        assert prepared.current() is not None
        return [graded(course, buggy, [1, 5]), graded(course, ROOT / "reference", [5]), graded(course, buggy, [5, 1])]

    first, correct, again = prepared.serve(three_gradings)
    fresh = graded(course, buggy, [1, 5])
    assert prepared.current() is None
    assert criteria(first) == criteria(fresh)
    assert sorted(criteria(again)) == sorted(criteria(fresh))   # nothing recorded by the gradings between
    assert any(status != "passed" for _, status, *_ in criteria(fresh))
    assert all(status == "passed" for _, status, *_ in criteria(correct))


def test_a_prepared_session_checks_each_gradings_rubric(course):
    from dataclasses import replace

    from grader import prepared
    from grader.errors import CourseError

    dropped = course.chapter(1).criteria[-1]
    broken = replace(course, chapters=tuple(replace(ch, criteria=ch.criteria[:-1]) if ch.number == 1 else ch
                                            for ch in course.chapters))

    def broken_then_whole():
        with pytest.raises(CourseError, match=f"names '{dropped.id}', which is not a criterion of chapter 1"):
            graded(broken, ROOT / "reference", [1])
        return graded(course, ROOT / "reference", [1])

    card = prepared.serve(broken_then_whole)
    assert all(status == "passed" for _, status, *_ in criteria(card))
