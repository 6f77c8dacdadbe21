"""The pictures of a chapter page, chosen by the data its criteria recorded: "gradcheck"
(chapter 5), "loss_curve" (chapters 6 and 7), "letters" and "accuracy" (chapter 7), whatever
the chapter's number. Each picture's module computes geometry and labels only; the templates
draw them as inline SVG, so every label is autoescaped and no markup is assembled from strings.

Hidden criteria's data is never drawn: it may describe the hidden cases."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..scoring import ChapterResult
from .gradcheck import GradcheckFigure, gradcheck_figure
from .letters import LetterGrid, letter_grid
from .losscurve import LossFigure, loss_figure


@dataclass(frozen=True)
class Figures:
    gradcheck: GradcheckFigure | None = None
    loss: LossFigure | None = None
    letters: LetterGrid | None = None

    def __bool__(self) -> bool:
        return any((self.gradcheck, self.loss, self.letters))


def recorded(chapter: ChapterResult, key: str) -> list[Any]:
    """Every value the chapter's visible criteria recorded under `key`, in rubric order."""
    return [value for c in chapter.criteria if c.visibility == "visible"
            for value in (c.data.get(key) or [])]


def chapter_figures(chapter: ChapterResult) -> Figures:
    return Figures(
        gradcheck=gradcheck_figure(recorded(chapter, "gradcheck")),
        loss=loss_figure(recorded(chapter, "loss_curve")),
        letters=letter_grid(recorded(chapter, "letters"), recorded(chapter, "accuracy")),
    )
