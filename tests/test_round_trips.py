"""A call of a student's function or method is one request, not a lookup and then a call, and
behaves exactly as the two would (grader/remote.py: Method; grader/sandbox/worker.py:
callable_names)."""

from __future__ import annotations

import contextlib

import pytest

from grader.remote import Method, NotData, Remote, Session, StudentCrash, StudentFault, StudentModule, StudentRaised
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

# Students' layers for support.assign (a hidden test's assignments, in one request).
ASSIGN_CHAPTER = b'''
class Dense:
    def __init__(self):
        self.weights, self.biases = [[0.0]], [0.0]

class Frozen(Dense):
    def __setattr__(self, name, value):
        if name == "biases" and hasattr(self, "biases"):
            raise AttributeError("biases are read-only here")
        super().__setattr__(name, value)

def layers():
    return [Dense(), Dense()]

def frozen():
    return Frozen()
'''


@contextlib.contextmanager
def counted_session(folder, module: str, code: bytes, request_timeout: float):
    """(the student's module, its session, the op of every request line sent) for a chapter file
    `module`.py holding `code`, on the process tier."""
    folder.mkdir()
    spec = WorkerSpec(workdir=folder, student_files=(f"{module}.py",), tier="process", cpu_seconds=30,
                      memory_bytes=512 << 20, files=((f"{module}.py", code),))
    session = Session(spec, module, request_timeout=request_timeout, chapter_timeout=60, output_bytes=4096)
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


@pytest.fixture
def chapter(tmp_path):
    with counted_session(tmp_path / "worker", "chapter", CHAPTER + ASSIGN_CHAPTER, request_timeout=10) as found:
        yield found


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


# --- chains: several requests sent at once (grader/remote.py: Chain) ------------------------------

CHAIN_CHAPTER = b'''
import time

class Net:
    def __init__(self):
        self.w = 1.0
        self.calls = 0
    def forward(self, x):
        self.calls += 1
        if x == "raise":
            raise ValueError("no good input")
        if x == "object":
            return [1.0, Net()]
        if x == "hang":
            while True:
                time.sleep(0.01)
        print("forward", x)
        return [x * self.w]
'''


@pytest.fixture
def chained(tmp_path):
    with counted_session(tmp_path / "worker", "chain", CHAIN_CHAPTER, request_timeout=1.5) as found:
        yield found


def one_at_a_time(net, steps):
    """What the same steps give as requests of their own: each answer, or the fault's (message, call)."""
    found = []
    for kind, value in steps:
        try:
            if kind == "set":
                net.w = value
                found.append(None)
            else:
                found.append(net.forward(value))
        except StudentFault as fault:
            found.append((type(fault).__name__, fault.message, fault.call, fault.location))
            break
    return found


def chained_answers(session, net, steps):
    chain = session.chain()
    for kind, value in steps:
        if kind == "set":
            chain.set(net, "w", value)
        else:
            chain.call(net.forward, value, data=True)
    found = []
    try:
        for answer in chain.run():
            found.append(answer)
    except StudentFault as fault:
        found.append((type(fault).__name__, fault.message, fault.call, fault.location))
    return found


def test_a_chain_is_one_request_and_answers_as_single_requests_would(chained):
    student, session, lines = chained
    steps = [("set", 2.0), ("call", 1.5), ("set", -1.0), ("call", 4.0)]
    net = student.Net()
    lines.clear()
    assert chained_answers(session, net, steps) == [None, [3.0], None, [-4.0]]
    assert lines == ["chain"]
    assert session.last_call == "Net.forward(4)"   # as describe_call writes it
    assert one_at_a_time(student.Net(), steps) == [None, [3.0], None, [-4.0]]
    assert session.stdout.data.decode().count("forward 1.5") == 2


def test_a_step_that_raises_is_reported_as_its_own_request_would_be_and_stops_the_chain(chained):
    student, session, _ = chained
    steps = [("set", 2.0), ("call", 1.0), ("call", "raise"), ("set", 5.0), ("call", 1.0)]
    alone, net = one_at_a_time(student.Net(), steps), student.Net()
    together = chained_answers(session, net, steps)
    assert together == alone
    kind, message, call, location = together[-1]
    assert kind == "StudentRaised" and call == "Net.forward('raise')"
    assert message.startswith("Net.forward('raise') raised ValueError: no good input at line 11 of chain.py")
    assert location["line"] == 11
    assert net.calls == 2 and net.w == 2.0   # the steps after the one that raised never ran


def test_an_object_where_data_is_needed_stops_the_chain_with_the_message_using_it_would_give(chained):
    student, session, _ = chained
    net = student.Net()
    answer = net.forward("object")
    with pytest.raises(NotData) as used:
        float(answer[1])
    steps = [("call", 1.0), ("call", "object"), ("set", 9.0), ("call", 1.0)]
    together = chained_answers(session, net, steps)
    assert together[0] == [1.0]
    assert together[1] == ("NotData", used.value.message, "Net.forward('object')", None)
    assert net.calls == 3 and net.w == 1.0   # one call above, two in the chain: it stopped at the object


def test_each_step_has_its_own_time_limit_and_a_time_out_names_the_step_that_ran(chained):
    student, session, _ = chained
    net = student.Net()
    steps = [("call", 1.0)] * 3 + [("call", "hang"), ("call", 2.0)]
    together = chained_answers(session, net, steps)
    assert together[:3] == [[1.0]] * 3
    kind, message, call, _ = together[3]
    assert kind == "StudentTimeout" and call == "Net.forward('hang')"
    assert message == "`Net.forward('hang')` did not finish within 1.5 s (an endless loop?)"
    assert student.Net().forward(3.0) == [3.0]   # a fresh worker answers the next request
    assert session.restarts == 1


def test_a_worker_that_answers_a_chain_out_of_turn_is_a_crash(chained):
    student, session, _ = chained
    net = student.Net()
    chain = session.chain()
    chain.call(net.forward, 1.0, data=True)
    chain.call(net.forward, 2.0, data=True)
    original = Channel.receive

    def skipping(channel, timeout, outgoing=b"", cpu_limit=None):
        answer = original(channel, timeout, outgoing, cpu_limit)
        if not outgoing:
            answer["step"] = 5
        return answer

    Channel.receive = skipping
    try:
        with pytest.raises(StudentCrash, match="answered out of turn"):
            list(chain.run())
    finally:
        Channel.receive = original
    assert not session.channel.alive


def test_a_chain_sent_in_process_takes_one_request_per_step(chained):
    """Replays in the judge's own process (grader/mistakes/local.py) have no pipe to chain over."""
    from grader.mistakes.local import LocalSession

    def load():
        import types
        module = types.ModuleType("chain")
        exec(CHAIN_CHAPTER, module.__dict__)
        return module

    session = LocalSession(load, module="chain", file="chain.py", request_timeout=5, budget=60)
    student = StudentModule(session)
    steps = [("set", 2.0), ("call", 1.0), ("call", "object"), ("call", 1.0)]
    expected = one_at_a_time(student.Net(), steps)
    expected[-1] = ("NotData", "`Net.forward('object')` returned a Net object, not a plain value (a number, a list, ...)",
                    "Net.forward('object')", None)
    assert chained_answers(session, student.Net(), steps) == [None, [2.0], expected[-1]]


# --- assign: a hidden test's assignments to students' objects, in one request -------------------


def test_assignments_to_a_network_layer_by_layer_are_one_request(chapter):
    from grader.hidden.support import assign, settings_of

    student, _, requests = chapter
    layers = student.layers()
    chosen = [([[1.0, 2.0]], [0.5]), ([[3.0]], [-0.5])]
    requests.clear()
    assign(*settings_of(layers, chosen))
    assert requests == ["chain"]
    assert [(layer.weights, layer.biases) for layer in layers] == chosen


def test_a_failing_assignment_fails_as_its_own_would_and_the_later_ones_do_not_run(chapter):
    from grader.hidden.support import assign

    student, _, _ = chapter
    layer, other = student.frozen(), student.layers()[0]
    with pytest.raises(StudentRaised, match="read-only") as raised:
        assign((layer, "weights", [[2.0]]), (layer, "biases", [1.5]), (other, "weights", [[9.0]]))
    assert raised.value.call == "Frozen.biases = [1.5]"
    assert layer.weights == [[2.0]] and other.weights == [[0.0]]


def test_assignments_to_judge_objects_are_made_one_by_one(chapter):
    from types import SimpleNamespace

    from grader.hidden.support import assign

    student, _, requests = chapter
    mine, theirs = SimpleNamespace(), student.layers()[0]
    requests.clear()
    assign((mine, "weights", [[1.0]]), (theirs, "weights", [[4.0]]))
    assert mine.weights == [[1.0]] and requests == ["setattr"] and theirs.weights == [[4.0]]


# --- a prestarted worker gets its files at launch, and the worker's own JSON codec ----------------

def test_a_prestarted_worker_is_sent_its_files_at_launch_even_past_what_the_pipe_holds(tmp_path):
    """prestart() sends the prepare request with the launch (a file larger than the pipe's buffer
    included: the rest goes out when the answer is awaited), so the chapter's first request only
    collects the answer."""
    padding = b"# " + b"x" * 300_000 + b"\n"
    with counted_session(tmp_path / "worker", "chapter", padding + CHAPTER, request_timeout=10) as (student, session, requests):
        session.prestart()
        assert session._ready is not None and session._ready._ahead  # 300 KB do not fit a pipe
        assert student.make().forward([1, 2]) == [3, 6]
        assert "prepare" not in requests and requests[:2] == ["import", "call"]


def test_the_workers_json_codec_writes_and_reads_exactly_what_the_json_module_does():
    import json

    from grader.sandbox import worker

    assert worker.dumps.__name__ == "dumps"  # CPython's accelerator, not the fallback
    values = [{"id": 7, "value": [1, -2, 2 ** 70, 0.1, 1e300, -0.0, 5e-324, None, True, False, [], {},
                                  "é\u2028\"\\\n\t\x00\ud800 日本", {"a": [{"b": "c"}]}]}]
    for value in values:
        text = worker.dumps(value)
        assert text == json.dumps(value, allow_nan=False, separators=(",", ":"))
        assert repr(worker.loads(text.encode())) == repr(json.loads(text.encode()))
    for text in (b' {"a": 1} \n', b"[1,2]", b'"x"', b'{"a": NaN}'):
        assert repr(worker.loads(text)) == repr(json.loads(text))
    for bad in (b'{"a": 1} x', b"", b"{", b"[1,]"):
        with pytest.raises(ValueError):
            worker.loads(bad)
    with pytest.raises(ValueError):
        worker.dumps({"x": float("nan")})


def test_without_the_accelerator_the_worker_falls_back_to_the_json_module(monkeypatch):
    import sys

    from grader.sandbox import worker

    monkeypatch.setitem(sys.modules, "_json", None)  # `import _json` now raises ImportError
    dumps, loads = worker.json_codec()
    assert dumps.__name__ == "<lambda>" and loads.__module__ == "json"
    assert dumps({"a": [1, 2.5, "é"]}) == '{"a":[1,2.5,"\\u00e9"]}' and loads(b'{"a": 1}') == {"a": 1}
