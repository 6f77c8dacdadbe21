"""The Dask executor (`--scheduler ADDRESS`, optional extra `grade[dask]`): one task per
submission on the cluster's workers.

A task is task.grade_task, the function the local pool runs: it starts the judge in a subprocess
of the Dask worker (student code never runs in the worker process) and returns plain JSON. The
job carries the course and the submission's bytes, so workers need only this grader installed,
at the same version; no shared file system. Dask runs whatever code a client sends, so the
scheduler must never be reachable by anyone else: see docs/batch.md (TLS, private addresses).
"""

from __future__ import annotations

import uuid
from typing import Any, Iterable, Iterator

from .. import __version__
from ..errors import GraderError, UsageError
from .task import grade_task

WORKER_WAIT = 60.0     # seconds to wait for a first worker to join the scheduler
CONNECT_TIMEOUT = "30s"


class ClusterError(GraderError):
    """The Dask cluster cannot grade this batch (no workers, another grader version)."""

    exit_code = 2


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise UsageError("--scheduler needs Dask's distributed package: pip install 'grader[dask]' "
                         "(on this machine and on every worker)") from None
    return distributed


def worker_grader_version() -> str:
    """Runs on each worker: the grader version its judges would use."""
    import grader
    return grader.__version__


def _security_problem(distributed, address: str) -> str:
    """Why a client could not speak to `address` with this machine's Dask configuration."""
    if not address.startswith("tls://"):
        return ""
    arguments = distributed.Security().get_connection_args("client")
    if arguments.get("ssl_context") is None:
        return (f"{address} is a TLS address but no TLS certificates are configured for the client; set "
                "DASK_DISTRIBUTED__COMM__TLS__CA_FILE, ..._TLS__CLIENT__CERT and ..._TLS__CLIENT__KEY "
                "(see docs/batch.md)")
    return ""


def _check_workers(client) -> int:
    """The number of threads the cluster's workers have, once they are known to grade as we do."""
    try:
        client.wait_for_workers(1, timeout=WORKER_WAIT)
    except TimeoutError:
        raise ClusterError(f"no Dask worker joined the scheduler within {WORKER_WAIT:g} s") from None
    try:
        versions = client.run(worker_grader_version)
    except Exception as error:  # e.g. a worker without the grader installed
        raise ClusterError(f"cannot check the workers' grader ({type(error).__name__}: {error}); "
                           "install this grader on every worker") from None
    wrong = {worker: version for worker, version in versions.items() if version != __version__}
    if wrong:
        worker, version = sorted(wrong.items())[0]
        raise ClusterError(f"the Dask worker {worker} runs grader {version}, this is {__version__}; "
                           "install the same version on every worker")
    return max(1, sum(client.nthreads().values()))


def _failure(student: str, error: BaseException) -> dict[str, Any]:
    return {"student": student, "status": "error", "seconds": 0.0,
            "reason": f"the Dask task failed ({type(error).__name__}: {error})"}


class DaskExecutor:
    """A connection to the cluster, made (and checked) before anything is graded."""

    def __init__(self, address: str):
        self.address = address
        self.distributed = _import_distributed()
        self.client = None
        self.threads = 0

    def __enter__(self) -> DaskExecutor:
        problem = _security_problem(self.distributed, self.address)
        if problem:
            raise ClusterError(problem)
        try:
            self.client = self.distributed.Client(self.address, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except Exception as error:  # refused, reset by a TLS-only scheduler, timed out, bad address...
            raise ClusterError(f"cannot reach the Dask scheduler at {self.address} "
                               f"({type(error).__name__}: {error})") from None
        try:
            self.threads = _check_workers(self.client)
        except BaseException:
            self.client.close()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        if self.client is not None:
            self.client.close()

    def run(self, jobs: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """Yield each job's answer as it finishes. At most twice the cluster's threads are in
        flight, so the scheduler never holds the whole class."""
        client, window = self.client, 2 * self.threads
        source = iter(jobs)
        pending: dict[Any, str] = {}
        finished = self.distributed.as_completed(loop=client.loop)

        def fill() -> None:
            while len(pending) < window:
                job = next(source, None)
                if job is None:
                    return
                # pure=False: a resubmitted student is graded again, never served from a cache.
                future = client.submit(grade_task, job, pure=False,
                                       key=f"grade-{job['student']}-{uuid.uuid4().hex[:12]}")
                pending[future] = job["student"]
                finished.add(future)

        try:
            fill()
            for future in finished:
                student = pending.pop(future)
                try:
                    answer = future.result()
                except Exception as error:  # the task raised, or its worker died too often
                    answer = _failure(student, error)
                future.release()
                yield answer
                fill()
        finally:
            if pending:
                client.cancel(list(pending))
