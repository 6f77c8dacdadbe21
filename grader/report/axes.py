"""What the pictures share: the width of their SVG viewBox, axis ticks, and reading a
recorded value as a number whatever it turned out to be."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

WIDTH = 560          # every chart's viewBox width; the page scales it to the screen


@dataclass(frozen=True)
class Tick:
    at: float          # x (horizontal axis) or y (vertical axis) in viewBox units
    label: str
    anchor: str = "middle"   # SVG text-anchor of the label


def as_float(value: Any) -> float:
    """A recorded value as a float; NaN for anything else (a bool is not a number here)."""
    if isinstance(value, bool):
        return float("nan")
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def nice_ticks(top: float, count: int = 5) -> list[float]:
    """Round tick values 0, s, 2s, ... covering [0, top], s from the 1-2-5 series."""
    if not (top > 0) or not math.isfinite(top):
        return [0.0, 1.0]
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    ticks, value = [], 0.0
    while value < top + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    if ticks[-1] < top:
        ticks.append(round(value, 12))
    return ticks
