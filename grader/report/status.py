"""How a status is shown in every report: an icon and a word (never colour alone), and a tone
that the stylesheet turns into a colour."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mark:
    key: str     # names the icon in the page's SVG sprite
    icon: str    # the same icon as text, for Markdown and plain-text formats
    word: str
    tone: str    # good | bad | warn | muted


MARKS = {
    "passed": Mark("passed", "✓", "passed", "good"),
    "failed": Mark("failed", "✗", "failed", "bad"),
    "error": Mark("error", "!", "error", "bad"),
    "timeout": Mark("timeout", "⏱", "timed out", "warn"),
    "skipped": Mark("skipped", "–", "skipped", "muted"),
}

# A chapter as a whole: graded ones are passed or failed by their criteria; the others say why
# they were not graded.
CHAPTER_MARKS = {
    "passed": MARKS["passed"],
    "failed": MARKS["failed"],
    "missing": Mark("skipped", "–", "missing", "muted"),
    "error": Mark("error", "!", "not gradable", "bad"),
}


def mark(status: str) -> Mark:
    return MARKS.get(status, MARKS["error"])


def chapter_state(status: str, criterion_statuses: list[str]) -> str:
    """passed | failed | missing | error: what a chapter's line in a summary says."""
    if status != "graded":
        return status if status in CHAPTER_MARKS else "error"
    return "passed" if all(s == "passed" for s in criterion_statuses) else "failed"
