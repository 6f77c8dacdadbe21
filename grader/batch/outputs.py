"""The class-level files of a report folder: index.html (the overview), grades.csv and batch.json,
and with a roster canvas.csv and moodle.csv. Written by a batch when it ends and by `grade merge`,
from the same records."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .gradebook import grades_csv
from .lms import canvas_csv, gradebook_records, moodle_csv
from .overview import class_page, render_class
from .records import Outline, StudentRecord, batch_json, run_json, scores_json
from .roster import Matched, Roster, match
from .store import Store


@dataclass(frozen=True)
class ClassFiles:
    overview: Path
    grades: Path
    manifest: Path
    canvas: Path | None = None      # with a roster
    moodle: Path | None = None
    roster: Matched | None = None   # the class matched against it


def write_class_outputs(store: Store, *, outline: Outline, grader_version: str, seed: int,
                        records: list[StudentRecord], refusals: list[tuple[str, str]],
                        run: dict[str, Any], roster: Roster | None = None) -> ClassFiles:
    everyone = gradebook_records(records, refusals)
    matched = match(roster, [r.student for r in everyone]) if roster else None
    page = class_page(outline, grader_version, seed, records, refusals, matched)
    scores = scores_json(outline, grader_version, seed, records, refusals)
    files = ClassFiles(
        overview=store.publish("index.html", render_class(page)),
        grades=store.publish("grades.csv", grades_csv(records, outline)),
        manifest=store.publish("batch.json", batch_json(scores, run_json(records, run))),
    )
    if matched is None:
        return files
    return replace(files, canvas=store.publish("canvas.csv", canvas_csv(matched, everyone, outline)),
                   moodle=store.publish("moodle.csv", moodle_csv(matched, everyone, outline)), roster=matched)
