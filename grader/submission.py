"""A student's submission: which chapter files it has, which it cannot use, and its sha256."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from .course import Course
from .errors import SubmissionError

MAX_FILE_BYTES = 1 << 20  # a chapter file is a few kilobytes; anything this big is not one


@dataclass(frozen=True)
class Submission:
    path: Path
    files: dict[int, Path] = field(default_factory=dict)      # chapter -> a regular file to grade
    sources: dict[int, bytes] = field(default_factory=dict)   # its bytes, read once: what is hashed is graded
    problems: dict[int, str] = field(default_factory=dict)    # chapter -> why its file cannot be used
    sha256: str = ""

    def has(self, chapter: int) -> bool:
        return chapter in self.files


def _chapter_folder(path: Path, course: Course) -> Path:
    """The folder holding the chapter files: `path` itself, or its one nested top folder."""
    names = {ch.file for ch in course.chapters}
    if any((path / name).exists() or (path / name).is_symlink() for name in names):
        return path
    folders = [p for p in path.iterdir() if p.is_dir() and not p.is_symlink() and not p.name.startswith(".")]
    if len(folders) == 1 and any((folders[0] / name).exists() for name in names):
        return folders[0]
    return path


def locate_submission(path: Path, course: Course) -> Submission:
    """Find the chapter files in a submission folder (missing ones are simply absent)."""
    if not path.exists():
        raise SubmissionError(f"--submission: {path} does not exist")
    if not path.is_dir():
        raise SubmissionError(f"--submission: {path} is not a folder")
    folder = _chapter_folder(path.resolve(), course)
    files: dict[int, Path] = {}
    problems: dict[int, str] = {}
    sources: dict[int, bytes] = {}
    digest = hashlib.sha256()
    for chapter in course.chapters:
        candidate = folder / chapter.file
        if candidate.is_symlink():
            problems[chapter.number] = f"{chapter.file} is a symbolic link; submit the file itself"
        elif candidate.is_dir():
            problems[chapter.number] = f"{chapter.file} is a folder, not a Python file"
        elif candidate.is_file():
            if candidate.stat().st_size > MAX_FILE_BYTES:
                problems[chapter.number] = f"{chapter.file} is larger than {MAX_FILE_BYTES >> 20} MiB"
                continue
            try:
                content = candidate.read_bytes()
            except OSError as error:
                problems[chapter.number] = f"{chapter.file} cannot be read ({error.strerror})"
                continue
            files[chapter.number] = candidate
            sources[chapter.number] = content
            digest.update(chapter.file.encode() + b"\0" + hashlib.sha256(content).digest())
    return Submission(path=folder, files=files, sources=sources, problems=problems, sha256=digest.hexdigest())
