"""`grade ... --format`: the reports the real command writes, end to end."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from submissions import ROOT, assemble, grade


class Table(HTMLParser):
    """The rows of the page's tables: each row's class and its cells' text."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.rows: list[tuple[str, list[str]]] = []
        self._cell: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append((dict(attrs).get("class") or "", []))
        elif tag in ("td", "th") and self.rows:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1][1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def test_an_unknown_format_is_a_usage_error_naming_the_option(tmp_path):
    run = grade("chapter", "1", "--submission", str(ROOT / "reference"), "--format", "html,pdf",
                report_dir=tmp_path)
    assert run.code == 2
    assert "Invalid value for '--format'" in run.stderr and "unknown format 'pdf'" in run.stderr
    assert "choose from html, junit, gradescope, markdown, github" in run.stderr
    assert not (tmp_path / "results.json").exists()   # rejected before anything ran


def test_html_is_the_default_and_results_json_is_always_written(tmp_path):
    run = grade("chapter", "1", "--submission", str(ROOT / "reference"), report_dir=tmp_path)
    assert run.code == 0, run.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chapter-01.html", "index.html", "results.json"]
    assert f"scorecard: {tmp_path / 'index.html'}" in run.stdout
    page = (tmp_path / "chapter-01.html").read_text(encoding="utf-8")
    assert "<h1>Math foundations</h1>" in page and "<strong>10</strong>" in page


def test_grade_all_on_the_reference_writes_an_index_with_seven_full_bars(tmp_path):
    run = grade("all", "--submission", str(ROOT / "reference"), report_dir=tmp_path)
    assert run.code == 0, run.stderr
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    chapters = re.findall(r'<li class="good">\s*<a href="chapter-0(\d).html">.*?<rect class="fill" width="([\d.]+)"',
                          index, re.S)
    assert chapters == [(str(n), "100.0") for n in range(1, 8)]
    assert '<strong>100</strong><span class="of">/ 100 points</span>' in index
    for n in range(1, 8):
        assert (tmp_path / f"chapter-0{n}.html").exists()
    page7 = (tmp_path / "chapter-07.html").read_text(encoding="utf-8")
    assert "Loss per epoch" in page7 and "26 of 26 letters named right" in page7
    assert "Loss per epoch" in (tmp_path / "chapter-06.html").read_text(encoding="utf-8")
    assert "All 18 gradient checks are within their tolerance." in (tmp_path / "chapter-05.html").read_text()


def test_a_wrong_bias_gradient_shows_as_a_table_and_a_picture(tmp_path):
    submission = assemble("buggy-ch5-bias-gradient-skips-activation", tmp_path)
    run = grade("chapter", "5", "--submission", str(submission), report_dir=tmp_path / "report")
    assert run.code == 1, run.stderr
    assert run.criterion("ch5-grad-biases")["status"] == "failed"
    assert {run.criterion(f"ch5-grad-{kind}")["status"] for kind in ("weights", "inputs")} == {"passed"}
    page = (tmp_path / "report" / "chapter-05.html").read_text(encoding="utf-8")
    section = page[page.index('<section class="figure" aria-labelledby="gc-h">'):]
    section = section[:section.index("</section>")]
    rows = [(cls, cells) for cls, cells in Table(section).rows if cls]   # skip the header row
    failed = [cells[0] for cls, cells in rows if cls == "bad"]
    assert len(rows) == 18 and len(failed) >= 3
    assert all(name.endswith("· biases") for name in failed)          # which gradients are wrong ...
    for cls, cells in rows:
        if cls == "bad":
            assert "the tolerance" in cells[2] or cells[2] in ("NaN", "∞")   # ... and by how much
    svg = section[section.index("<svg"):section.index("</svg>")]
    assert svg.count('<g class="bad">') == len(failed) and svg.count('<g class="good">') == 18 - len(failed)
    assert "gradient checks are off: layer 1 biases" in svg
