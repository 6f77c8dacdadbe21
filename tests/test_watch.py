"""`grade watch`: saving a chapter file grades it again, the terminal says what changed, the
scorecard is rewritten and reloads itself in an open browser, a syntax error is a result like
any other, and Ctrl-C leaves no process behind and pages that no longer reload."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from polling import wait_for


ROOT = Path(__file__).resolve().parent.parent
GRADE = str(Path(sys.executable).parent / "grade")
SIGMOID = "    return 1.0 / (1.0 + math.exp(-z))"
CHROMIUM = next((path for path in map(shutil.which, ("chromium", "chromium-browser")) if path), None)


class Watcher:
    """`grade watch 2` on a copy of the reference, in a session of its own (as a terminal's
    foreground job would be: Ctrl-C goes to its whole process group)."""

    def __init__(self, folder: Path):
        self.submission = folder / "submission"
        shutil.copytree(ROOT / "reference", self.submission, ignore=shutil.ignore_patterns("__pycache__"))
        self.reports = folder / "reports"
        self.log = folder / "watch.log"
        # Its gradings' scratch folders, and so its workers' folders, are in here: a process whose
        # command line or folder names it is one of this watch's.
        self.scratch = folder / "tmp"
        self.scratch.mkdir()
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen([GRADE, "watch", "2", "--submission", str(self.submission),
                                             "--report-dir", str(self.reports)], stdout=out, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, cwd=ROOT, start_new_session=True,
                                            env={**os.environ, "NO_COLOR": "1", "TMPDIR": str(self.scratch)})
        self.results = self.reports / "results.json"
        self.criterion("ch2-sigmoid", 60)

    def criterion(self, ident: str, seconds: float = 30, status: str | None = None) -> dict:
        """The criterion in the latest results.json, once it has `status` (any, by default)."""
        def found() -> dict | None:
            try:
                results = json.loads(self.results.read_text())
            except (OSError, ValueError):
                return None
            match = [c for ch in results["chapters"] for c in ch["criteria"] if c["id"] == ident]
            return match[0] if match and (status is None or match[0]["status"] == status) else None
        return wait_for(found, seconds, f"{ident} to be {status or 'graded'}")

    def edit(self, old: str, new: str) -> None:
        path = self.submission / "02_single_neuron.py"
        text = path.read_text()
        assert old in text
        path.write_text(text.replace(old, new))

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> int:
        os.killpg(self.process.pid, signal.SIGINT)  # what Ctrl-C in its terminal does
        return self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def watcher():
    folder = Path(tempfile.mkdtemp(prefix="grade-watch-test-"))
    running = Watcher(folder)
    yield running
    if running.process.poll() is None:
        running.stop()
    shutil.rmtree(folder, ignore_errors=True)


def test_a_save_grades_again_and_says_what_changed(watcher):
    assert watcher.criterion("ch2-sigmoid")["status"] == "passed"
    assert re.search(r'<meta http-equiv="refresh" content="\d+">', (watcher.reports / "index.html").read_text())
    watcher.edit(SIGMOID, SIGMOID.replace("-z", "z"))
    assert watcher.criterion("ch2-sigmoid", status="failed")["score"] == 0
    wait_for(lambda: "ch2-sigmoid: passed \u2192 failed" in watcher.output(), 10, "the change to be shown")
    watcher.edit(SIGMOID.replace("-z", "z"), SIGMOID)
    watcher.criterion("ch2-sigmoid", status="passed")
    wait_for(lambda: "ch2-sigmoid: failed \u2192 passed" in watcher.output(), 10, "the change back")
    assert watcher.process.poll() is None


def test_a_syntax_error_mid_edit_is_a_result(watcher):
    watcher.edit(SIGMOID, "    return 1.0 / (1.0 + math.exp(-z)")
    imports = watcher.criterion("ch2-imports", status="error")
    assert "SyntaxError" in imports["message"]
    watcher.edit("    return 1.0 / (1.0 + math.exp(-z)", SIGMOID)
    watcher.criterion("ch2-imports", status="passed")
    assert watcher.process.poll() is None


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (.ci/run installs it)")
def test_an_open_scorecard_reloads_itself(watcher, tmp_path):
    """Chromium keeps the chapter page open; its title carries the score, and the DevTools list
    of open pages (plain HTTP) shows the title change after a save, with no script on the page."""
    page = watcher.reports / "chapter-02.html"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    browser = subprocess.Popen([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                                f"--remote-debugging-port={port}", f"--user-data-dir={tmp_path / 'profile'}",
                                page.as_uri()], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, "HOME": str(tmp_path)})

    def title() -> str:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=2) as answer:
                pages = json.load(answer)
        except OSError:
            return ""
        return next((p["title"] for p in pages if p.get("url", "").endswith("chapter-02.html")), "")

    try:
        assert wait_for(lambda: "10/10" in title(), 60, "the page to open with 10/10")
        watcher.edit(SIGMOID, SIGMOID.replace("-z", "z"))
        watcher.criterion("ch2-sigmoid", status="failed")
        assert wait_for(lambda: "/10" in title() and "10/10" not in title() and title(), 20,
                        "the open page to reload with the new score")
    finally:
        browser.kill()
        browser.wait()
        watcher.edit(SIGMOID.replace("-z", "z"), SIGMOID)
        watcher.criterion("ch2-sigmoid", status="passed")


def test_ctrl_c_leaves_no_process_and_pages_that_stay_still(tmp_path):
    watcher = Watcher(tmp_path)
    watcher.edit(SIGMOID, SIGMOID.replace("-z", "z"))
    time.sleep(0.3)  # a grading is under way when Ctrl-C comes
    assert watcher.stop() == 0
    assert "stopped watching" in watcher.output()
    assert "refresh" not in (watcher.reports / "index.html").read_text()
    markers = (str(watcher.submission), str(watcher.scratch))

    def alive() -> list[str]:
        found = []
        for entry in Path("/proc").iterdir():
            try:
                text = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                folder = os.readlink(entry / "cwd")
            except OSError:
                continue
            if any(marker in text or folder.startswith(marker) for marker in markers):
                found.append(f"{entry.name}: {text[:100]}")
        return found
    time.sleep(0.5)
    assert alive() == []
    # every grading's scratch folder went with it (Jinja2's cache of compiled templates stays)
    assert [p.name for p in watcher.scratch.iterdir() if not p.name.startswith("_jinja2-cache")] == []


def test_a_save_before_the_file_watcher_is_ready_is_graded(tmp_path, monkeypatch):
    """The file watcher starts after the first run: a save made in between (while the first run
    writes its results, on a busy machine) used to go unseen. The first answer of the watcher, armed
    by then, compares the files with what the first run graded."""
    import threading

    import watchfiles

    from grader.course import load_course
    from grader.reference import LiveReference
    from grader.watch import WatchOptions, watch

    submission = tmp_path / "submission"
    shutil.copytree(ROOT / "reference", submission, ignore=shutil.ignore_patterns("__pycache__"))
    chapter = submission / "02_single_neuron.py"
    stop, screens = threading.Event(), []

    def late_watcher(*paths, **options):
        # the save lands after the first run, before the watcher's first answer (an idle one)
        chapter.write_text(chapter.read_text().replace(SIGMOID, SIGMOID.replace("-z", "z")))
        yield set()
        stop.set()

    monkeypatch.setattr(watchfiles, "watch", late_watcher)
    course = load_course(ROOT / "course.yaml")
    card = watch(course, LiveReference(course), [2], WatchOptions(submission, tmp_path / "reports"),
                 screens.append, stop)
    assert any("02_single_neuron.py saved" in screen for screen in screens), screens[-1]
    sigmoid = next(c for ch in card.chapters for c in ch.criteria if c.id == "ch2-sigmoid")
    assert sigmoid.status == "failed"
