"""The HTML scorecard: golden pages, self-contained files, and student text always escaped.

Golden files live in tests/golden/; after an intended change to the pages, regenerate them with
    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_report_html.py tests/test_report_formats.py
and review the diff. The cards they render fix every date, path and duration (report_cards.py).
"""

from __future__ import annotations

import difflib
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from grader.report.html import render_chapter, render_index, write_html
from grader.report.pages import chapter_page, index_page
from report_cards import failing_card, passing_card
from submissions import ROOT, assemble, grade

GOLDEN = Path(__file__).parent / "golden"
REPORT = ROOT / "grader" / "report"


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"no golden file {path}; create it with UPDATE_GOLDEN=1"
    expected = path.read_text(encoding="utf-8")
    if text != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), text.splitlines(True),
                                            f"golden/{name}", "rendered", n=2))
        pytest.fail(f"{name} differs from its golden file (UPDATE_GOLDEN=1 to accept):\n{diff[:6000]}")


def chapter_html(card, number: int) -> str:
    return render_chapter(chapter_page(card, next(ch for ch in card.chapters if ch.number == number)))


class Elements(HTMLParser):
    """Every start tag with its attributes, and the text of <style> elements."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.styles: list[str] = []
        self._in_style = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(data)


def all_pages() -> dict[str, str]:
    pages = {}
    for label, card in (("passing", passing_card()), ("failing", failing_card())):
        pages[f"{label}/index.html"] = render_index(index_page(card))
        for ch in card.chapters:
            pages[f"{label}/chapter-{ch.number:02d}.html"] = chapter_html(card, ch.number)
    return pages


# --- golden pages ------------------------------------------------------------------------

@pytest.mark.parametrize("label, number", [
    ("passing", None), ("passing", 5), ("passing", 7),
    ("failing", None), ("failing", 1), ("failing", 3), ("failing", 5), ("failing", 6), ("failing", 7),
])
def test_pages_match_their_golden_files(label, number):
    card = passing_card() if label == "passing" else failing_card()
    if number is None:
        check_golden(f"{label}-index.html", render_index(index_page(card)))
    else:
        check_golden(f"{label}-chapter-{number:02d}.html", chapter_html(card, number))


def test_write_html_writes_an_index_and_a_page_per_chapter(tmp_path):
    written = write_html(failing_card(), tmp_path)
    assert [p.name for p in written] == ["index.html"] + [f"chapter-{n:02d}.html" for n in range(1, 8)]
    assert (tmp_path / "chapter-05.html").read_text(encoding="utf-8") == chapter_html(failing_card(), 5)


# --- self-contained ----------------------------------------------------------------------

URL_ATTRIBUTES = {"href", "src", "srcset", "action", "formaction", "data", "poster", "xlink:href", "background",
                  "cite", "longdesc", "manifest", "ping"}
LOCAL_LINK = re.compile(r"^(#[\w-]+|index\.html|chapter-\d\d\.html)$")


@pytest.mark.parametrize("name", sorted(all_pages()))
def test_every_page_is_self_contained_with_no_external_url(name):
    text = all_pages()[name]
    elements = Elements(text)
    tags = {tag for tag, _ in elements.tags}
    assert not tags & {"script", "link", "img", "iframe", "object", "embed", "base", "form", "audio", "video"}
    for tag, attributes in elements.tags:
        for attribute, value in attributes.items():
            assert not attribute.startswith("on"), f"<{tag} {attribute}>"
            if attribute in URL_ATTRIBUTES:
                assert LOCAL_LINK.match(value or ""), f"<{tag} {attribute}={value!r}> is not a link inside the report"
            assert "url(" not in (value or "").lower(), f"<{tag} {attribute}={value!r}>"
    # no URL of any kind anywhere: not in the markup, not in the CSS (also not the SVG namespace,
    # which inline SVG in HTML does not need)
    assert not re.search(r"(?i)\b(https?|ftp|file|data|javascript):|//[\w.-]+\.\w", text), name
    css = "".join(elements.styles)
    assert len(css) > 1000 and "@import" not in css and "url(" not in css
    assert "default-src 'none'" in text   # and the policy forbids loading anything anyway


def test_the_pages_stay_small():
    sizes = {name: len(text.encode()) for name, text in all_pages().items()}
    assert max(sizes.values()) < 60_000, sizes


# --- escaping ----------------------------------------------------------------------------

def assert_escaped(text: str) -> None:
    elements = Elements(text)
    assert "script" not in {tag for tag, _ in elements.tags} and "img" not in {tag for tag, _ in elements.tags}
    assert not any(a.startswith("on") for _, attributes in elements.tags for a in attributes)
    assert "<script" not in text and "<img" not in text


def test_student_text_is_escaped_on_every_synthetic_page():
    card = failing_card()
    ch1 = chapter_html(card, 1)
    assert_escaped(ch1)
    assert "&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;" in ch1           # message, location, output
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in ch1                    # actual value and stderr
    ch7 = chapter_html(card, 7)
    assert_escaped(ch7)
    assert "&lt;…" in ch7   # the letter grid's predicted "<script>…", cut to fit and escaped


def test_no_template_or_report_module_marks_anything_safe():
    for path in [*REPORT.glob("*.py"), *(REPORT / "templates").iterdir()]:
        source = path.read_text(encoding="utf-8")
        assert "|safe" not in source.replace(" ", "") and "Markup(" not in source, path
        assert "autoescape false" not in source and "autoescape=False" not in source, path


@pytest.fixture(scope="module")
def markup_run(tmp_path_factory):
    """The fixture that prints, returns and raises HTML, graded by the real `grade` command."""
    into = tmp_path_factory.mktemp("markup")
    submission = assemble("unruly-markup-in-ch1-output-shown-escaped", into)
    report = into / "report"
    run = grade("chapter", "1", "--submission", str(submission),
                "--format", "html,junit,gradescope,markdown,github", report_dir=report)
    return run, report


def test_a_submission_that_prints_and_returns_markup_gets_it_shown_escaped(markup_run):
    run, report = markup_run
    assert run.code == 1, run.stderr
    assert {c["id"]: c["status"] for c in run.results["chapters"][0]["criteria"]} == {
        "ch1-imports": "passed", "ch1-stdlib": "passed", "ch1-vector-ops": "failed", "ch1-dot": "error",
        "ch1-transpose": "failed", "ch1-matvec": "passed", "ch1-matmul": "passed"}
    page = (report / "chapter-01.html").read_text(encoding="utf-8")
    assert_escaped(page)
    assert "&lt;script&gt;alert(&#39;stdout&#39;)&lt;/script&gt;" in page          # printed
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in page                    # printed to stderr, returned
    assert "ValueError: &lt;script&gt;alert(&#39;raised&#39;)&lt;/script&gt;" in page   # raised
    assert "&#34;&lt;script&gt;alert(&#39;returned&#39;)&lt;/script&gt;&#34;" in page  # returned by transpose
    assert_escaped((report / "index.html").read_text(encoding="utf-8"))
