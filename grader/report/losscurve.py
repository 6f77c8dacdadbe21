"""Chapters 6 and 7's picture: the loss per epoch of the student's training run, with a mark
where it stopped being a number. Geometry and labels only; figures.html draws it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .axes import WIDTH, Tick, as_float, nice_ticks
from .text import number


@dataclass(frozen=True)
class Curve:
    segments: tuple[str, ...]   # SVG polyline points, split where the loss was not a number
    label: str
    primary: bool


@dataclass(frozen=True)
class LossFigure:
    curves: tuple[Curve, ...]
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    left: float
    right: float
    top: float
    bottom: float
    epochs: int
    summary: str
    breaks: tuple[Tick, ...] = ()   # where the first run's loss stopped being a number
    width: float = WIDTH
    height: float = 250


def _thin(points: list[tuple[int, float]], buckets: int = 160) -> list[tuple[int, float]]:
    """At most 2 x `buckets` points: each bucket keeps its lowest and highest, so a spike or a
    plateau still shows while a 500-epoch curve stays a few kilobytes."""
    if len(points) <= 2 * buckets:
        return points
    size = len(points) / buckets
    kept: list[tuple[int, float]] = []
    for b in range(buckets):
        chunk = points[int(b * size): int((b + 1) * size)]
        if chunk:
            low, high = min(chunk, key=lambda p: p[1]), max(chunk, key=lambda p: p[1])
            kept.extend(sorted({low, high}))
    if kept[-1] != points[-1]:
        kept.append(points[-1])
    return kept


def _curve_summary(losses: list[float]) -> str:
    finite = [(i + 1, v) for i, v in enumerate(losses) if math.isfinite(v)]
    if not finite:
        return "The loss was never a finite number."
    (first_epoch, first), (last_epoch, last) = finite[0], finite[-1]
    text = (f"The loss went from {number(first, 3)} (epoch {first_epoch}) "
            f"to {number(last, 3)} (epoch {last_epoch}).")
    broken = next((i + 1 for i, v in enumerate(losses) if not math.isfinite(v)), None)
    if broken is not None:
        text += f" From epoch {broken} it was {number(losses[broken - 1])}: training diverged."
    elif last >= first:
        text += " It did not go down."
    return text


def loss_figure(values: list[Any]) -> LossFigure | None:
    runs = [[as_float(v) for v in run] for run in values if isinstance(run, list) and run]
    if not runs:
        return None
    left, right, top, bottom = 52.0, WIDTH - 12.0, 10.0, 250 - 34.0
    epochs = max(len(run) for run in runs)
    finite = [v for run in runs for v in run if math.isfinite(v)]
    y_values = nice_ticks(max([*finite, 0.0]) or 1.0, 4)
    y_min = min(0.0, min(finite, default=0.0))   # a loss is not negative, but draw it if it is
    y_max = y_values[-1]
    span_x = max(epochs - 1, 1)

    def x_of(epoch: float) -> float:
        return round(left + (epoch - 1) / span_x * (right - left), 1)

    def y_of(value: float) -> float:
        return round(bottom - (value - y_min) / ((y_max - y_min) or 1.0) * (bottom - top), 1)

    curves = []
    for n, run in enumerate(runs):
        segments, current = [], []
        for epoch, value in _thin(list(enumerate(run, start=1))):
            if math.isfinite(value):
                current.append(f"{x_of(epoch)},{y_of(value)}")
            elif current:
                segments.append(" ".join(current))
                current = []
        if current:
            segments.append(" ".join(current))
        curves.append(Curve(tuple(segments), f"run {n + 1}" if len(runs) > 1 else "loss", n == 0))
    x_ticks = [1] + [e for e in nice_ticks(epochs, 5)[1:] if e <= epochs]
    if epochs > 1 and x_ticks[-1] != epochs and epochs - x_ticks[-1] > epochs / 10:
        x_ticks.append(epochs)
    summary = _curve_summary(runs[0])
    broken = next((e for e, v in enumerate(runs[0], start=1) if not math.isfinite(v)), None)
    breaks = (Tick(x_of(broken), f"{number(runs[0][broken - 1])} from epoch {broken}"),) if broken else ()
    if len(runs) > 1:
        summary = f"{len(runs)} training runs; the first: " + summary
    return LossFigure(
        curves=tuple(curves), left=left, right=right, top=top, bottom=bottom, epochs=epochs,
        x_ticks=tuple(Tick(x_of(e), f"{int(e)}") for e in x_ticks),
        y_ticks=tuple(Tick(y_of(v), number(v, 3)) for v in y_values if v >= y_min),
        summary=summary, breaks=breaks,
    )
