"""merge_batches (`grade merge DIR...`): the report folders of several shards (or batches of the
same course) made into one class overview, as if the class had been graded in one run.

Each folder's batch.json says which students it holds; their results.json must agree with it.
Mixing courses, grader versions or seeds, or one student twice, is refused: the overview would
compare scores that were not given the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UsageError
from .entries import parse_shard, unsafe_id
from .outputs import ClassFiles, write_class_outputs
from .records import SCHEMA, STATUSES, Outline, StudentRecord, canonical_results
from .roster import Roster
from .store import RESULTS, Store


@dataclass(frozen=True)
class MergeSummary:
    report_dir: Path
    records: tuple[StudentRecord, ...]
    refusals: tuple[tuple[str, str], ...]
    files: ClassFiles
    warnings: tuple[str, ...]


def _manifest(folder: Path) -> dict[str, Any]:
    try:
        data = json.loads((folder / "batch.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{folder} has no batch.json: is it the --report-dir of a `grade batch`?") from None
    except (OSError, ValueError) as error:
        raise UsageError(f"{folder / 'batch.json'} cannot be read ({error})") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise UsageError(f"{folder / 'batch.json'} is not a batch of schema {SCHEMA}")
    return data


def _same_grading(manifests: list[tuple[Path, dict]]) -> None:
    (first_folder, first), *rest = manifests
    for folder, data in rest:
        for label, read in (("grader version", lambda s: s["grader_version"]), ("seed", lambda s: s["seed"]),
                            ("course.yaml", lambda s: s["course"]["sha256"])):
            if read(data["scores"]) != read(first["scores"]):
                raise UsageError(f"{folder} and {first_folder} were graded with a different {label}; "
                                 "regrade one of them so they can be compared")


def _results(folder: Path, student: dict[str, Any]) -> dict[str, Any]:
    path = folder / student["student"] / RESULTS
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise UsageError(f"{path} cannot be read ({error}); batch.json says this student was graded") from None
    canonical = canonical_results(results)
    if any(student.get(key) != value for key, value in canonical.items()):
        raise UsageError(f"{path} does not match {folder / 'batch.json'}: was the student regraded since? "
                         "Merge the folder of the latest run")
    return results


def _records(folder: Path, data: dict[str, Any]) -> list[StudentRecord]:
    timing = data.get("run", {}).get("students", {})
    records = []
    for student in data["scores"]["students"]:
        name = student.get("student")
        if not isinstance(name, str) or unsafe_id(name) or student.get("status") not in STATUSES:
            raise UsageError(f"{folder / 'batch.json'} lists an unusable student {name!r}")
        results = _results(folder, student) if student["status"] == "graded" else None
        run = timing.get(name, {})
        records.append(StudentRecord(name, str(student.get("entry", name)), student["status"], results,
                                     str(student.get("reason", "")), tuple(student.get("notes", [])),
                                     reused=bool(run.get("reused")), seconds=float(run.get("seconds") or 0.0),
                                     host=str(run.get("host", ""))))
    return records


def _shard_warnings(manifests: list[tuple[Path, dict]]) -> list[str]:
    shards = [data.get("run", {}).get("shard") for _, data in manifests]
    if not shards or any(not shard for shard in shards):
        return []
    parsed = [parse_shard(shard) for shard in shards]
    counts = {shard.count for shard in parsed}
    if len(counts) != 1:
        return [f"the folders are shards of different splits ({', '.join(sorted(set(shards)))})"]
    count = counts.pop()
    missing = sorted(set(range(1, count + 1)) - {shard.index for shard in parsed})
    return [f"shard {index}/{count} is missing: its students are not in the overview" for index in missing]


def merge_batches(*, sources: list[Path], report_dir: Path, roster: Roster | None = None) -> MergeSummary:
    if not sources:
        raise UsageError("grade merge needs at least one report folder")
    manifests = [(folder, _manifest(folder)) for folder in sources]
    _same_grading(manifests)
    scores = manifests[0][1]["scores"]
    outline = Outline.from_json(scores["course"])
    records: list[StudentRecord] = []
    origin: dict[str, Path] = {}
    refusals: set[tuple[str, str]] = set()
    for folder, data in manifests:
        for record in _records(folder, data):
            if record.student.casefold() in origin:
                raise UsageError(f"the student {record.student!r} is in both {origin[record.student.casefold()]} "
                                 f"and {folder}; merge each shard once")
            origin[record.student.casefold()] = folder
            records.append(record)
        refusals |= {(str(r["name"]), str(r["reason"])) for r in data["scores"]["refused"]}
    store = Store(report_dir)
    store.prepare()
    try:
        for record in records:
            source = origin[record.student.casefold()]
            if record.results is not None and source.resolve() != report_dir.resolve():
                store.copy_student(source / record.student, record.student)
        run = {"merged_from": [str(folder) for folder in sources],
               "shards": [data.get("run", {}).get("shard") for _, data in manifests]}
        files = write_class_outputs(store, outline=outline, grader_version=scores["grader_version"],
                                    seed=scores["seed"], records=records, refusals=sorted(refusals), run=run,
                                    roster=roster)
    finally:
        store.finish()
    return MergeSummary(report_dir, tuple(sorted(records, key=lambda r: r.student)), tuple(sorted(refusals)),
                        files, tuple(_shard_warnings(manifests)))
