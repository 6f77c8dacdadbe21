"""The worker: imports a student's chapter and answers the judge's requests with data only.

Started by the judge as `python -I -S worker.py CONFIG_JSON`. It reads one JSON request per
line from the request pipe and writes one JSON response per line to the response pipe. Only
plain data crosses: None, bool, int, float, str, and lists, tuples and str-keyed dicts of
those, each checked by *exact* type. Anything else (a module, a student's object, a float
subclass that lies about equality) stays here and the judge gets an opaque handle to it.

Standard library only, and no import from the grader: this file runs inside the sandbox,
where the grader package may not be visible.
"""

import importlib
import json
import math
import os
import resource
import sys
import traceback

MAX_DEPTH = 32          # deeper structures (and cyclic ones) are refused, not encoded
MAX_ITEMS = 1_000_000   # total values in one answer
MAX_STR = 1_000_000     # characters in one string
MAX_INT_BITS = 1024     # an integer larger than this is not a plausible answer
MAX_REQUEST = 64 << 20  # bytes in one request line


class TooLarge(Exception):
    """The answer is too big, too deep or cyclic to send back as data."""


class Encoder:
    """Turns a value into tagged JSON, keeping non-data objects behind handles."""

    def __init__(self, handles):
        self.handles = handles
        self.items = 0

    def handle(self, value):
        key = len(self.handles)
        self.handles[key] = value
        return {"h": key, "type": type(value).__name__}

    def encode(self, value, depth=0):
        self.items += 1
        if self.items > MAX_ITEMS:
            raise TooLarge(f"more than {MAX_ITEMS:,} values")
        if depth > MAX_DEPTH:
            raise TooLarge(f"nested more than {MAX_DEPTH} levels deep (or cyclic)")
        kind = type(value)
        if value is None or kind is bool:
            return value
        if kind is int:
            if value.bit_length() > MAX_INT_BITS:
                raise TooLarge(f"an integer of {value.bit_length()} bits")
            return value
        if kind is float:
            return value if math.isfinite(value) else {"f": repr(value)}
        if kind is str:
            if len(value) > MAX_STR:
                raise TooLarge(f"a string of {len(value):,} characters")
            return value
        if kind is list:
            return [self.encode(v, depth + 1) for v in value]
        if kind is tuple:
            return {"t": [self.encode(v, depth + 1) for v in value]}
        if kind is dict and all(type(k) is str for k in value):
            return {"d": {k: self.encode(v, depth + 1) for k, v in value.items()}}
        return self.handle(value)


def decode(value, handles):
    """The judge's arguments: the same tagged JSON, where handles name objects living here."""
    if isinstance(value, list):
        return [decode(v, handles) for v in value]
    if isinstance(value, dict):
        if "h" in value:
            return handles[value["h"]]
        if "t" in value:
            return tuple(decode(v, handles) for v in value["t"])
        if "d" in value:
            return {k: decode(v, handles) for k, v in value["d"].items()}
        if "f" in value:
            return float(value["f"])
        raise ValueError(f"unknown tag in {sorted(value)}")
    return value


def describe_error(error, student_files):
    """An exception as data: its type, message, and the frames that are in the student's files."""
    try:
        message = str(error)[:2000]
    except BaseException:  # a hostile __str__ must not take the worker down
        message = "<the exception's message could not be read>"
    frames = []
    try:
        for frame in traceback.extract_tb(error.__traceback__):
            name = os.path.basename(frame.filename)
            if name in student_files:
                frames.append({"file": name, "line": frame.lineno, "function": frame.name,
                               "code": (frame.line or "")[:300]})
    except BaseException:
        pass
    return {"type": type(error).__name__, "message": message, "frames": frames[-10:]}


def apply_limits(limits):
    """Lower this process's resource limits before any student code runs."""
    def cap(which, value):
        if value:
            resource.setrlimit(which, (value, value))
    cap(resource.RLIMIT_CPU, limits.get("cpu_seconds"))
    cap(resource.RLIMIT_AS, limits.get("memory_bytes"))
    cap(resource.RLIMIT_FSIZE, limits.get("file_bytes"))
    cap(resource.RLIMIT_NOFILE, limits.get("open_files"))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


class Worker:
    def __init__(self, student_files):
        self.handles = {}
        self.student_files = set(student_files)

    def perform(self, request):
        op = request["op"]
        if op == "import":
            return importlib.import_module(request["module"])
        if op == "keep":
            return decode(request["value"], self.handles)
        target = self.handles[request["target"]]
        if op == "fetch":
            return target
        if op == "getattr":
            return getattr(target, request["name"])
        if op == "setattr":
            setattr(target, request["name"], decode(request["value"], self.handles))
            return None
        if op == "call":
            if request.get("name"):
                target = getattr(target, request["name"])
            args = decode(request.get("args", []), self.handles)
            kwargs = {k: decode(v, self.handles) for k, v in request.get("kwargs", {}).items()}
            return target(*args, **kwargs)
        raise ValueError(f"unknown operation {op!r}")

    def answer(self, request):
        try:
            value = self.perform(request)
        except BaseException as error:  # SystemExit and KeyboardInterrupt are answers too
            return {"id": request.get("id"), "raised": describe_error(error, self.student_files)}
        encoder = Encoder(self.handles)
        if request["op"] == "keep":  # the judge wants a handle to its own data, living here
            return {"id": request.get("id"), "value": encoder.handle(value)}
        try:
            return {"id": request.get("id"), "value": encoder.encode(value)}
        except TooLarge as error:
            return {"id": request.get("id"), "too_large": str(error)}


def flush_student_output():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass


def main():
    config = json.loads(sys.argv[1])
    requests = os.fdopen(config["request_fd"], "rb", buffering=0)
    response_fd = config["response_fd"]
    os.chdir(config["workdir"])
    sys.path.insert(0, config["workdir"])
    sys.dont_write_bytecode = True
    apply_limits(config["limits"])
    worker = Worker(config["student_files"])
    pending = b""
    while True:
        while b"\n" not in pending:
            chunk = requests.read(65536)
            if not chunk:
                return
            pending += chunk
            if len(pending) > MAX_REQUEST:
                return
        line, pending = pending.split(b"\n", 1)
        response = worker.answer(json.loads(line))
        flush_student_output()  # so the judge sees a call's prints before its answer
        data = json.dumps(response, allow_nan=False, separators=(",", ":")).encode() + b"\n"
        view = memoryview(data)
        while view:
            view = view[os.write(response_fd, view):]


if __name__ == "__main__":
    main()
