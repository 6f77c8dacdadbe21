"""The local executor: at most `jobs` judges at a time on this machine.

Each submission gets a fresh judge process (task.py), so the pool itself only needs threads that
wait for them: a thread per running judge, never student code in this process. Jobs are pulled
from the iterable as slots free up, so a class of hundreds never sits in memory as bundles.
"""

from __future__ import annotations

import os
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, Iterable, Iterator

from .task import grade_task, kill_running_judges, sweep_stale_scratch


def default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _failure(job: dict[str, Any], error: BaseException) -> dict[str, Any]:
    return {"student": job["student"], "status": "error", "seconds": 0.0,
            "reason": f"the grader failed to run this submission ({type(error).__name__}: {error})"}


def run_local(jobs: Iterable[dict[str, Any]], workers: int) -> Iterator[dict[str, Any]]:
    """Yield each job's answer as it finishes (in completion order)."""
    sweep_stale_scratch()
    source = iter(jobs)
    pending: dict[Future, dict[str, Any]] = {}
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="judge")

    def fill() -> None:
        while len(pending) < workers:
            job = next(source, None)
            if job is None:
                return
            pending[pool.submit(grade_task, job)] = job

    try:
        fill()
        while pending:
            finished, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for future in finished:
                job = pending.pop(future)
                error = future.exception()
                yield _failure(job, error) if error else future.result()
            fill()
    except BaseException:
        # Interrupted (Ctrl-C, or the caller stopped): the judges run in sessions of their own,
        # so they did not get the signal; stop them rather than wait for them.
        for future in pending:
            future.cancel()
        kill_running_judges()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


class LocalExecutor:
    """This machine: `workers` judges at a time."""

    def __init__(self, workers: int):
        self.workers = workers

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc_info) -> None:
        pass

    def run(self, jobs: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        return run_local(jobs, self.workers)
