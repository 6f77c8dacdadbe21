"""GitHub Classroom's points: the payload its grading reporter reads
(classroom-resources/autograding-grading-reporter, src/main.js and src/notify-classroom.js).

The reporter takes a `runners` input, a comma-separated list of step ids; for each id it reads the
environment variable `<ID in upper case>_RESULTS`, decodes it from base64 and parses JSON of the
form `{version, status, max_score, tests: [{name, status, score, message, ...}]}`. The points it
sends to Classroom are the sum of the tests' `score` over `max_score`; it fails the job when
`status` is "fail" or "error". The workflow passes `steps.<id>.outputs.result` into that variable,
and `result=<base64>` appended to $GITHUB_OUTPUT is how a step sets that output.

One test per chapter, so Classroom shows points per chapter; its message carries what the
student needs: each criterion that did not pass, its hint and the probable misconception.
"""

from __future__ import annotations

import base64
import json
from fractions import Fraction
from typing import Any

from ..scorecard import Scorecard
from ..scoring import ChapterResult
from .status import CHAPTER_MARKS, chapter_state, mark
from .text import diagnoses, misconception_line, one_line, score_text

VERSION = 1
MESSAGE_CHARS = 4000   # the reporter prints each message in the job log; keep one chapter readable


def shares(values: list[Fraction], places: int = 2) -> list[float]:
    """`values` rounded to `places` decimals so that the rounded numbers add up to the rounded
    total (each share is the difference of rounded running sums), as a gradebook expects."""
    scale = 10 ** places
    out, before, running = [], 0, Fraction(0)
    for value in values:
        running += value
        after = round(running * scale)
        out.append((after - before) / scale)
        before = after
    return [int(x) if float(x).is_integer() else x for x in out]


def test_status(chapter: ChapterResult) -> str:
    """pass when every criterion passed; error when the chapter could not be graded or the code
    raised or hung; fail otherwise (a missing chapter is points not earned)."""
    statuses = [c.status for c in chapter.criteria]
    if chapter.status == "error" or any(s in ("error", "timeout") for s in statuses):
        return "error"
    return "pass" if chapter.status == "graded" and all(s == "passed" for s in statuses) else "fail"


def chapter_message(chapter: ChapterResult) -> str:
    state = CHAPTER_MARKS[chapter_state(chapter.status, [c.status for c in chapter.criteria])]
    lines = [f"{state.icon} {state.word}: {score_text(chapter.score)}/{chapter.max_score} points"]
    if chapter.status != "graded":
        lines.append(one_line(chapter.run.note))
        return "\n".join(lines)
    for c in chapter.criteria:
        if c.status == "passed":
            continue
        m = mark(c.status)
        lines.append(f"{m.icon} {one_line(c.title, 160)} ({score_text(c.score)}/{c.max_score}): "
                     f"{one_line(c.message or m.word, 300)}")
        if c.help and c.status != "skipped":
            lines.append(f"    hint: {one_line(c.help, 300)}")
        lines += [f"    {misconception_line(d, 600)}" for d in diagnoses(c)]
    text = "\n".join(lines)
    return text if len(text) <= MESSAGE_CHARS else text[: MESSAGE_CHARS - 1] + "…"


def classroom_payload(card: Scorecard) -> dict[str, Any]:
    scores = shares([ch.score for ch in card.chapters])
    every_passed = all(ch.status == "graded" and all(c.status == "passed" for c in ch.criteria)
                       for ch in card.chapters)
    tests = [{"name": f"Chapter {ch.number}: {ch.title}", "status": test_status(ch), "score": score,
              "max_score": ch.max_score, "message": chapter_message(ch), "filename": ch.file,
              "test_code": f"grade chapter {ch.number}", "execution_time": f"{ch.run.duration:.2f}s"}
             for ch, score in zip(card.chapters, scores)]
    return {"version": VERSION, "status": "pass" if every_passed else "fail", "max_score": card.max_score,
            "tests": tests}


def encode_payload(payload: dict[str, Any]) -> str:
    """The payload as the reporter decodes it: compact JSON, UTF-8, base64 on one line."""
    return base64.b64encode(json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()).decode()
