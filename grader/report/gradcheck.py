"""Chapter 5's picture: the gradient check as a grid, a row per case and layer and a column
per kind (weights, biases, inputs), each cell a log axis with the tolerance marked, so a bug
in one kind of gradient reads as a red column. Geometry and labels only; figures.html draws it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable

from .axes import WIDTH, Tick, as_float
from .status import Mark, mark
from .text import number, one_line, small_number, superscript, times

KINDS = ("weights", "biases", "inputs")


@dataclass(frozen=True)
class GradRow:
    """One check: a table row, and a cell of the picture."""

    case: str
    layer: int          # counted from 1, as the tests' messages count; recorded from 0
    kind: str
    label: str          # "relu→sigmoid · layer 1 · biases"
    where: str
    error: str          # the worst relative error, written for people
    value_label: str    # what the picture writes above the cell's axis
    tolerance: str
    ratio: str          # how far past the tolerance ("within" when it passed)
    analytic: str
    numeric: str
    passed: bool
    mark: Mark
    left: float         # the cell's axis
    right: float
    y: float            # the axis' height
    x: float            # where the error's mark sits on the log axis
    tolerance_x: float
    clamp: str          # why the mark sits on an edge ("0", "NaN", "∞", "<", ">"), else ""


@dataclass(frozen=True)
class GradColumn:
    kind: str
    left: float
    right: float
    ticks: tuple[Tick, ...]

    @property
    def center(self) -> float:
        return (self.left + self.right) / 2


@dataclass(frozen=True)
class GradcheckFigure:
    rows: tuple[GradRow, ...]
    columns: tuple[GradColumn, ...]
    groups: tuple[Tick, ...]    # a label per case and layer, at its band's top
    axis_y: float
    height: float
    failed: int
    summary: str
    tolerance: str      # the one tolerance of every check, or "" when they differ
    width: float = WIDTH


def _badness(error: float) -> float:
    return math.inf if math.isnan(error) else error


def _gradcheck_entries(values: Iterable[Any]) -> list[dict]:
    """The recorded checks, one per (case, layer, kind), keeping the worst when repeated, in
    case order of first appearance, then layer, then weights/biases/inputs."""
    cases: dict[str, int] = {}
    best: dict[tuple[str, int, str], dict] = {}
    for value in values:
        if not isinstance(value, dict) or value.get("kind") not in KINDS:
            continue
        entry = dict(value, case=str(value.get("case", "")), worst_error=as_float(value.get("worst_error")),
                     tolerance=as_float(value.get("tolerance")))
        try:
            entry["layer"] = int(value.get("layer", 0))
        except (TypeError, ValueError):
            entry["layer"] = 0
        if not isinstance(entry.get("passed"), bool):
            entry["passed"] = entry["worst_error"] <= entry["tolerance"]  # False for NaN
        cases.setdefault(entry["case"], len(cases))
        key = (entry["case"], entry["layer"], entry["kind"])
        if key not in best or _badness(entry["worst_error"]) > _badness(best[key]["worst_error"]):
            best[key] = entry
    return sorted(best.values(), key=lambda e: (cases[e["case"]], e["layer"], KINDS.index(e["kind"])))


def _decades(entries: list[dict]) -> tuple[int, int]:
    """The log axis' range in powers of ten: every finite error and tolerance fits with a
    quarter decade to spare, and there is room on both sides of the tolerance."""
    tolerances = [e["tolerance"] for e in entries if math.isfinite(e["tolerance"]) and e["tolerance"] > 0]
    errors = [e["worst_error"] for e in entries if math.isfinite(e["worst_error"]) and e["worst_error"] > 0]
    known = tolerances + errors or [1e-6]
    lo = math.floor(math.log10(min(known)) - 0.25)
    hi = math.ceil(math.log10(max(known)) + 0.25)
    if tolerances:
        lo = min(lo, math.floor(math.log10(min(tolerances))) - 2)
        hi = max(hi, math.ceil(math.log10(max(tolerances))) + 1)
    lo, hi = max(lo, -18), min(hi, 8)   # past these, a dot is clamped to the edge and labelled
    if hi - lo < 3:
        lo = hi - 3
    return lo, hi


def _tick_decades(lo: int, hi: int, tolerances: list[float], most: int) -> list[int]:
    """At most `most` decades, evenly spaced and including the tolerance's."""
    step = max(1, math.ceil((hi - lo) / most))
    anchor = round(math.log10(tolerances[0])) if tolerances else hi
    return [d for d in range(lo, hi + 1) if (d - anchor) % step == 0]


def _log_x(value: float, lo: int, hi: int, left: float, right: float) -> tuple[float, str]:
    if math.isnan(value):
        return right, "NaN"
    if value == math.inf:
        return right, "∞"
    if value <= 0:
        return left, "0"
    exponent = math.log10(value)
    if exponent < lo:
        return left, "<"
    if exponent > hi:
        return right, ">"
    return round(left + (exponent - lo) / (hi - lo) * (right - left), 1), ""


def _ratio(entry: dict) -> str:
    error, tolerance = entry["worst_error"], entry["tolerance"]
    if entry["passed"]:
        return "within"
    if math.isnan(error):
        return "not a number"
    if not (tolerance > 0) or math.isinf(error):
        return "over"
    return f"{times(error / tolerance)} the tolerance"


GROUP_HEIGHT = 60
GAP = 18


def gradcheck_figure(values: list[Any]) -> GradcheckFigure | None:
    entries = _gradcheck_entries(values)
    if not entries:
        return None
    lo, hi = _decades(entries)
    kinds = [k for k in KINDS if any(e["kind"] == k for e in entries)]
    span = (WIDTH - 16 - GAP * (len(kinds) - 1)) / len(kinds)
    bounds = {k: (round(8 + i * (span + GAP), 1), round(8 + i * (span + GAP) + span, 1)) for i, k in enumerate(kinds)}
    groups = list(dict.fromkeys((e["case"], e["layer"]) for e in entries))
    top = 22.0
    rows = []
    for e in entries:
        left, right = bounds[e["kind"]]
        y = top + groups.index((e["case"], e["layer"])) * GROUP_HEIGHT + 46
        x, clamp = _log_x(e["worst_error"], lo, hi, left, right)
        tolerance_x, _ = _log_x(e["tolerance"], lo, hi, left, right)
        case = one_line(e["case"], 40)
        error = small_number(e["worst_error"])
        passed = e["passed"]
        rows.append(GradRow(
            case=case, layer=e["layer"] + 1, kind=e["kind"],
            label=" · ".join(p for p in (case, f"layer {e['layer'] + 1}", e["kind"]) if p),
            where=one_line(str(e.get("where", "")), 40),
            error=error, value_label=error + (" (off scale)" if clamp in ("<", ">") else ""),
            tolerance=small_number(e["tolerance"]), ratio=_ratio(e),
            analytic=number(e.get("analytic")), numeric=number(e.get("numeric")),
            passed=passed, mark=mark("passed" if passed else "failed"),
            left=left, right=right, y=y, x=x, tolerance_x=tolerance_x, clamp=clamp,
        ))
    tolerances = [e["tolerance"] for e in entries if math.isfinite(e["tolerance"]) and e["tolerance"] > 0]
    decades = _tick_decades(lo, hi, tolerances, 8 if len(kinds) == 1 else 3)
    columns = []
    for kind in kinds:
        left, right = bounds[kind]
        ticks = []
        for d in decades:
            x = _log_x(10.0 ** d, lo, hi, left, right)[0]
            if 0 < x - left < 16 or 0 < right - x < 16:
                continue   # a centred label would stick out of the column
            anchor = "start" if x == left else "end" if x == right else "middle"
            ticks.append(Tick(x, f"10{superscript(d)}", anchor))
        columns.append(GradColumn(kind, left, right, tuple(ticks)))
    labels = tuple(Tick(top + i * GROUP_HEIGHT + 14,
                        " · ".join(p for p in (one_line(case, 40), f"layer {layer + 1}") if p))
                   for i, (case, layer) in enumerate(groups))
    failed = [r for r in rows if not r.passed]
    if failed:
        listed = ", ".join(f"layer {r.layer} {r.kind}" + (f" ({r.case})" if r.case else "") for r in failed[:6])
        more = f" and {len(failed) - 6} more" if len(failed) > 6 else ""
        summary = f"{len(failed)} of {len(rows)} gradient checks are off: {listed}{more}."
    else:
        summary = f"All {len(rows)} gradient checks are within their tolerance."
    axis_y = top + len(groups) * GROUP_HEIGHT + 2
    shared = {r.tolerance for r in rows}
    return GradcheckFigure(rows=tuple(rows), columns=tuple(columns), groups=labels, axis_y=axis_y,
                           height=axis_y + 20, failed=len(failed), summary=summary,
                           tolerance=shared.pop() if len(shared) == 1 else "")
