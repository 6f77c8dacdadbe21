"""grades.csv: one row per student, ready for a gradebook import (Moodle, Canvas, Blackboard and
the like map its columns to grade items). Sorted by student id, no timestamps: the same class
gives the same bytes.

A student who could not be graded (refused, or the judge failed) gets empty cells, not zeros:
an import then leaves that grade open instead of recording a score nobody earned.
"""

from __future__ import annotations

import csv
import io

from .records import Outline, StudentRecord


def header(outline: Outline) -> list[str]:
    return ["student", *(f"ch{ch.number}" for ch in outline.chapters), "total", "status"]


def row(record: StudentRecord, outline: Outline) -> list[str]:
    if record.results is None:
        return [record.student, *("" for _ in outline.chapters), "", record.status]
    scores = {ch["number"]: ch["score"] for ch in record.results["chapters"]}
    return [record.student, *(str(scores.get(ch.number, "")) for ch in outline.chapters),
            str(record.results["score"]), record.status]


def grades_csv(records: list[StudentRecord], outline: Outline) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")   # RFC 4180, which spreadsheets expect
    writer.writerow(header(outline))
    for record in sorted(records, key=lambda r: r.student):
        writer.writerow(row(record, outline))
    return buffer.getvalue()
