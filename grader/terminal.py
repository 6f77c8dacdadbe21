"""The scorecard as a student reads it in a terminal: a mark, the points and, for a failure,
one line of what went wrong and the hint."""

from __future__ import annotations

import textwrap

import click

from .budget import budget_lines
from .outcomes import Diagnosis
from .scorecard import Scorecard, points

MARKS = {"passed": ("✓", "green"), "failed": ("✗", "red"), "error": ("!", "red"),
         "timeout": ("⏱", "yellow"), "skipped": ("–", "bright_black")}


def _fmt(value) -> str:
    return str(points(value))


def _diagnosis_lines(d: Diagnosis, *, again: bool, style) -> list[str]:
    """The probable misconception, in full the first time a chapter names it."""
    head = style(f"      probable misconception: {d.title}", fg="magenta", bold=True)
    if again:
        return [head + " (see above)"]
    body = textwrap.wrap(f"{d.did} {d.why}", 92, initial_indent="        ", subsequent_indent="        ")
    where = f"        read again: “{d.lesson}”" + (f" in {d.guide}" if d.guide else "")
    return [head, *body, style(where, fg="magenta")]


def render_terminal(card: Scorecard, *, color: bool, verbose: bool = False) -> str:
    style = (lambda text, **kw: click.style(text, **kw)) if color else (lambda text, **kw: text)
    lines: list[str] = []
    for chapter in card.chapters:
        head = f"Chapter {chapter.number} — {chapter.title}"
        score = f"{_fmt(chapter.score)}/{chapter.max_score}"
        lines.append(style(f"{head}  {score}", bold=True))
        if chapter.status != "graded":
            lines.append(f"  {style(chapter.status.upper(), fg='yellow')}: {chapter.run.note}")
            lines.append("")
            continue
        named: set[str] = set()  # a mistake explained once per chapter; later criteria refer back
        for c in chapter.criteria:
            mark, colour = MARKS[c.status]
            pts = f"{_fmt(c.score)}/{c.max_score}"
            lines.append(f"  {style(mark, fg=colour)} {c.title}  {style(pts, fg=colour)}")
            if c.context:
                lines += textwrap.wrap(c.context, 110, initial_indent="      ", subsequent_indent="      ")
            if c.status == "passed":
                continue
            if c.message and c.status == "timeout":  # what ran out, by how much and why: all of it
                lines += textwrap.wrap(c.message, 110, initial_indent="      ", subsequent_indent="      ")
            elif c.message:
                lines.append("      " + textwrap.shorten(c.message, 150, placeholder=" …"))
            if verbose and c.call:
                lines.append(f"      call: {c.call}")
            if verbose and c.expected is not None:
                lines.append(f"      expected: {c.expected}\n      actual:   {c.actual}")
            if c.help and c.status != "skipped":
                lines.append(style(f"      hint: {c.help}", fg="cyan"))
            for d in c.diagnosis:
                lines += _diagnosis_lines(d, again=d.mistake in named, style=style)
                named.add(d.mistake)
        if chapter.run.restarts:
            lines.append(style(f"  (the worker was restarted {chapter.run.restarts} time(s) after a crash or timeout)",
                               fg="bright_black"))
        lines.append("")
    total = f"Total: {_fmt(card.score)}/{card.max_score}"
    lines.append(style(total, bold=True))
    tier = f"sandbox: {card.sandbox}" + (f" ({card.sandbox_note})" if card.sandbox_note else "")
    lines.append(style(f"{tier} · seed {card.seed} · {card.duration:.2f} s", fg="bright_black"))
    used = {ch.number: ch.run.training_cpu for ch in card.chapters}
    for record in card.training:
        lines += [style(f"{label}: {text}", fg="bright_black")
                  for label, text in budget_lines(record, used.get(record.chapter))]
    return "\n".join(lines)
