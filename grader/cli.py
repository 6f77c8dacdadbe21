"""The `grade` command: parse options, call the core, print, and choose the exit code.

Exit codes: 0 every graded criterion passed (or the score reached --fail-under), 1 something
failed, 2 a usage or course.yaml error, 3 an internal error of the grader.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
import traceback
from pathlib import Path
from typing import Callable

import click

from . import __version__
from .course import Course, find_course, load_course
from .errors import GraderError, UsageError
from .report import FORMATS, parse_formats
from .sandbox.tiers import TIERS, warm_up
from .scorecard import Scorecard
from .submission import locate_submission
from .terminal import render_terminal


def _use_color() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def _course(course_path: Path | None) -> Course:
    return load_course(course_path if course_path else find_course(Path.cwd()))


def reporting_errors(command: Callable) -> Callable:
    """Turn the grader's own errors into one clear line and an exit code; never a traceback."""
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except GraderError as error:
            click.echo(f"grade: error: {error}", err=True)
            sys.exit(error.exit_code)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except BrokenPipeError:  # `grade ... | head`: the reader left; nothing is wrong
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(1)
        except Exception as error:  # a bug of ours: say so plainly, details with -v
            click.echo(f"grade: internal error: {type(error).__name__}: {error}", err=True)
            if kwargs.get("verbose"):
                traceback.print_exc()
            sys.exit(3)
    return wrapper


def _formats(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, ...]:
    try:
        return parse_formats(value)
    except ValueError as error:
        raise click.BadParameter(str(error), ctx=ctx, param=param) from None


# Options several commands share, defined once.
course_option = click.option("--course", "course_path", type=click.Path(path_type=Path), default=None,
                             help="course.yaml to use (default: found by walking up from here).")
sandbox_option = click.option("--sandbox", type=click.Choice(TIERS), default="auto", show_default=True,
                              help="How student code is isolated.")


def grading_options(command: Callable) -> Callable:
    options = [
        click.option("--submission", type=click.Path(path_type=Path), default=None,
                     help="Folder with the chapter files (default: the course's exercises/)."),
        course_option,
        click.option("--report-dir", type=click.Path(path_type=Path), default=None,
                     help="Where results.json and the scorecards go (default: reports/ of the course)."),
        click.option("--format", "formats", default="html", show_default=True, callback=_formats,
                     metavar="LIST", help=f"Reports to write besides results.json, comma-separated: "
                                          f"{', '.join(FORMATS)}."),
        click.option("--seed", type=int, default=None, help="Override the course's seed."),
        click.option("--integrated", is_flag=True,
                     help="Grade with your own earlier chapters instead of the reference versions."),
        sandbox_option,
        click.option("--fail-under", type=float, default=None,
                     help="Exit 0 when the score reaches this many points, even if some checks failed."),
        click.option("-v", "--verbose", is_flag=True, help="Show the failing call, expected and actual values."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _run(numbers: list[int], *, submission, course_path, report_dir, formats, seed, integrated, sandbox,
         fail_under, verbose) -> None:
    warm_up(sandbox)  # the sandbox probe's worker starts while pytest and Jinja2 load
    from .grading import grade
    from .release.source import source_for
    from .report import write_reports

    course = _course(course_path)
    card = grade(course=course, reference=source_for(course), submission=submission or course.exercises,
                 chapters=numbers, sandbox=sandbox, integrated=integrated, seed=seed)
    reports = write_reports(card, report_dir or course.root / "reports", formats)
    click.echo(render_terminal(card, color=_use_color(), verbose=verbose))
    for line in reports.console:
        click.echo(line)
    click.echo(f"results: {reports.files[0]}")
    if reports.index:
        click.echo(f"scorecard: {reports.index}")
    sys.exit(_exit_code(card, fail_under if fail_under is not None else course.fail_under))


def _exit_code(card: Scorecard, fail_under: float | None) -> int:
    if card.all_passed():
        return 0
    if fail_under is not None and float(card.score) >= fail_under:
        return 0
    return 1


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="grade")
def main() -> None:
    """Grade the 'MLP from scratch' course: hidden tests, run safely against your chapters."""


@main.command("chapter")
@click.argument("numbers", metavar="N [N...]", type=int, nargs=-1, required=True)
@grading_options
@reporting_errors
def chapter_command(numbers: tuple[int, ...], **options) -> None:
    """Grade one chapter (1-7), or several: `grade chapter 1 2 3`."""
    _run(sorted(set(numbers)), **options)


@main.command("all")
@grading_options
@reporting_errors
def all_command(**options) -> None:
    """Grade every chapter."""
    course = _course(options["course_path"])
    _run([ch.number for ch in course.chapters], **options)


def _stop_watching(*_: object) -> None:
    raise KeyboardInterrupt


@main.command("watch")
@click.argument("numbers", metavar="N [N...]", type=int, nargs=-1, required=True)
@click.option("--submission", type=click.Path(path_type=Path), default=None,
              help="Folder with the chapter files (default: the course's exercises/).")
@course_option
@click.option("--report-dir", type=click.Path(path_type=Path), default=None,
              help="Where results.json and the scorecards go (default: reports/ of the course).")
@click.option("--integrated", is_flag=True,
              help="Grade with your own earlier chapters, and again when one of them is saved.")
@sandbox_option
@click.option("-v", "--verbose", is_flag=True, help="Show the failing call, expected and actual values.")
@reporting_errors
def watch_command(numbers: tuple[int, ...], submission: Path | None, course_path: Path | None,
                  report_dir: Path | None, integrated: bool, sandbox: str, verbose: bool) -> None:
    """Grade chapters now and again each time you save one: `grade watch 2 3`. Ctrl-C stops."""
    warm_up(sandbox)
    from .release.source import source_for
    from .watch import CLEAR, WatchOptions, watch

    course = _course(course_path)
    for number in numbers:
        course.chapter(number)  # an unknown chapter is a usage error before anything runs
    folder = submission or course.exercises
    if not folder.is_dir():
        raise UsageError(f"--submission {folder}: no such folder")
    tty = sys.stdout.isatty()
    options = WatchOptions(submission=folder.resolve(), report_dir=(report_dir or course.root / "reports").resolve(),
                           integrated=integrated, sandbox=sandbox, color=_use_color(), verbose=verbose)
    signal.signal(signal.SIGTERM, _stop_watching)  # `kill` stops it as cleanly as Ctrl-C does
    watch(course, source_for(course), numbers, options,
          show=lambda screen: click.echo((CLEAR if tty else "\n") + screen))
    click.echo("\nstopped watching; the scorecard no longer reloads itself.")


@main.command("list")
@click.option("--submission", type=click.Path(path_type=Path), default=None)
@course_option
@reporting_errors
def list_command(submission: Path | None, course_path: Path | None) -> None:
    """Show the chapters, their points, and which chapter files the submission has."""
    course = _course(course_path)
    located = locate_submission(submission or course.exercises, course)
    click.echo(f"{course.title} (version {course.version}) — {course.max_score} points")
    click.echo(f"submission: {located.path}\n")
    for ch in course.chapters:
        if ch.number in located.problems:
            state = f"unusable: {located.problems[ch.number]}"
        else:
            state = "present" if located.has(ch.number) else "missing"
        click.echo(f"  {ch.number}  {ch.title:<28} {ch.max_score:>3} pts  {ch.file:<24} {state}")


# --- batch grading (grader/batch/): imported only when these commands run ---------------------

@main.command("batch")
@click.argument("submissions", type=click.Path(path_type=Path))
@course_option
@click.option("--report-dir", type=click.Path(path_type=Path), default=None,
              help="Where the class report goes (default: reports/class of the course).")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Submissions graded at the same time on this machine (default: its cores).")
@click.option("--resume/--no-resume", default=True, show_default=True,
              help="Skip submissions whose results are still valid (same files, course, grader and seed).")
@click.option("--shard", default=None, metavar="I/N", help="Grade only the I-th of N slices of the class (CI matrices).")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Grade on a Dask cluster (tls://host:8786); needs `pip install 'grader[dask]'`.")
@click.option("--seed", type=int, default=None, help="Override the course's seed.")
@sandbox_option
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=None, metavar="SECONDS",
              help="Wall-clock limit per submission (default: the course's chapter and training limits added up, plus 60 s).")
@click.option("--roster", "roster_path", type=click.Path(path_type=Path), default=None, metavar="ROSTER.csv",
              help="Who each submission belongs to (submission, student_id, name, email, section): "
                   "also writes canvas.csv and moodle.csv.")
@reporting_errors
def batch_command(submissions: Path, course_path: Path | None, report_dir: Path | None, jobs: int | None,
                  resume: bool, shard: str | None, scheduler: str | None, seed: int | None, sandbox: str,
                  timeout: float | None, roster_path: Path | None) -> None:
    """Grade a class: every folder or .zip in SUBMISSIONS is one student's submission."""
    from .batch import BatchOptions, run_batch
    from .batch.entries import parse_shard
    from .batch.progress import Progress
    from .batch.roster import load_roster
    from .batch.summary import batch_lines
    if scheduler and jobs:
        raise UsageError("--jobs is for this machine; with --scheduler the cluster's workers set the pace")
    course = _course(course_path)
    roster = load_roster(roster_path, course.roster) if roster_path else None  # a bad roster stops before grading
    options = BatchOptions(jobs=jobs, resume=resume, shard=parse_shard(shard) if shard else None,
                           scheduler=scheduler, seed=seed, sandbox=sandbox, timeout=timeout, roster=roster)
    summary = run_batch(course=course, submissions=submissions, options=options, progress=Progress(),
                        report_dir=report_dir or course.root / "reports" / "class")
    for line in batch_lines(summary):
        click.echo(line)
    sys.exit(0 if summary.complete else 1)


@main.command("merge")
@click.argument("folders", metavar="DIR...", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--report-dir", type=click.Path(path_type=Path), default=None,
              help="Where the merged class report goes (default: reports/class of the course found from here).")
@click.option("--roster", "roster_path", type=click.Path(path_type=Path), default=None, metavar="ROSTER.csv",
              help="As for `grade batch`: also writes canvas.csv and moodle.csv for the whole class.")
@course_option
@reporting_errors
def merge_command(folders: tuple[Path, ...], report_dir: Path | None, roster_path: Path | None,
                  course_path: Path | None) -> None:
    """Merge the report folders of `grade batch --shard` runs into one class overview."""
    from .batch import merge_batches
    from .batch.roster import load_roster
    from .batch.summary import merge_lines
    needs_course = report_dir is None or roster_path is not None   # its default folder, its roster columns
    course = _course(course_path) if needs_course else None
    target = report_dir or course.root / "reports" / "class"
    roster = load_roster(roster_path, course.roster) if roster_path else None
    summary = merge_batches(sources=list(folders), report_dir=target, roster=roster)
    for line in merge_lines(summary):
        click.echo(line)
    sys.exit(0 if all(r.status == "graded" for r in summary.records) and not summary.refusals else 1)


# --- the self-test (grader/selftest/): imported only when it runs ------------------------------

@main.command("selftest")
@course_option
@click.option("--report-dir", type=click.Path(path_type=Path), default=None,
              help="Where selftest.html, selftest.json and each grading's scorecard go "
                   "(default: reports/selftest of the course).")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Gradings run at the same time (default: one per core).")
@sandbox_option
@click.option("-v", "--verbose", is_flag=True, help="Print each grading as it finishes.")
@click.option("--mutants", is_flag=True,
              help="Also grade every first-order mutant of the reference's student parts, each in its chapter, "
                   "and fail if one that is not listed in equivalent-mutants.yaml keeps full marks.")
@reporting_errors
def selftest_command(course_path: Path | None, report_dir: Path | None, jobs: int | None, sandbox: str,
                     verbose: bool, mutants: bool) -> None:
    """Prove the rubric: grade the reference, the starters, each student part left as its starter
    has it and the whole mistake bank, print the sensitivity matrix, and fail if a mistake goes
    undetected, a harmless variant loses points or a criterion or a student part goes ungraded."""
    from .release.oracle import is_release
    from .selftest import run_selftest

    course = _course(course_path)
    if is_release(course):
        from .release.smoke import check_release
        click.echo("This is a student release: it has no reference solutions or mistake bank to prove the rubric "
                   "with, so this checks that its grader grades the untouched starters as recorded.")
        sys.exit(check_release(course))
    progress = (lambda g, done, total: click.echo(f"[{done}/{total}] {g.run.name}  {g.seconds:.1f} s", err=True)
                ) if verbose else None
    result = run_selftest(course=course, report_dir=report_dir or course.root / "reports" / "selftest",
                          jobs=jobs, sandbox=sandbox, progress=progress, mutants=mutants)
    click.echo(result.text)
    sys.exit(0 if result.passed else 1)


# --- student releases (grader/release/): imported only when the command runs -------------------

@main.command("release")
@click.argument("out_dir", type=click.Path(path_type=Path))
@course_option
@click.option("--also", "extra", multiple=True, type=click.Path(path_type=Path), metavar="DIR",
              help="More submissions to record and verify with: a submission folder, or a folder of them "
                   "(one per subfolder). Repeatable.")
@click.option("--check", "check", multiple=True, type=click.Path(path_type=Path), metavar="DIR",
              help="Submissions to verify the release with but not record from: proves the recorded answers "
                   "cover them. Repeatable.")
@click.option("--bank/--no-bank", default=True, show_default=True,
              help="Record and verify with every entry of the mistake bank too (covers more of a student's paths).")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Gradings run at the same time (default: one per core).")
@sandbox_option
@click.option("-v", "--verbose", is_flag=True, help="Print each grading as it finishes.")
@reporting_errors
def release_command(out_dir: Path, course_path: Path | None, extra: tuple[Path, ...], check: tuple[Path, ...],
                    bank: bool, jobs: int | None, sandbox: str, verbose: bool) -> None:
    """Write the repository students receive into OUT_DIR: the starters, the grader, course.yaml,
    a README, a Makefile and a CI workflow, with the reference's answers recorded as data (no
    reference code). Fails, keeping nothing, unless the release grades every recorded grading
    exactly as this tree does."""
    from .release.build import build_release

    progress = (lambda phase, ran, done, total: click.echo(
        f"[{phase} {done}/{total}] {ran.grading.name}  {ran.seconds:.1f} s", err=True)) if verbose else None
    summary = build_release(course=_course(course_path), out=out_dir, jobs=jobs, sandbox=sandbox, extra=extra,
                            check=check, bank=bank, progress=progress)
    for line in summary.lines():
        click.echo(line)


# --- deployment bundles (grader/deploy/): imported only when the command runs -------------------

@main.group("export")
def export_group() -> None:
    """Bundle the grader and the course for a platform that runs them itself."""


@export_group.command("gradescope")
@click.argument("out", metavar="OUT.zip", type=click.Path(path_type=Path))
@course_option
@reporting_errors
def export_gradescope_command(out: Path, course_path: Path | None) -> None:
    """Write a Gradescope autograder to OUT.zip: setup.sh and run_autograder at its top, the grader,
    the course with its hidden tests and reference, and every dependency pinned."""
    from .deploy.bundle import export_gradescope

    summary = export_gradescope(course=_course(course_path), out=out)
    for line in summary.lines():
        click.echo(line)
