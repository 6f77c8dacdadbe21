"""Gradebook imports for two LMSs, written from a batch and its roster (pure functions to text).

canvas.csv follows the columns of Canvas's gradebook export, which its import reads back:
`Student, ID, SIS User ID, SIS Login ID, Section`, then one column per grade item, and a second
row `Points Possible` with each item's points. A column Canvas does not know becomes a new
assignment named by its header. Rows are matched by SIS User ID (the roster's student_id): ID
is Canvas's own user number and SIS Login ID the institution's login, neither of which a roster
reliably has, so both are left empty.

moodle.csv is for Moodle's "Import grades from CSV file": any columns, one of which identifies
the user; here `Email address`, mapped to the user field "Email address" on import. Each grade
column is mapped to a grade item, and `Feedback` may be mapped to an item's feedback.

A cell left empty is "no grade" in both. That is what a student without a submission (marked
"missing" in moodle.csv's Feedback and in the run's summary; canvas.csv has no column that would
not become an assignment) or one who could not be graded gets, never a zero nobody decided on.
"""

from __future__ import annotations

import csv
import io
from typing import Iterable

from .entries import FORMULA_STARTS, student_of
from .records import Outline, StudentRecord
from .roster import Matched, Student

CANVAS_IDENTITY = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
MOODLE_IDENTITY = ("Email address", "Full name", "ID number", "Section")


def gradebook_records(records: Iterable[StudentRecord], refusals: Iterable[tuple[str, str]]) -> list[StudentRecord]:
    """The records the gradebooks are written from: every graded or failed one, and one per entry
    refused before grading, under the student it is named for, so that a roster shows that student
    as refused rather than missing."""
    refused = [StudentRecord(student_of(name, not name.lower().endswith(".zip")) or name, name, "refused",
                             reason=f"{name} {reason}") for name, reason in refusals]
    return [*records, *refused]


def item_headers(outline: Outline) -> list[str]:
    """The grade items: one per chapter and the total, named so they read well as assignments."""
    return [f"Chapter {ch.number}: {ch.title}" for ch in outline.chapters] + [f"{outline.title}: total"]


def _text(value: str) -> str:
    # A name or section from the roster is shown, not computed: a leading = + - @ would make a
    # spreadsheet read it as a formula (CSV injection), so it is quoted as text.
    return "'" + value if value[:1] in FORMULA_STARTS else value


def scores(record: StudentRecord | None, outline: Outline) -> list[str]:
    """The grade cells of one student: empty unless graded."""
    if record is None or record.results is None:
        return [""] * (len(outline.chapters) + 1)
    by_number = {ch["number"]: ch["score"] for ch in record.results["chapters"]}
    return [str(by_number.get(ch.number, "")) for ch in outline.chapters] + [str(record.results["score"])]


def feedback(record: StudentRecord | None) -> str:
    if record is None:
        return "missing: no submission"
    if record.results is None:
        return f"not graded: {record.reason}"
    return ""


def _rows(matched: Matched, records: Iterable[StudentRecord]) -> list[tuple[Student, StudentRecord | None]]:
    """Each rostered student, in the roster's order, with the record of their submission."""
    by_name = {r.student: r for r in records}
    return [(student, by_name.get(name) if name is not None else None) for student, name in matched.students]


def _csv(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)   # RFC 4180, as spreadsheets expect
    return buffer.getvalue()


def canvas_csv(matched: Matched, records: Iterable[StudentRecord], outline: Outline) -> str:
    items = item_headers(outline)
    rows = [[*CANVAS_IDENTITY, *items],
            ["Points Possible", "", "", "", "", *(str(ch.max_score) for ch in outline.chapters), str(outline.max_score)]]
    for student, record in _rows(matched, records):
        rows.append([_text(student.name), "", student.student_id, "", _text(student.section), *scores(record, outline)])
    return _csv(rows)


def moodle_csv(matched: Matched, records: Iterable[StudentRecord], outline: Outline) -> str:
    rows = [[*MOODLE_IDENTITY, *item_headers(outline), "Feedback"]]
    for student, record in _rows(matched, records):
        rows.append([student.email, _text(student.name), student.student_id, _text(student.section),
                     *scores(record, outline), feedback(record)])
    return _csv(rows)
