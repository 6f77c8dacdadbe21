"""Text every report format can show safely: what a student printed or returned, made printable
and clipped, and numbers written for people."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction

from ..outcomes import Diagnosis
from ..scorecard import points
from ..scoring import CriterionResult

# Terminal colour and cursor codes a student's prints may contain: noise on a page.
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")
# C0/C1 controls other than tab and newline, lone surrogates and the two non-characters: HTML
# calls them parse errors and XML 1.0 forbids them outright.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def printable(text: str) -> str:
    text = _ANSI.sub("", text).replace("\r\n", "\n").replace("\r", "\n")
    return _UNPRINTABLE.sub("\ufffd", text)


@dataclass(frozen=True)
class Clipped:
    text: str
    total_chars: int
    hidden_chars: int       # how much was cut off the end (0: shown in full)

    @property
    def cut(self) -> bool:
        return self.hidden_chars > 0


def clip(text: str, *, max_chars: int, max_lines: int) -> Clipped:
    """The start of `text`, at most `max_chars` characters and `max_lines` lines."""
    text = printable(text)
    shown = text[:max_chars]
    lines = shown.split("\n")
    if len(lines) > max_lines:
        shown = "\n".join(lines[:max_lines])
    return Clipped(shown, len(text), len(text) - len(shown))


def one_line(text: str, limit: int = 300) -> str:
    """A message squeezed onto one line (annotations, table cells), cut with an ellipsis."""
    flat = " ".join(printable(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def score_text(value: Fraction | int) -> str:
    """Points as people read them: 7, 7.5, 1.33 (exact fractions are kept for the sums)."""
    return str(points(Fraction(value)))


def percent(part: Fraction | float, whole: float) -> float:
    """part / whole as a percentage in [0, 100], 1 decimal; a whole of 0 counts as done."""
    if whole <= 0:
        return 100.0
    return round(min(100.0, max(0.0, float(part) * 100 / whole)), 1)


def number(value: object, digits: int = 6) -> str:
    """A measured value: NaN and infinities by name, others with `digits` significant digits."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "—" if value is None else one_line(str(value), 40)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    return f"{value:.{digits}g}".replace("-", "−")


def small_number(value: float) -> str:
    """A relative error or tolerance: 2 significant digits, scientific when far from 1."""
    if math.isnan(value) or math.isinf(value) or value == 0:
        return number(value)
    if 1e-3 <= abs(value) < 1e4:
        return number(value, 2)
    mantissa, exponent = f"{value:.1e}".split("e")
    return f"{mantissa} × 10{superscript(int(exponent))}"


def times(ratio: float) -> str:
    """A ratio people can picture: 8.3×, 50,000×, 2.0 × 10⁹×."""
    if ratio < 10:
        return f"{number(ratio, 2)}×"
    if ratio < 1e6:
        return f"{ratio:,.0f}×"
    return f"{small_number(ratio)}×"


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def superscript(exponent: int) -> str:
    return str(exponent).translate(_SUPERSCRIPT)


@dataclass(frozen=True)
class Span:
    text: str
    code: bool


def code_spans(text: str) -> tuple[Span, ...]:
    """A hint split at its `backticks`, so commands and code show as code."""
    parts = printable(text).split("`")
    if len(parts) % 2 == 0:      # an unpaired backtick: show the text as written
        return (Span(printable(text), False),)
    return tuple(Span(part, i % 2 == 1) for i, part in enumerate(parts) if part)


def criterion_text(c: CriterionResult) -> str:
    """What went wrong with a criterion, as plain-text lines: message, the failing call with
    expected and actual values (visible criteria only), where it raised, and the hint; or how a
    result depends on the chapter's other parts."""
    lines = [c.message] if c.message else []
    if c.context:
        lines.append(c.context)
    if c.visibility == "visible" and c.status != "passed":
        if c.call:
            lines.append(f"call:     {c.call}")
        if c.expected is not None:
            lines.append(f"expected: {c.expected}")
        if c.actual is not None:
            lines.append(f"actual:   {c.actual}")
    where = c.location if isinstance(c.location, dict) else None
    if where and c.status != "passed" and where.get("file"):
        at = f"{where['file']}, line {where.get('line')}" if where.get("line") else str(where["file"])
        lead = "still running in" if c.status == "timeout" else "raised in"
        lines.append(f"{lead} {at}" + (f", in {where['function']}" if where.get("function") else ""))
        if where.get("code"):
            lines.append(f"    {str(where['code']).strip()}")
    if c.help and c.status not in ("passed", "skipped"):
        lines.append(f"hint: {c.help}")
    for d in diagnoses(c):
        lines += [f"probable misconception: {d.title}", f"  {d.did} {d.why}", f"  {lesson_text(d)}"]
    return printable("\n".join(lines))


def diagnoses(c: CriterionResult) -> tuple[Diagnosis, ...]:
    """The known mistakes a report names for a criterion: only for one that did not pass. Shown for
    hidden criteria too, as on the HTML scorecard: a misconception gives away no hidden value."""
    return c.diagnosis if c.status != "passed" else ()


def lesson_text(d: Diagnosis) -> str:
    return f"read again: “{d.lesson}”" + (f" in {d.guide}" if d.guide else "")


def misconception_line(d: Diagnosis, limit: int = 400) -> str:
    """A misconception on one line, for formats that allow no more (annotations, table cells)."""
    return one_line(f"probable misconception: {d.title}. {d.did} {d.why} {lesson_text(d)}", limit)
