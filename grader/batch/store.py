"""The class report folder on disk: each student's folder, published so that a batch killed at
any moment leaves every finished result whole, and the keys that let --resume skip them.

Every file is written into DIR/.staging first and renamed into place (a rename is atomic), so
no half-written file ever sits under its real name. A student's results.json is removed before
its pages are replaced and renamed into place last: a folder with a results.json is complete,
and one without is graded again.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from ..errors import UsageError
from .records import Outline

STAGING = ".staging"
LOCK = ".lock"
RESULTS = "results.json"
_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


@dataclass(frozen=True)
class ResumeKey:
    """What a result depends on: the same key means grading again would give the same scores."""

    submission_sha256: str
    course_sha256: str
    grader_version: str
    seed: int


def key_of(results: Mapping[str, Any]) -> ResumeKey | None:
    try:
        return ResumeKey(str(results["submission"]["sha256"]), str(results["course"]["sha256"]),
                         str(results["grader_version"]), int(results["seed"]))
    except (KeyError, TypeError, ValueError):
        return None


def complete(results: Mapping[str, Any], outline: Outline) -> bool:
    """Whether a results.json grades every chapter of the rubric (not a `grade chapter` run)."""
    try:
        return [ch["number"] for ch in results["chapters"]] == [ch.number for ch in outline.chapters]
    except (KeyError, TypeError):
        return False


class Store:
    def __init__(self, root: Path):
        self.root = root
        self._lock: int | None = None
        # Temporary files are private (0600); published ones get the usual mode, so a web server
        # or a colleague can read the reports as they can read anything else the user writes.
        umask = os.umask(0)
        os.umask(umask)
        self._mode = 0o666 & ~umask

    def prepare(self) -> None:
        """Create the folder, take it for this run alone, and clear what a killed run left
        half-written in its staging area."""
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = os.open(self.root / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self._lock)
            self._lock = None
            raise UsageError(f"another batch is writing to {self.root}; wait for it or choose another "
                             "--report-dir") from None
        shutil.rmtree(self.root / STAGING, ignore_errors=True)

    def staging(self) -> Path:
        """The folder for what is not finished yet; cleared at the start and end of every run."""
        staging = self.root / STAGING
        staging.mkdir(exist_ok=True)
        return staging

    def _staged(self, text: str) -> Path:
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=self.staging(), delete=False,
                                         suffix=".tmp") as handle:
            handle.write(text)
            os.fchmod(handle.fileno(), self._mode)
        return Path(handle.name)

    def publish(self, relative: str, text: str) -> Path:
        """Write one file of the class report atomically."""
        target = self.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        self._staged(text).replace(target)
        return target

    def results(self, student: str) -> dict[str, Any] | None:
        """The student's results.json, or None when there is none or it is unreadable."""
        try:
            data = json.loads((self.root / student / RESULTS).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def publish_student(self, student: str, files: Mapping[str, str]) -> Path:
        """Replace the student's folder's files with `files`, results.json last."""
        if RESULTS not in files:
            raise ValueError("a graded student's files must include results.json")
        bad = [name for name in files if not _FILE_NAME.match(name)]
        if bad:
            raise ValueError(f"unexpected file names from the judge: {bad}")
        folder = self.root / student
        folder.mkdir(parents=True, exist_ok=True)
        staged = {name: self._staged(text) for name, text in files.items()}
        (folder / RESULTS).unlink(missing_ok=True)
        for name in sorted(staged):
            if name != RESULTS:
                staged[name].replace(folder / name)
        staged[RESULTS].replace(folder / RESULTS)
        return folder / RESULTS

    def copy_student(self, source: Path, student: str) -> Path:
        """Publish another report folder's student (a shard's) into this one."""
        files = {path.name: path.read_text(encoding="utf-8") for path in sorted(source.iterdir())
                 if path.is_file() and _FILE_NAME.match(path.name)}
        return self.publish_student(student, files)

    def finish(self) -> None:
        shutil.rmtree(self.root / STAGING, ignore_errors=True)
        if self._lock is not None:
            os.close(self._lock)   # the kernel also releases it when a killed run's process ends
            self._lock = None
