"""One submission as a self-contained job: the chapter files' bytes, the course's rubric text and
its reference chapters, and how to grade them; plain JSON in both directions, so the same job
runs in a local judge process or on a Dask worker that shares no files with this machine.

Only what grading reads travels: the chapter files `locate_submission` found. A chapter file it
could not use (a link, a folder, one too large) travels as that kind and is rebuilt as such, so
the judge reports the same problem it would have reported here.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..course import Course, parse_course
from ..errors import CourseError
from ..submission import MAX_FILE_BYTES, Submission

SCHEMA = "mlp-grader/job/1"
SPECIAL_KINDS = ("symlink", "folder", "oversize", "unreadable")


@dataclass(frozen=True)
class CourseFiles:
    name: str                                   # course.yaml's file name
    text: str                                   # its text: the course sha256 is of this
    reference: tuple[tuple[str, bytes], ...]    # the reference chapter files

    @classmethod
    def of(cls, course: Course) -> CourseFiles:
        text = course.path.read_text(encoding="utf-8")
        if hashlib.sha256(text.encode()).hexdigest() != course.sha256:  # as parse_course computes it
            raise CourseError(f"{course.path} changed while the batch was starting; run it again")
        try:
            reference = tuple((ch.file, (course.reference / ch.file).read_bytes()) for ch in course.chapters)
        except OSError as error:
            raise CourseError(f"{course.path.name}: a reference chapter cannot be read ({error})") from None
        return cls(course.path.name, text, reference)

    def materialize(self, folder: Path) -> Course:
        """Write the course into `folder` and load it, its reference being the copy written here."""
        (folder / "reference").mkdir(parents=True)
        (folder / self.name).write_text(self.text, encoding="utf-8")
        for name, data in self.reference:
            (folder / "reference" / name).write_bytes(data)
        course = parse_course(self.text, folder / self.name)
        return replace(course, reference=folder / "reference")


@dataclass(frozen=True)
class Bundle:
    files: tuple[tuple[str, bytes], ...]        # chapter file name -> its bytes
    special: tuple[tuple[str, str], ...] = ()   # chapter file name -> one of SPECIAL_KINDS
    sha256: str = ""                            # the submission's, as locate_submission computed it

    @property
    def chapters(self) -> frozenset[str]:
        return frozenset(name for name, _ in self.files)


def _special_kind(path: Path) -> str:
    if path.is_symlink():
        return "symlink"
    if path.is_dir():
        return "folder"
    if path.is_file() and path.stat().st_size > MAX_FILE_BYTES:
        return "oversize"
    return "unreadable"


def bundle_of(submission: Submission, course: Course) -> Bundle:
    files = tuple((course.chapter(n).file, source) for n, source in sorted(submission.sources.items()))
    special = tuple((course.chapter(n).file, _special_kind(submission.path / course.chapter(n).file))
                    for n in sorted(submission.problems))
    return Bundle(files, special, submission.sha256)


def write_bundle(bundle: Bundle, folder: Path) -> None:
    """Rebuild the submission folder the bundle was made from (as far as grading can tell)."""
    folder.mkdir(parents=True)
    for name, data in bundle.files:
        (folder / name).write_bytes(data)
    for name, kind in bundle.special:
        target = folder / name
        if kind == "symlink":
            os.symlink("not-shipped", target)   # dangling on purpose: only its being a link matters
        elif kind == "folder":
            target.mkdir()
        elif kind == "oversize":
            with open(target, "wb") as handle:   # sparse: no disk is used for the size
                handle.truncate(MAX_FILE_BYTES + 1)
        # "unreadable": absent here too, the nearest the judge can get


@dataclass(frozen=True)
class Job:
    student: str
    label: str            # how the scorecards name the submission: its entry in the class folder
    course: CourseFiles
    bundle: Bundle
    seed: int | None
    sandbox: str
    timeout: float        # wall-clock seconds the whole judge may take


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def job_json(job: Job) -> dict[str, Any]:
    return {
        "schema": SCHEMA, "student": job.student, "label": job.label,
        "course": {"name": job.course.name, "text": job.course.text,
                   "reference": {name: _b64(data) for name, data in job.course.reference}},
        "submission": {"files": {name: _b64(data) for name, data in job.bundle.files},
                       "special": dict(job.bundle.special), "sha256": job.bundle.sha256},
        "seed": job.seed, "sandbox": job.sandbox, "timeout": job.timeout,
    }


def _safe_name(name: Any) -> str:
    # The names come from course.yaml, but a job may have crossed a network: check anyway.
    if not isinstance(name, str) or not name or "/" in name or "\\" in name or name in (".", ".."):
        raise ValueError(f"bad file name in job: {name!r}")
    return name


def course_from_json(course: dict[str, Any]) -> CourseFiles:
    return CourseFiles(_safe_name(course["name"]), str(course["text"]),
                       tuple((_safe_name(n), base64.b64decode(d)) for n, d in sorted(course["reference"].items())))


def job_from_json(data: dict[str, Any]) -> Job:
    if data.get("schema") != SCHEMA:
        raise ValueError(f"not a grading job of schema {SCHEMA}")
    submission = data["submission"]
    special = tuple((_safe_name(name), kind) for name, kind in sorted(submission["special"].items())
                    if kind in SPECIAL_KINDS)
    return Job(
        student=str(data["student"]), label=str(data["label"]),
        course=course_from_json(data["course"]),
        bundle=Bundle(tuple((_safe_name(n), base64.b64decode(d)) for n, d in sorted(submission["files"].items())),
                      special, str(submission.get("sha256", ""))),
        seed=data["seed"] if isinstance(data["seed"], int) else None,
        sandbox=str(data["sandbox"]), timeout=float(data["timeout"]),
    )
