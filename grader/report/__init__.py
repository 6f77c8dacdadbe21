"""The reports of a grading run: the HTML scorecard students read (a page per chapter and an
index), and the formats instructors and CI read (JUnit XML, Gradescope, Markdown, GitHub
annotations). Each is a pure function of the Scorecard; writer.py does the writing."""

from .writer import DEFAULT_FORMATS, FORMATS, Reports, parse_formats, write_reports

__all__ = ["DEFAULT_FORMATS", "FORMATS", "Reports", "parse_formats", "write_reports"]
