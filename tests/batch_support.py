"""Building class folders for the batch tests (and bench/bench_batch.py), running `grade batch`
as an instructor would, and reading back what it wrote."""

from __future__ import annotations

import csv
import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

from submissions import ROOT, assemble

GRADE = [sys.executable, "-m", "grader"]
CHAPTER_FILES = sorted(path.name for path in (ROOT / "reference").glob("0*.py"))
PAGES = ("index.html", *(f"chapter-{n:02d}.html" for n in range(1, 8)))


def student(into: Path, name: str, fixture: str | None = None, *, keep: tuple[int, ...] = (1, 2, 3, 4, 5, 6)) -> Path:
    """A submission folder `into/name`: the reference overlaid with a fixture's mistake, keeping
    only the chapters in `keep` (chapter 7 left out by default: it trains for seconds)."""
    scratch = into / f".build-{name}"
    folder = assemble(fixture, scratch) if fixture else _reference(scratch)
    for chapter in CHAPTER_FILES:
        if int(chapter[:2]) not in keep:
            (folder / chapter).unlink(missing_ok=True)
    target = into / name
    folder.rename(target)
    shutil.rmtree(scratch)
    return target


def _reference(scratch: Path) -> Path:
    folder = scratch / "reference"
    folder.mkdir(parents=True)
    for chapter in CHAPTER_FILES:
        shutil.copyfile(ROOT / "reference" / chapter, folder / chapter)
    return folder


def sleepy(into: Path, name: str) -> Path:
    """A submission whose every chapter hangs at import (sleeping: it costs time, not CPU)."""
    folder = into / name
    folder.mkdir(parents=True)
    for chapter in CHAPTER_FILES[:6]:
        source = (ROOT / "reference" / chapter).read_text()
        (folder / chapter).write_text("import time\ntime.sleep(1000)\n" + source)
    return folder


def zipped(folder: Path, archive: Path, *, top: str | None = None, junk: bool = False) -> Path:
    """Zip `folder` (under one top folder `top` if given), as macOS's Finder would with `junk`:
    a __MACOSX folder and a symbolic link beside the files. The folder is removed."""
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
        for path in sorted(folder.iterdir()):
            out.write(path, f"{top}/{path.name}" if top else path.name)
        if junk:
            out.writestr("__MACOSX/._01_math_foundations.py", b"\x00\x05\x16\x07")
            link = zipfile.ZipInfo(f"{top}/passwd" if top else "passwd")
            link.external_attr = (stat.S_IFLNK | 0o777) << 16
            out.writestr(link, "/etc/passwd")
    shutil.rmtree(folder)
    return archive


def zip_bomb(archive: Path) -> Path:
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr("01_math_foundations.py", bytes(200 << 20))   # 200 MiB of zeros, ~200 KB packed
    return archive


def short_course(into: Path, request_timeout: float = 1.0, chapter_timeout: float = 20.0) -> Path:
    """course.yaml with short limits, for classes with hanging submissions."""
    text = (ROOT / "course.yaml").read_text()
    text = text.replace("request_timeout: 5 ", f"request_timeout: {request_timeout} ")
    text = text.replace("chapter_timeout: 60 ", f"chapter_timeout: {chapter_timeout} ")
    text = text.replace("reference: reference", f"reference: {ROOT / 'reference'}")
    text = text.replace("exercises: exercises", f"exercises: {ROOT / 'exercises'}")
    into.mkdir(parents=True, exist_ok=True)
    (into / "course.yaml").write_text(text)
    return into / "course.yaml"


def batch_command(submissions: Path, report_dir: Path, *options: str) -> list[str]:
    return [*GRADE, "batch", str(submissions), "--report-dir", str(report_dir), *options]


def run(command: list[str], timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "NO_COLOR": "1"}, stdin=subprocess.DEVNULL)


def grade_batch(submissions: Path, report_dir: Path, *options: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return run(batch_command(submissions, report_dir, *options), timeout)


def manifest(report_dir: Path) -> dict:
    return json.loads((report_dir / "batch.json").read_text())


def scores_bytes(report_dir: Path) -> str:
    """batch.json's `scores` part, serialized exactly as the file has it."""
    return json.dumps(manifest(report_dir)["scores"], indent=2, ensure_ascii=False)


def grades(report_dir: Path) -> list[dict[str, str]]:
    with open(report_dir / "grades.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def canonical(report_dir: Path) -> dict[str, object]:
    """Per student: scores and statuses per criterion, read from their own results.json."""
    out = {}
    for record in manifest(report_dir)["scores"]["students"]:
        path = report_dir / record["student"] / "results.json"
        if record["status"] == "graded":
            results = json.loads(path.read_text())
            out[record["student"]] = [(ch["number"], ch["status"], ch["score"],
                                       [(c["id"], c["status"], c["score"]) for c in ch["criteria"]])
                                      for ch in results["chapters"]]
        else:
            out[record["student"]] = record["status"]
    return out
