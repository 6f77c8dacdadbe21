"""A call of a student's function or method is one request, not a lookup and then a call, and
behaves exactly as the two would (grader/remote.py: Method; grader/sandbox/worker.py:
callable_names)."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.remote import Method, NotData, Remote, Session, StudentModule, StudentRaised
from grader.sandbox.channel import Channel, WorkerSpec

CHAPTER = b'''
class Meta(type):
    def __hash__(cls):
        print("the metaclass ran")
        return 1

class Layer(metaclass=Meta):
    def __init__(self):
        self.size = 3
    def forward(self, x):
        return [v * self.size for v in x]
    def drop(self):
        del Layer.forward

def make():
    return Layer()

def apply(function, x):
    return function(x)

def shadowed():
    layer = Layer()
    layer.forward = lambda x: "the instance's own"
    return layer
'''


@pytest.fixture
def chapter(tmp_path):
    folder = tmp_path / "worker"
    folder.mkdir()
    spec = WorkerSpec(workdir=folder, student_files=("chapter.py",), tier="process", cpu_seconds=30,
                      memory_bytes=512 << 20, files=(("chapter.py", CHAPTER),))
    session = Session(spec, "chapter", request_timeout=10, chapter_timeout=60, output_bytes=4096)
    requests: list[str] = []
    original = Channel.request

    def counted(channel, message, timeout, cpu_limit=None):
        requests.append(message["op"])
        return original(channel, message, timeout, cpu_limit)

    Channel.request = counted
    try:
        yield StudentModule(session), session, requests
    finally:
        Channel.request = original
        session.close()


def test_a_method_call_is_one_request(chapter):
    student, _, requests = chapter
    layer = student.make()
    requests.clear()
    assert layer.forward([1, 2]) == [3, 6]
    assert student.apply is not None and requests == ["call"]   # nothing sent for the lookup alone
    assert layer.size == 3 and requests == ["call", "getattr"]  # data is still looked up


def test_it_finds_what_a_lookup_would_find(chapter):
    student, _, _ = chapter
    assert student.shadowed().forward([1]) == "the instance's own"
    layer = student.make()
    layer.drop()
    with pytest.raises(StudentRaised, match="AttributeError"):
        layer.forward([1])


def test_used_as_a_value_it_is_looked_up_first(chapter):
    student, _, _ = chapter
    forward = student.make().forward
    assert isinstance(forward, Method) and isinstance(forward, Remote)
    assert student.apply(forward, [2]) == [6]        # passed to the student's code: the bound method
    assert forward._type == "method" and forward._handle is not None
    with pytest.raises(NotData):
        bool(forward)


def test_naming_a_class_runs_none_of_its_code(chapter):
    student, session, _ = chapter
    student.make()
    student.make().forward([1])
    assert b"the metaclass ran" not in session.stdout.data
