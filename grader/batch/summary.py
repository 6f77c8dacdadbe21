"""What `grade batch` and `grade merge` print when they end: counts, what was not graded and why,
and where the class report is. Pure functions of the summaries, so the commands stay thin."""

from __future__ import annotations

from .merge import MergeSummary
from .outputs import ClassFiles
from .roster import Matched
from .run import BatchSummary


def _counts(graded: int, reused: int, refused: int, errors: int) -> str:
    parts = [f"graded {graded}"]
    if reused:
        parts.append(f"unchanged since the last run {reused}")
    parts += [f"refused {refused}", f"not graded {errors}"]
    return " · ".join(parts)


def batch_lines(summary: BatchSummary) -> list[str]:
    records = summary.records
    lines = [_counts(sum(r.status == "graded" and not r.reused for r in records), summary.reused,
                     summary.count("refused") + len(summary.refusals), summary.count("error"))]
    lines += [f"  refused: {r.name}: {r.reason}" for r in summary.refusals]
    lines += [f"  {'refused' if r.status == 'refused' else 'not graded'}: {r.student}: {r.reason}"
              for r in records if r.status != "graded"]
    lines += roster_lines(summary.files.roster) if summary.files.roster else []
    lines += _where(summary.files)
    return lines


def roster_lines(matched: Matched) -> list[str]:
    """Who the roster and the class folder disagree about."""
    lines = [f"roster {matched.source}: {len(matched.students)} students, {len(matched.missing)} without a "
             f"submission, {len(matched.unmatched)} submission{'s' if len(matched.unmatched) != 1 else ''} "
             f"of nobody on it"]
    lines += [f"  missing: {s.name} ({s.student_id}): no submission {s.submission!r}" for s in matched.missing]
    lines += [f"  not on the roster: {name}" for name in matched.unmatched]
    return lines


def merge_lines(summary: MergeSummary) -> list[str]:
    records = summary.records
    lines = [f"merged {len(records)} student{'s' if len(records) != 1 else ''}: "
             + _counts(sum(r.status == "graded" for r in records), 0,
                       sum(r.status == "refused" for r in records) + len(summary.refusals),
                       sum(r.status == "error" for r in records))]
    lines += [f"  warning: {warning}" for warning in summary.warnings]
    lines += roster_lines(summary.files.roster) if summary.files.roster else []
    lines += _where(summary.files)
    return lines


def _where(files: ClassFiles) -> list[str]:
    lines = [f"overview: {files.overview}", f"grades:   {files.grades}"]
    if files.canvas and files.moodle:
        lines += [f"canvas:   {files.canvas}", f"moodle:   {files.moodle}"]
    return lines
