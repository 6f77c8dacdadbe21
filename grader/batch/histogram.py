"""The class overview's picture: how many students reached each band of total points, as the
geometry of an SVG bar chart (class.html draws it, so every label is autoescaped)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from fractions import Fraction

from ..report.axes import WIDTH, Tick, nice_ticks
from ..report.text import number

BINS = 10


@dataclass(frozen=True)
class Column:
    x: float
    y: float
    width: float
    height: float
    count: int
    label: str          # "3 students: 60 to under 70 points", for the bar's tooltip

    @property
    def center(self) -> float:
        return round(self.x + self.width / 2, 1)

    @property
    def count_y(self) -> float:
        return round(self.y - 4, 1)


@dataclass(frozen=True)
class Histogram:
    columns: tuple[Column, ...]
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    left: float
    right: float
    top: float
    bottom: float
    summary: str
    width: float = WIDTH
    height: float = 230


def bin_edges(max_score: int, bins: int = BINS) -> list[Fraction]:
    count = max(1, min(bins, max_score))
    return [Fraction(max_score * i, count) for i in range(count + 1)]


def bin_counts(totals: list[float], max_score: int, bins: int = BINS) -> list[int]:
    """How many totals fall in each band [edge_i, edge_i+1); the last band includes full marks."""
    edges = bin_edges(max_score, bins)
    count = len(edges) - 1
    counts = [0] * count
    for total in totals:
        share = Fraction(str(total)) * count / max(max_score, 1)
        counts[max(0, min(int(share), count - 1))] += 1
    return counts


def _people(n: int) -> str:
    return f"{n} student{'s' if n != 1 else ''}"


def summary(totals: list[float], max_score: int) -> str:
    if not totals:
        return "No student has been graded."
    return (f"Totals of {_people(len(totals))} (of {max_score} points): mean {number(statistics.fmean(totals), 3)}, "
            f"median {number(statistics.median(totals), 3)}, lowest {number(min(totals))}, "
            f"highest {number(max(totals))}.")


def histogram(totals: list[float], max_score: int) -> Histogram:
    left, right, top, bottom = 44.0, WIDTH - 12.0, 18.0, 230 - 36.0
    edges = bin_edges(max_score)
    counts = bin_counts(totals, max_score)
    y_values = [t for t in nice_ticks(max([*counts, 1]), 4) if t == int(t)]
    y_max = y_values[-1]
    step = (right - left) / len(counts)
    columns = []
    for i, count in enumerate(counts):
        height = round(count / y_max * (bottom - top), 1)
        low, high = number(float(edges[i])), number(float(edges[i + 1]))
        upto = "to" if i == len(counts) - 1 else "to under"
        columns.append(Column(x=round(left + i * step + 2, 1), y=round(bottom - height, 1),
                              width=round(step - 4, 1), height=height, count=count,
                              label=f"{_people(count)}: {low} {upto} {high} points"))
    return Histogram(
        columns=tuple(columns), left=left, right=right, top=top, bottom=bottom,
        x_ticks=tuple(Tick(round(left + i * step, 1), number(float(edge))) for i, edge in enumerate(edges)),
        y_ticks=tuple(Tick(round(bottom - v / y_max * (bottom - top), 1), str(int(v))) for v in y_values),
        summary=summary(totals, max_score),
    )
