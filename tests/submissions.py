"""Helpers for tests that grade fixture submissions with the real `grade` command."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "submissions"
GRADE = [sys.executable, "-m", "grader"]


def assemble(name: str, into: Path) -> Path:
    """A submission folder: the reference chapters overlaid with the fixture `name`'s files
    (a file `<chapter>.missing` removes that chapter)."""
    folder = into / name
    folder.mkdir(parents=True)
    for chapter in sorted((ROOT / "reference").glob("0*.py")):
        shutil.copyfile(chapter, folder / chapter.name)
    for item in sorted((FIXTURES / name).iterdir()):
        if item.name.endswith(".missing"):
            (folder / item.name.removesuffix(".missing")).unlink()
        else:
            shutil.copyfile(item, folder / item.name)
    return folder


def short_limits_course(into: Path, request_timeout: float = 1.0, chapter_timeout: float = 20.0) -> Path:
    """A copy of course.yaml with short time limits, so tests of hanging code finish quickly."""
    text = (ROOT / "course.yaml").read_text()
    text = text.replace("request_timeout: 5 ", f"request_timeout: {request_timeout} ")
    text = text.replace("chapter_timeout: 60 ", f"chapter_timeout: {chapter_timeout} ")
    text = text.replace("reference: reference", f"reference: {ROOT / 'reference'}")
    text = text.replace("exercises: exercises", f"exercises: {ROOT / 'exercises'}")
    path = into / "course.yaml"
    path.write_text(text)
    return path


@dataclass(frozen=True)
class Graded:
    code: int
    stdout: str
    stderr: str
    results: dict | None

    def chapter(self, number: int) -> dict:
        return next(ch for ch in self.results["chapters"] if ch["number"] == number)

    def scores(self) -> dict[int, float]:
        return {ch["number"]: ch["score"] for ch in self.results["chapters"]}

    def criterion(self, criterion_id: str) -> dict:
        return next(c for ch in self.results["chapters"] for c in ch["criteria"] if c["id"] == criterion_id)


def grade(*args: str, cwd: Path = ROOT, env: dict | None = None, report_dir: Path | None = None,
          timeout: float = 300) -> Graded:
    """Run `grade ARGS...` as a student would and read the results.json it wrote."""
    command = [*GRADE, *args]
    if report_dir is not None:
        command += ["--report-dir", str(report_dir)]
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    done = subprocess.run(command, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout)
    results_path = (report_dir or ROOT / "reports") / "results.json"
    results = json.loads(results_path.read_text()) if report_dir is not None and results_path.exists() else None
    return Graded(done.returncode, done.stdout, done.stderr, results)
