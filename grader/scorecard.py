"""The Scorecard of one grading run, and its versioned JSON form (`results.json`)."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from .budget import TrainingRecord
from .outcomes import Diagnosis
from .scoring import ChapterResult, CriterionResult

SCHEMA = "mlp-grader/results/1"


@dataclass(frozen=True)
class Scorecard:
    grader_version: str
    course_title: str
    course_version: str
    course_sha256: str
    submission_path: str
    submission_sha256: str
    sandbox: str
    sandbox_note: str
    seed: int
    integrated: bool
    python: str
    started: str          # ISO 8601, UTC
    duration: float       # seconds
    chapters: tuple[ChapterResult, ...]
    training: tuple[TrainingRecord, ...] = ()  # training budgets, and how relative ones were calibrated

    @property
    def score(self) -> Fraction:
        return sum((ch.score for ch in self.chapters), Fraction(0))

    @property
    def max_score(self) -> int:
        return sum(ch.max_score for ch in self.chapters)

    def all_passed(self) -> bool:
        """Every criterion of every chapter that could be graded passed, and none errored out."""
        return all(ch.status != "error" for ch in self.chapters) and all(
            c.status == "passed" for ch in self.chapters if ch.status == "graded" for c in ch.criteria)


def points(value: Fraction) -> float | int:
    """A score as JSON shows it: an int when whole, else rounded to 2 decimals."""
    return int(value) if value.denominator == 1 else round(float(value), 2)


def _criterion_json(c: CriterionResult) -> dict[str, Any]:
    data = {"id": c.id, "title": c.title, "score": points(c.score), "max_score": c.max_score,
            "status": c.status, "visibility": c.visibility, "message": c.message, "help": c.help,
            "tests": {"passed": c.passed, "total": c.total}, "scope": c.scope}
    if c.note:
        data["note"] = c.note
    if c.relative:
        data["relative"] = c.relative
    if c.visibility == "visible" and c.status != "passed":
        data.update(call=c.call, expected=c.expected, actual=c.actual)
    if c.location:
        data["location"] = c.location
    if c.data:
        data["data"] = c.data
    if c.diagnosis:
        data["diagnosis"] = [diagnosis_json(d) for d in c.diagnosis]
    return data


def diagnosis_json(d: Diagnosis) -> dict[str, str]:
    return {"mistake": d.mistake, "title": d.title, "did": d.did, "why": d.why, "lesson": d.lesson,
            "guide": d.guide}


def _chapter_json(ch: ChapterResult) -> dict[str, Any]:
    run = ch.run
    return {"number": ch.number, "title": ch.title, "file": ch.file, "status": ch.status,
            "note": run.note, "score": points(ch.score), "max_score": ch.max_score,
            "duration": run.duration, "worker_restarts": run.restarts, "files": run.files,
            "training_cpu": run.training_cpu,
            "output": {"stdout": run.stdout, "stderr": run.stderr, "truncated": run.output_truncated},
            "criteria": [_criterion_json(c) for c in ch.criteria]}


def scorecard_json(card: Scorecard) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "grader_version": card.grader_version,
        "course": {"title": card.course_title, "version": card.course_version, "sha256": card.course_sha256},
        "submission": {"path": card.submission_path, "sha256": card.submission_sha256},
        "sandbox": card.sandbox, "sandbox_note": card.sandbox_note,
        "seed": card.seed, "integrated": card.integrated, "python": card.python,
        "started": card.started, "duration": card.duration,
        "score": points(card.score), "max_score": card.max_score,
        "chapters": [_chapter_json(ch) for ch in card.chapters],
        "training": [_training_json(t) for t in card.training],
    }


def _training_json(record: TrainingRecord) -> dict[str, Any]:
    budget = record.budget
    return {"chapter": record.chapter, "rule": record.rule, "cpu_seconds": round(budget.cpu_seconds, 3),
            "wall_seconds": round(budget.wall_seconds, 3), "times": budget.times,
            "calibration": None if record.calibration is None else asdict(record.calibration)}


def write_atomically(path: Path, text: str) -> None:
    """Write then rename, so a reader (or a crash) never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_results(card: Scorecard, report_dir: Path) -> Path:
    path = report_dir / "results.json"
    write_atomically(path, json.dumps(scorecard_json(card), indent=2, ensure_ascii=False) + "\n")
    return path
