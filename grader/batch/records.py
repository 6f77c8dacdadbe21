"""What a batch knows about each student, the rubric outline the class pages are drawn from, and
batch.json: a `scores` part that is a pure function of the submissions (byte-identical however
the class was graded: one job or many, resumed, sharded and merged) and a `run` part with the
timings and everything else that may differ between runs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..course import Course

SCHEMA = "mlp-grader/batch/1"
STATUSES = ("graded", "refused", "error")


@dataclass(frozen=True)
class CriterionOutline:
    id: str
    title: str
    points: int


@dataclass(frozen=True)
class ChapterOutline:
    number: int
    title: str
    max_score: int
    criteria: tuple[CriterionOutline, ...]


@dataclass(frozen=True)
class Outline:
    """The rubric as the class pages need it; kept in batch.json so `grade merge` needs no course.yaml."""

    title: str
    version: str
    sha256: str
    max_score: int
    chapters: tuple[ChapterOutline, ...]

    @classmethod
    def of(cls, course: Course) -> Outline:
        return cls(course.title, course.version, course.sha256, course.max_score, tuple(
            ChapterOutline(ch.number, ch.title, ch.max_score,
                           tuple(CriterionOutline(c.id, c.title, c.points) for c in ch.criteria))
            for ch in course.chapters))

    def json(self) -> dict[str, Any]:
        return {"title": self.title, "version": self.version, "sha256": self.sha256, "max_score": self.max_score,
                "chapters": [{"number": ch.number, "title": ch.title, "max_score": ch.max_score,
                              "criteria": [{"id": c.id, "title": c.title, "points": c.points} for c in ch.criteria]}
                             for ch in self.chapters]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Outline:
        return cls(str(data["title"]), str(data["version"]), str(data["sha256"]), int(data["max_score"]), tuple(
            ChapterOutline(int(ch["number"]), str(ch["title"]), int(ch["max_score"]),
                           tuple(CriterionOutline(str(c["id"]), str(c["title"]), int(c["points"]))
                                 for c in ch["criteria"]))
            for ch in data["chapters"]))


@dataclass(frozen=True)
class StudentRecord:
    student: str
    entry: str                        # its name in the submissions folder
    status: str                       # graded | refused | error
    results: dict | None = None       # the student's results.json (graded only)
    reason: str = ""                  # why it was refused or could not be graded
    notes: tuple[str, ...] = ()       # what was left out of a zip, and similar remarks
    reused: bool = False              # results of an earlier run, still valid (--resume)
    seconds: float = 0.0              # wall time of its judge (0 when reused)
    host: str = ""                    # where it was graded

    @property
    def score(self) -> float | int | None:
        return self.results["score"] if self.results else None


def canonical_results(results: dict[str, Any]) -> dict[str, Any]:
    """The part of a results.json that grading decides: scores and statuses, per criterion.
    (Timestamps, durations, paths and captured output are left out: they differ run to run.)"""
    return {
        "submission_sha256": results["submission"]["sha256"],
        "score": results["score"], "max_score": results["max_score"],
        "chapters": [{"number": ch["number"], "status": ch["status"], "score": ch["score"],
                      "criteria": [[c["id"], c["status"], c["score"]] for c in ch["criteria"]]}
                     for ch in results["chapters"]],
    }


def _student_json(record: StudentRecord) -> dict[str, Any]:
    data: dict[str, Any] = {"student": record.student, "entry": record.entry, "status": record.status}
    if record.reason:
        data["reason"] = record.reason
    if record.notes:
        data["notes"] = list(record.notes)
    if record.results is not None:
        data.update(canonical_results(record.results))
    return data


def scores_json(outline: Outline, grader_version: str, seed: int, records: list[StudentRecord],
                refusals: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "grader_version": grader_version, "seed": seed, "course": outline.json(),
        "students": [_student_json(r) for r in sorted(records, key=lambda r: r.student)],
        "refused": [{"name": name, "reason": reason} for name, reason in sorted(refusals)],
    }


def run_json(records: list[StudentRecord], extra: dict[str, Any]) -> dict[str, Any]:
    return {**extra, "students": {
        r.student: {"seconds": r.seconds, "reused": r.reused, "host": r.host,
                    "sandbox": (r.results or {}).get("sandbox", "")}
        for r in sorted(records, key=lambda r: r.student)}}


def batch_json(scores: dict[str, Any], run: dict[str, Any]) -> str:
    return json.dumps({"schema": SCHEMA, "scores": scores, "run": run}, indent=2, ensure_ascii=False) + "\n"
