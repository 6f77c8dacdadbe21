"""A pytest session configured and collected once, whose hidden tests a warm judge then runs for
one grading after another: `grade watch` grades every save with it, and every judge the warm
server (grader/warm.py) forks inherits it, ready.

pytest's configuration and collection were a quarter of a warm grading's time. Only the judge's
side is shared: every grading still gets its own JudgePlugin state (begin()), its own fixtures
(every fixture is torn down after a grading's last test) and fresh workers. Student code never
runs in this process, prepared or not.

The session lives inside `pytest.main`: `serve(callback)` runs it with a plugin whose test loop
calls `callback` instead of running the tests, so only pytest's public API is used. A grading
that fails half-way leaves the session in an unknown state: from then on this process grades
with a fresh `pytest.main` per grading, as a cold judge does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest

from .course import HIDDEN_DIR
from .plugin import JudgePlugin

_current: Prepared | None = None


@dataclass
class Prepared:
    """The collected session, its judge plugin and its tests by file, while `serve` runs."""

    plugin: JudgePlugin
    items: dict[Path, list[pytest.Item]] = field(default_factory=dict)   # hidden test file -> its tests
    broken: bool = False

    def covers(self, paths: list[Path]) -> bool:
        return not self.broken and all(path in self.items for path in paths)

    def run(self, paths: list[Path]) -> None:
        """Run the tests of `paths`, in that order, as one pytest session would: a test's
        fixtures are torn down when the next test no longer needs them, all of them after the last."""
        items = [item for path in paths for item in self.items[path]]
        for item in items:  # what one grading's tests record is theirs alone
            item.user_properties.clear()
            item._report_sections.clear()
        try:
            for index, item in enumerate(items):
                following = items[index + 1] if index + 1 < len(items) else None
                item.ihook.pytest_runtest_protocol(item=item, nextitem=following)
        except BaseException:
            self.broken = True  # fixtures may still be set up: never run this session again
            raise


def current() -> Prepared | None:
    """The session prepared in this process (inherited by a forked judge), if one is usable."""
    return _current if _current is not None and not _current.broken else None


class _Loop:
    """Takes pytest's test loop over: calls the callback while the collected session waits."""

    def __init__(self, plugin: JudgePlugin, callback: Callable[[], Any]):
        self.plugin, self.callback = plugin, callback
        self.called = False
        self.result: Any = None
        self.error: BaseException | None = None

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool:
        global _current
        if not self.plugin.problems:  # hidden tests that do not load: each grading says so itself
            items: dict[Path, list[pytest.Item]] = {}
            for item in session.items:
                items.setdefault(Path(item.path).resolve(), []).append(item)
            _current = Prepared(self.plugin, items)
        self.called = True
        try:
            self.result = self.callback()
        except BaseException as error:  # Ctrl-C included: it is the callback's, not pytest's
            self.error = error
        finally:
            _current = None
        return True


def serve(callback: Callable[[], Any]) -> Any:
    """Configure pytest and collect every hidden test file, then return `callback()`, called while
    the session is ready (current() gives it). If pytest cannot get that far, `callback()` is
    called all the same, and gradings run as they would without a prepared session."""
    from .runner import PYTEST_ARGS

    plugin = JudgePlugin(None, {}, 0, None)
    loop = _Loop(plugin, callback)
    # The session outlives any grading's output: nothing of pytest's may stand in for sys.stdout.
    args = [*(a for a in PYTEST_ARGS if not a.startswith("--capture")), "--capture=no",
            "--rootdir", str(HIDDEN_DIR), *sorted(str(p) for p in HIDDEN_DIR.glob("test_*.py"))]
    previous = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    try:
        pytest.main(args, plugins=[plugin, loop])
    finally:
        if previous is None:
            os.environ.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
    if not loop.called:
        return callback()
    if loop.error is not None:
        raise loop.error
    return loop.result
