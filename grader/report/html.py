"""The HTML scorecard: one self-contained page per chapter and an index, rendered by Jinja2 from
the page data in pages.py."""

from __future__ import annotations

import functools
from pathlib import Path

import jinja2

from ..scorecard import Scorecard, write_atomically
from .pages import ChapterPage, IndexPage, chapter_filename, chapter_page, index_page


@functools.cache
def environment() -> jinja2.Environment:
    # Autoescape everything, whatever the template's name; StrictUndefined turns a typo in a
    # template into an error in the tests instead of a silently empty cell.
    return jinja2.Environment(
        loader=jinja2.PackageLoader("grader.report", "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )


def render_chapter(page: ChapterPage) -> str:
    return environment().get_template("chapter.html").render(page=page)


def render_index(page: IndexPage) -> str:
    return environment().get_template("index.html").render(page=page)


def write_html(card: Scorecard, report_dir: Path) -> list[Path]:
    written = []
    for chapter in card.chapters:
        path = report_dir / chapter_filename(chapter.number)
        write_atomically(path, render_chapter(chapter_page(card, chapter)))
        written.append(path)
    index = report_dir / "index.html"
    write_atomically(index, render_index(index_page(card)))
    return [index, *written]
