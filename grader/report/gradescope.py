"""Gradescope's autograder results format (gradescope/autograder_samples, docs/specs.md): a test
per criterion with its points, status and what went wrong (call, expected and actual values, the
hint and the probable misconception), and a summary naming the sandbox tier that graded.
`grade export gradescope OUT.zip` (grader/deploy/) bundles an autograder that writes it.
"""

from __future__ import annotations

from typing import Any

from ..scorecard import Scorecard, points
from .status import mark
from .text import criterion_text

# course.yaml's "hidden" means students see a criterion's title, points and hint but not its
# checks' call, expected and actual values (scoring already leaves those out of the result).
# That is Gradescope's "visible" with a reduced output; Gradescope's own "hidden" would hide
# the points too, which the course does not want.
VISIBILITY = {"visible": "visible", "hidden": "visible"}


def gradescope_json(card: Scorecard) -> dict[str, Any]:
    tests = []
    for chapter in card.chapters:
        for i, c in enumerate(chapter.criteria, start=1):
            m = mark(c.status)
            tests.append({
                "name": f"Chapter {chapter.number} · {c.title}",
                "number": f"{chapter.number}.{i}",
                "score": points(c.score),
                "max_score": c.max_score,
                "status": "passed" if c.status == "passed" else "failed",
                "visibility": VISIBILITY.get(c.visibility, "visible"),
                "output": f"{m.icon} {m.word}\n{criterion_text(c)}".rstrip(),
                "tags": [c.id],
            })
    notes = [f"Chapter {ch.number} was not graded: {ch.run.note}" for ch in card.chapters if ch.status != "graded"]
    sandbox = f"sandbox {card.sandbox}" + (f" ({card.sandbox_note})" if card.sandbox_note else "")
    summary = [f"{card.course_title}: {points(card.score)}/{card.max_score} points",
               *notes, f"grader {card.grader_version}, {sandbox}, seed {card.seed}"]
    return {
        "score": points(card.score),
        "execution_time": round(card.duration),
        "output": "\n".join(summary),
        "visibility": "visible",
        "stdout_visibility": "hidden",  # the grader's terminal output is in each test already
        "tests": tests,
    }
