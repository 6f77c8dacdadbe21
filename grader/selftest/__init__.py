"""`grade selftest`: proves that the rubric grades what it claims, with the real grader.

    plan.py      which gradings: the reference (isolated and --integrated), the starters, and every
                 entry of the mistake bank in its own chapter plus a neighbour (pure)
    execute.py   each grading is `grade chapter ...` in its own process, several at a time
    verdict.py   results.json -> the sensitivity matrix and the checks (pure)
    render.py    the matrix as text, an HTML page and JSON
    mutants.py, mutation_report.py   `--mutants`: first-order mutants of every student part
                 (made by grader/mutation/), graded in their chapter, checked against
                 equivalent-mutants.yaml
    diagnosis_rates.py   how often the diagnosis names the right mistake on the hand bank and the
                 held-out half of the generated bank

It fails when a mistake goes undetected or is caught somewhere it should not be, when a harmless
variant loses points, when a criterion worth points catches nothing, when the reference or the
starters do not score as they must, when the diagnosis names a wrong mistake (for an entry of the
bank, or for a held-out generated mutant), or when a student part put back to its starter costs no
points (with --mutants: when a mutant survives).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from ..course import Course
from ..errors import CourseError, UsageError
from ..mistakes import load_bank
from ..mistakes.bank import fingerprint
from ..scorecard import write_atomically
from .diagnosis_rates import diagnosis_rates, replays_meanwhile, with_diagnosis_check
from .execute import PACKAGE_ROOT, grade_all, guide_headings
from .mutants import (MUTANT, VERIFIED, MutationVerdict, generate, judge_mutants, load_equivalents, mutant_outcomes,
                      mutant_runs, proof_inputs, proof_key, trained_again)
from .mutation_report import mutants_json, mutants_page, render_mutants_html, render_mutants_text, verified_summary
from .plan import REPLAY, final_chapter, plan_runs
from .render import Summary, render_html, render_text, selftest_json, selftest_page
from .verdict import Graded, Verdict, judge


@dataclass(frozen=True)
class SelftestResult:
    verdict: Verdict
    text: str           # the report for the terminal
    html: Path
    json: Path
    mutation: MutationVerdict | None = None

    @property
    def passed(self) -> bool:
        return self.verdict.passed and (self.mutation is None or self.mutation.passed)


def check_can_selftest(course: Course) -> None:
    """The self-test grades the reference and the bank's edits of it: say in one line when this
    course folder has no reference (a student release never has one)."""
    from ..release.oracle import is_release
    if is_release(course):
        raise UsageError("grade selftest proves the rubric with the instructor's reference solutions and mistake "
                         "bank, which a student release leaves out; in a release, `make test` checks its grader")
    missing = [ch.file for ch in course.chapters if not (course.reference / ch.file).is_file()]
    if missing:
        raise CourseError(f"grade selftest grades the reference solutions, and {course.reference} lacks "
                          f"{', '.join(missing)}")


def run_selftest(*, course: Course, report_dir: Path, jobs: int | None = None, sandbox: str = "auto",
                 progress: Callable[[Graded, int, int], None] | None = None,
                 mutants: bool = False) -> SelftestResult:
    """Grade everything the bank and the course call for; write selftest.html and selftest.json
    (with `mutants`, also every mutant of the student parts: mutants.html, mutants.json and the
    committed mutants-verified.json next to course.yaml)."""
    check_can_selftest(course)
    bank = load_bank(course)  # a broken bank stops here, before anything runs
    generated = generate(course) if mutants else ()
    equivalents = load_equivalents(course) if mutants else ()   # a broken list too
    runs = tuple(sorted(plan_runs(course, bank) + mutant_runs(course, generated),
                        key=lambda run: (run.training == REPLAY, not run.slow)))
    jobs = jobs or os.cpu_count() or 1
    started = datetime.now(timezone.utc)
    clock = time.monotonic()
    # the replays the diagnosis's rates need run beside the gradings
    with replays_meanwhile(course, str(PACKAGE_ROOT)) as replaying:
        with tempfile.TemporaryDirectory(prefix="grade-selftest-") as scratch:
            graded = grade_all(runs, course, Path(scratch), report_dir / "runs", jobs=jobs, sandbox=sandbox,
                               progress=progress)
            mutation_outcomes: dict = {}
            if mutants:
                mutation_outcomes = mutant_outcomes([g for g in graded if g.run.kind == MUTANT],
                                                    final_chapter(course))
                by_id = {m.id: m for m in generated}
                again = tuple(trained_again(by_id[i]) for i, (fate, *_rest) in mutation_outcomes.items()
                              if fate == "kept" and by_id[i].trains)
                retrained = grade_all(again, course, Path(scratch), report_dir / "runs", jobs=jobs,
                                      sandbox=sandbox, progress=progress)
                mutation_outcomes.update(mutant_outcomes(retrained, final_chapter(course)))
                graded += retrained
        graded = [g for g in graded if g.run.kind != MUTANT]
        rates = diagnosis_rates(course, bank, replaying)
        verdict = with_diagnosis_check(judge(course, bank, graded, guide_headings(course)), rates)
    tiers = sorted({g.results["sandbox"] for g in graded if g.results})  # what "auto" resolved to
    summary = Summary(course=f"{course.title} {course.version}", bank=fingerprint(bank),
                      seconds=round(time.monotonic() - clock, 1), jobs=jobs, sandbox=", ".join(tiers) or sandbox,
                      runs=len(runs),
                      started=started.isoformat(timespec="seconds"))
    html, data = report_dir / "selftest.html", report_dir / "selftest.json"
    write_atomically(html, render_html(selftest_page(course, verdict, summary, report_dir, rates)))
    write_atomically(data, json.dumps(selftest_json(verdict, summary, graded, rates), indent=2, ensure_ascii=False)
                     + "\n")
    text = render_text(course, verdict, summary, html, rates)
    if not mutants:
        return SelftestResult(verdict, text, html, data)
    mutation = judge_mutants(course, generated, mutation_outcomes, equivalents)
    text += "\n" + write_mutation_reports(course, mutation, summary.seconds, report_dir)
    return SelftestResult(verdict, text, html, data, mutation)


def write_mutation_reports(course: Course, mutation: MutationVerdict, seconds: float, report_dir: Path) -> str:
    """mutants.html and mutants.json beside the matrix, and the committed summary next to course.yaml."""
    inputs = proof_inputs(course)
    key = proof_key(inputs)
    html, data = report_dir / "mutants.html", report_dir / "mutants.json"
    write_atomically(html, render_mutants_html(mutants_page(mutation, seconds, key, report_dir)))
    write_atomically(data, json.dumps(mutants_json(mutation, seconds, key, inputs), indent=2, ensure_ascii=False) + "\n")
    write_atomically(course.root / VERIFIED, json.dumps(verified_summary(mutation, key, inputs), indent=2) + "\n")
    return render_mutants_text(mutation, seconds, html)
