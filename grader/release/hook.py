"""The one place the judge's `reference` fixture asks this package: the plain reference (the
instructor's tree), the reference behind a recording proxy (`grade release` recording), or the
oracle's replay (a student release)."""

from __future__ import annotations

import contextlib
from types import SimpleNamespace
from typing import Any, Callable, Iterator

from ..course import Course
from ..remote import Session
from .oracle import is_release, load_oracle
from .record import LiveAnswerer, homes, record_path, recorder
from .replay import ReplayAnswerer, StudentFallback
from .space import Space


@contextlib.contextmanager
def reference_for(course: Course, context: Any, load: Callable[[], SimpleNamespace]) -> Iterator[Any]:
    """What the hidden tests of `context.chapter` get as `reference`. `load` imports the real one;
    in a student release it is never called (there is nothing to import)."""
    number = context.chapter.number
    if is_release(course):
        oracle = load_oracle(course)
        names = oracle.names.get(number, {})
        fallback = StudentFallback(number, names, {ch.number: ch.module for ch in course.chapters},
                                   _session_opener(context))
        try:
            yield Space(number, dict.fromkeys(names), ReplayAnswerer(oracle.answers, fallback)).namespace
        finally:
            fallback.close()
        return
    path = record_path()
    if path is None:
        yield load()
        return
    namespace = vars(load())
    keeper = recorder()
    callables = homes(namespace, {ch.module: ch.number for ch in course.chapters})
    keeper.names[str(number)] = callables
    try:
        yield Space(number, {name: namespace[name] for name in callables}, LiveAnswerer(keeper, namespace)).namespace
    finally:
        keeper.save(path)


def _session_opener(context: Any) -> Callable[[str], Session]:
    """Workers for the student's earlier chapters: the chapter's own folder, sandbox and limits,
    another module imported."""
    def open_session(module: str) -> Session:
        template = context.new_session()  # not started: only its settings are borrowed
        return Session(template.spec, module, request_timeout=template.request_timeout,
                       chapter_timeout=template.chapter_timeout, output_bytes=template.stdout.cap)
    return open_session
