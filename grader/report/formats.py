"""The names of the report formats and the parsing of `--format`: kept apart from the renderers so
the command line can offer them without loading Jinja2."""

from __future__ import annotations

FORMATS = ("html", "junit", "gradescope", "markdown", "github", "classroom")
DEFAULT_FORMATS = ("html",)


def parse_formats(text: str) -> tuple[str, ...]:
    """'html,junit' -> ('html', 'junit'): known names only, each once, in the order given."""
    names = [name.strip().lower() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in FORMATS]
    if unknown:
        raise ValueError(f"unknown format{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
                         f"choose from {', '.join(FORMATS)} (comma-separated)")
    if not names:
        raise ValueError(f"no format given; choose from {', '.join(FORMATS)} (comma-separated)")
    return tuple(dict.fromkeys(names))
