"""A Markdown summary: one table of chapters and one of the criteria that did not pass, for a
pull request comment or GitHub's job summary (`$GITHUB_STEP_SUMMARY`)."""

from __future__ import annotations

import re

from ..scorecard import Scorecard
from .status import CHAPTER_MARKS, chapter_state, mark
from .text import diagnoses, lesson_text, one_line, score_text

# Every ASCII punctuation character that Markdown or the HTML inside it could act on; CommonMark
# lets any of them be backslash-escaped, so a student's `<img onerror>` or `[link](…)` stays text.
_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#!|~&])")


def cell(text: str, limit: int = 200) -> str:
    """Student or course text made safe for one table cell: one line, every special escaped."""
    return _SPECIAL.sub(r"\\\1", one_line(text, limit))


def _misconceptions(card: Scorecard) -> list[str]:
    """One entry per known mistake the diagnosis named, with the criteria it explains."""
    named: dict[tuple[int, str], tuple] = {}
    for ch in card.chapters:
        for c in ch.criteria:
            for d in diagnoses(c):
                diagnosis, titles = named.get((ch.number, d.mistake), (d, []))
                named[(ch.number, d.mistake)] = (diagnosis, titles + [c.title])
    if not named:
        return []
    lines = ["", "### Probable misconceptions", ""]
    for (number, _), (d, titles) in named.items():
        lines.append(f"- **Chapter {number}: {cell(d.title, 300)}** (explains: {cell('; '.join(titles), 300)}). "
                     f"{cell(f'{d.did} {d.why}', 1200)} {cell(lesson_text(d), 300)}")
    return lines


def markdown_summary(card: Scorecard) -> str:
    lines = [f"## {cell(card.course_title)}: {score_text(card.score)} / {card.max_score} points", "",
             "| Chapter | Result | Score | Criteria passed |", "| --- | --- | ---: | --- |"]
    for ch in card.chapters:
        state = CHAPTER_MARKS[chapter_state(ch.status, [c.status for c in ch.criteria])]
        passed = sum(c.status == "passed" for c in ch.criteria)
        detail = f"{passed} of {len(ch.criteria)}" if ch.status == "graded" else cell(ch.run.note)
        lines.append(f"| {ch.number}. {cell(ch.title)} | {state.icon} {state.word} | "
                     f"{score_text(ch.score)} / {ch.max_score} | {detail} |")
    lines.append(f"| | **Total** | **{score_text(card.score)} / {card.max_score}** | |")
    not_passed = [(ch, c) for ch in card.chapters if ch.status == "graded"
                  for c in ch.criteria if c.status != "passed"]
    if not_passed:
        lines += ["", "### Criteria that did not pass", "",
                  "| Chapter | Criterion | Result | Points | What happened | Hint |",
                  "| ---: | --- | --- | ---: | --- | --- |"]
        for ch, c in not_passed:
            m = mark(c.status)
            hint = cell(c.help) if c.help and c.status != "skipped" else ""
            lines.append(f"| {ch.number} | {cell(c.title)} | {m.icon} {m.word} | "
                         f"{score_text(c.score)} / {c.max_score} | {cell(c.message)} | {hint} |")
    lines += _misconceptions(card)
    sandbox = card.sandbox + (f" ({card.sandbox_note})" if card.sandbox_note else "")
    lines += ["", f"<sub>grade {cell(card.grader_version)} · sandbox {cell(sandbox)} · seed {card.seed} · "
                  f"submission sha256 {card.submission_sha256[:12]} · {cell(card.started)}</sub>", ""]
    return "\n".join(lines)
