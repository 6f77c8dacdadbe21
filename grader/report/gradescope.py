"""Gradescope's autograder results format, so an instructor can run `grade` inside a Gradescope
autograder. Its `run_autograder` script would be, for example:

    grade all --submission /autograder/submission --report-dir /tmp/reports --format gradescope
    cp /tmp/reports/gradescope.json /autograder/results/results.json

(`grade` exits 1 when something failed; Gradescope reads the file either way.)
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
    summary = [f"{card.course_title}: {points(card.score)}/{card.max_score} points",
               *notes, f"grader {card.grader_version}, sandbox {card.sandbox}, seed {card.seed}"]
    return {
        "score": points(card.score),
        "execution_time": round(card.duration),
        "output": "\n".join(summary),
        "visibility": "visible",
        "stdout_visibility": "hidden",  # the grader's terminal output is in each test already
        "tests": tests,
    }
