"""The reports of a grading run: the HTML scorecard students read (a page per chapter and an
index), and the formats instructors and CI read (JUnit XML, Gradescope, Markdown, GitHub
annotations). Each is a pure function of the Scorecard; writer.py does the writing."""

from typing import Any

from .formats import DEFAULT_FORMATS, FORMATS, parse_formats

__all__ = ["DEFAULT_FORMATS", "FORMATS", "Reports", "parse_formats", "write_reports"]


def __getattr__(name: str) -> Any:
    # The renderers (Jinja2 and the templates) load only when something is written, so that
    # `grade` can start its sandbox probe while they load.
    if name in ("Reports", "write_reports"):
        from . import writer
        return getattr(writer, name)
    raise AttributeError(name)
