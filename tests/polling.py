"""Waiting for something another process does, with a deadline and a message naming it."""

from __future__ import annotations

import time
from typing import Callable, TypeVar

T = TypeVar("T")


def wait_for(condition: Callable[[], T], seconds: float, what: str) -> T:
    """The first true value `condition()` returns within `seconds`; fails naming `what` if none."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out after {seconds:g} s waiting for {what}")
