"""The class-level files of a report folder: index.html (the overview), grades.csv and batch.json.
Written by a batch when it ends and by `grade merge`, from the same records."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .gradebook import grades_csv
from .overview import class_page, render_class
from .records import Outline, StudentRecord, batch_json, run_json, scores_json
from .store import Store


@dataclass(frozen=True)
class ClassFiles:
    overview: Path
    grades: Path
    manifest: Path


def write_class_outputs(store: Store, *, outline: Outline, grader_version: str, seed: int,
                        records: list[StudentRecord], refusals: list[tuple[str, str]],
                        run: dict[str, Any]) -> ClassFiles:
    page = class_page(outline, grader_version, seed, records, refusals)
    scores = scores_json(outline, grader_version, seed, records, refusals)
    return ClassFiles(
        overview=store.publish("index.html", render_class(page)),
        grades=store.publish("grades.csv", grades_csv(records, outline)),
        manifest=store.publish("batch.json", batch_json(scores, run_json(records, run))),
    )
