"""The scorecard in a real browser: headless Chromium loads each page from a file:// URL, with
no network, takes a screenshot, and the page must have loaded without a console message, built
the DOM we expect, and drawn something (the screenshot is not one flat colour).

Skips, saying why, where Chromium is not installed; .ci/run installs Debian's `chromium`, so CI
runs it. Set REPORT_SCREENSHOTS=<folder> to keep the screenshots and look at them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

import png_pixels
from grader.report.html import write_html
from report_cards import failing_card, passing_card
from submissions import assemble, grade

CHROMIUM = next((path for path in map(shutil.which, ("chromium", "chromium-browser")) if path), None)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium is not installed (Debian: apt-get install chromium; .ci/run does)")

DESKTOP, PHONE = (1024, 1300), (390, 1200)


def chromium(url: str, *arguments: str) -> subprocess.CompletedProcess:
    """Run headless Chromium once, in a fresh profile, with everything that phones home off."""
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                   "--disable-background-networking", "--disable-component-update", "--disable-sync",
                   "--disable-extensions", "--hide-scrollbars", "--enable-logging=stderr", "--v=0",
                   f"--user-data-dir={profile}", *arguments, url]
        return subprocess.run(command, capture_output=True, text=True, timeout=120,
                              env={**os.environ, "HOME": profile})


def console_messages(stderr: str) -> list[str]:
    # Chromium logs each console message (errors, CSP violations, uncaught exceptions) as
    # ":CONSOLE"; these pages run no script, so any such line means something went wrong.
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


def screenshot(page: Path, out: Path, size: tuple[int, int]) -> None:
    done = chromium(page.as_uri(), f"--screenshot={out}", f"--window-size={size[0]},{size[1]}")
    assert done.returncode == 0, done.stderr[-2000:]
    assert out.exists() and out.stat().st_size > 0, done.stderr[-2000:]
    assert console_messages(done.stderr) == []
    keep = os.environ.get("REPORT_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(out, Path(keep) / out.name)


def assert_not_blank(png: Path, size: tuple[int, int]) -> None:
    width, height, rows = png_pixels.decode(png)
    assert (width, height) == size
    counts = png_pixels.colour_counts(width, rows)
    background, most = counts.most_common(1)[0]
    drawn = 1 - most / sum(counts.values())
    assert len(counts) >= 20, f"{png.name}: only {len(counts)} colours"
    assert drawn > 0.03, f"{png.name}: only {drawn:.1%} of the page differs from its background {background}"


def dom(page: Path) -> str:
    done = chromium(page.as_uri(), "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    assert console_messages(done.stderr) == []
    return done.stdout


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("pages")
    write_html(passing_card(), root / "passing")
    write_html(failing_card(), root / "failing")
    return {"passing": root / "passing", "failing": root / "failing"}


@pytest.mark.parametrize("label, name, size, expect", [
    ("passing", "index.html", DESKTOP, ["MLP from scratch", "7 chapters, 46 of 46 criteria passed"]),
    ("passing", "chapter-07.html", PHONE, ["The 26 letters", "26 of 26 letters named right"]),
    ("failing", "chapter-05.html", DESKTOP, ["Gradient check", "5 of 18 gradient checks are off"]),
    ("failing", "chapter-01.html", PHONE, ["Math foundations", "more characters not shown"]),
])
def test_pages_load_without_errors_and_draw_something(pages, tmp_path, label, name, size, expect):
    page = pages[label] / name
    png = tmp_path / f"{label}-{name.removesuffix('.html')}-{size[0]}.png"
    screenshot(page, png, size)
    assert_not_blank(png, size)
    text = dom(page)
    for phrase in expect:
        assert phrase in text
    assert "<script" not in text and "<img" not in text    # the student's markup stayed text


def test_a_page_prints_to_pdf(pages, tmp_path):
    pdf = tmp_path / "chapter-05.pdf"
    done = chromium((pages["failing"] / "chapter-05.html").as_uri(), f"--print-to-pdf={pdf}",
                    "--no-pdf-header-footer")
    data = pdf.read_bytes() if pdf.exists() else b""
    assert done.returncode == 0 and data.startswith(b"%PDF"), done.stderr[-2000:]
    assert b"/Type /Page" in data or b"/Type/Page" in data


def test_a_really_graded_failing_chapter_renders_in_the_browser(tmp_path):
    submission = assemble("buggy-ch5-bias-gradient-skips-activation", tmp_path)
    run = grade("chapter", "5", "--submission", str(submission), report_dir=tmp_path / "report")
    assert run.code == 1, run.stderr
    page = tmp_path / "report" / "chapter-05.html"
    png = tmp_path / "graded-chapter-05-1024.png"
    screenshot(page, png, DESKTOP)
    assert_not_blank(png, DESKTOP)
    assert "gradient checks are off" in dom(page)
