"""Chapter 7's picture: the 26 letters, each marked named right or wrong (and as what), with
the network's confidence. Data only; figures.html draws each letter as a small SVG."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .axes import as_float
from .status import Mark, mark
from .text import one_line


@dataclass(frozen=True)
class LetterCell:
    letter: str
    predicted: str
    correct: bool
    mark: Mark
    confidence: str     # "97%", or "—" when it was not a number
    bar: float          # the confidence bar's width in the cell's viewBox units
    label: str          # the cell in words, for screen readers


@dataclass(frozen=True)
class LetterGrid:
    """One small SVG per letter, in a grid the page reflows: 9 across on a laptop, 5 on a phone,
    and the letters stay legible on both."""

    cells: tuple[LetterCell, ...]
    right: int
    total: int
    summary: str
    cell_width: float = 56
    cell_height: float = 62
    bar_width: float = 44


def _short(value: Any, limit: int = 3) -> str:
    text = one_line(str(value), 40) if value is not None else "?"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def letter_grid(values: list[Any], accuracies: list[Any]) -> LetterGrid | None:
    letters = next((v for v in reversed(values) if isinstance(v, list) and v), None)  # the last run
    if letters is None:
        return None
    cells = []
    for entry in (e for e in letters if isinstance(e, dict)):
        correct = entry.get("correct") is True
        confidence = as_float(entry.get("confidence"))
        known = math.isfinite(confidence)
        share = min(max(confidence, 0.0), 1.0) if known else 0.0
        letter, predicted = _short(entry.get("letter")), _short(entry.get("predicted"), 2)
        shown = f"{round(share * 100)}%" if known else "—"
        said = "named right" if correct else f"named wrong, as {predicted}"
        cells.append(LetterCell(
            letter=letter, predicted=predicted, correct=correct, mark=mark("passed" if correct else "failed"),
            confidence=shown, bar=round(44 * share, 1), label=f"{letter}: {said}, confidence {shown}",
        ))
    if not cells:
        return None
    right = sum(c.correct for c in cells)
    summary = f"{right} of {len(cells)} letters named right"
    accuracy = next((as_float(a) for a in reversed(accuracies)), None)
    if accuracy is not None and math.isfinite(accuracy):
        summary += f" (accuracy {accuracy:.1%})"
    wrong = [c for c in cells if not c.correct]
    if wrong:
        summary += "; wrong: " + ", ".join(f"{c.letter} → {c.predicted}" for c in wrong[:8])
        summary += " …" if len(wrong) > 8 else ""
    return LetterGrid(cells=tuple(cells), right=right, total=len(cells), summary=summary + ".")
