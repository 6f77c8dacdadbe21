"""The HTML scorecard: one self-contained page per chapter and an index, rendered by Jinja2 from
the page data in pages.py."""

from __future__ import annotations

import functools
from pathlib import Path

import jinja2

from ..scorecard import Scorecard, write_atomically
from .pages import ChapterPage, IndexPage, chapter_filename, chapter_page, index_page


class _TemplateCache(jinja2.FileSystemBytecodeCache):
    """Jinja2's cache of compiled templates, where a cache that cannot be written (its folder
    removed or read-only) means compiling again, never a failed report."""

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError:
            pass


@functools.cache
def environment() -> jinja2.Environment:
    # Autoescape everything, whatever the template's name; StrictUndefined turns a typo in a
    # template into an error in the tests instead of a silently empty cell. Compiling the
    # templates costs more than rendering them: Jinja2 keeps the compiled code in its cache folder
    # (a private one under the temporary folder), keyed by each template's checksum.
    return jinja2.Environment(
        loader=jinja2.PackageLoader("grader.report", "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        bytecode_cache=_TemplateCache(),
    )


def render_chapter(page: ChapterPage, refresh: int | None = None) -> str:
    return environment().get_template("chapter.html").render(page=page, refresh=refresh)


def render_index(page: IndexPage, refresh: int | None = None) -> str:
    return environment().get_template("index.html").render(page=page, refresh=refresh)


def write_html(card: Scorecard, report_dir: Path, refresh: int | None = None) -> list[Path]:
    """The index and a page per chapter; with `refresh`, pages that reload every so many seconds."""
    written = []
    for chapter in card.chapters:
        path = report_dir / chapter_filename(chapter.number)
        write_atomically(path, render_chapter(chapter_page(card, chapter), refresh))
        written.append(path)
    index = report_dir / "index.html"
    write_atomically(index, render_index(index_page(card), refresh))
    return [index, *written]
