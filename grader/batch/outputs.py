"""The class-level files of a report folder: index.html (the overview), grades.csv and batch.json,
and with a roster canvas.csv and moodle.csv. Written by a batch when it ends and by `grade merge`,
from the same records."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .gradebook import grades_csv
from .lms import canvas_csv, moodle_csv
from .overview import class_page, render_class
from .records import Outline, StudentRecord, batch_json, run_json, scores_json
from .roster import Matched
from .store import Store


@dataclass(frozen=True)
class ClassFiles:
    overview: Path
    grades: Path
    manifest: Path
    canvas: Path | None = None      # with a roster
    moodle: Path | None = None


def write_class_outputs(store: Store, *, outline: Outline, grader_version: str, seed: int,
                        records: list[StudentRecord], refusals: list[tuple[str, str]],
                        run: dict[str, Any], roster: Matched | None = None,
                        lms_records: list[StudentRecord] | None = None) -> ClassFiles:
    """`roster`: the class folder matched against a roster; `lms_records`: the records its
    gradebooks are written from (the graded ones and one per refused entry)."""
    page = class_page(outline, grader_version, seed, records, refusals, roster)
    scores = scores_json(outline, grader_version, seed, records, refusals)
    files = ClassFiles(
        overview=store.publish("index.html", render_class(page)),
        grades=store.publish("grades.csv", grades_csv(records, outline)),
        manifest=store.publish("batch.json", batch_json(scores, run_json(records, run))),
    )
    if roster is None:
        return files
    everyone = records if lms_records is None else lms_records
    return replace(files, canvas=store.publish("canvas.csv", canvas_csv(roster, everyone, outline)),
                   moodle=store.publish("moodle.csv", moodle_csv(roster, everyone, outline)))
