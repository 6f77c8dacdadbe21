"""`grade batch --scheduler`: the same class graded on a Dask cluster gives the same scores as on
this machine, against a LocalCluster and against real `dask scheduler` and `dask worker`
processes on 127.0.0.1 speaking TLS only. Skipped, saying why, without Dask's `distributed`
(`make test` installs it: pip install -e '.[dask]')."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from batch_support import canonical, grade_batch, manifest, run, scores_bytes, student, zipped, GRADE

distributed = pytest.importorskip("distributed", reason="Dask's distributed is not installed "
                                                         "(pip install -e '.[dask]'; make test does)")
DASK = Path(sys.executable).parent / "dask"


@pytest.fixture(scope="module")
def classroom(tmp_path_factory) -> Path:
    into = tmp_path_factory.mktemp("dask-class") / "submissions"
    into.mkdir()
    student(into, "ada")
    student(into, "ben", "buggy-ch1-transpose-returns-rows")
    zipped(student(into, "chloe", "buggy-ch4-softmax-overflows"), into / "chloe.zip", top="chloe")
    (into / "notes.txt").write_text("not a submission")
    return into


@pytest.fixture(scope="module")
def local(classroom, tmp_path_factory) -> Path:
    report = tmp_path_factory.mktemp("dask-local") / "class"
    done = grade_batch(classroom, report, "--jobs", "2")
    assert done.returncode == 1, done.stderr
    return report


def same_as_local(report: Path, local: Path) -> None:
    assert scores_bytes(report) == scores_bytes(local)
    assert (report / "grades.csv").read_bytes() == (local / "grades.csv").read_bytes()
    assert (report / "index.html").read_bytes() == (local / "index.html").read_bytes()
    assert canonical(report) == canonical(local)


def test_a_local_cluster_grades_like_this_machine(classroom, local, tmp_path):
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        done = grade_batch(classroom, tmp_path / "class", "--scheduler", cluster.scheduler_address, timeout=300)
    assert done.returncode == 1, done.stderr
    same_as_local(tmp_path / "class", local)
    run_info = manifest(tmp_path / "class")["run"]
    assert run_info["executor"].startswith("dask tcp://127.0.0.1:")
    assert {s["host"] for name, s in run_info["students"].items() if name != "notes.txt"} != {""}


# --- a real scheduler and worker, TLS only ----------------------------------------------------

def _openssl(*arguments: str, cwd: Path) -> None:
    subprocess.run(["openssl", *arguments], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_certificates(folder: Path) -> dict[str, Path]:
    """A throw-away CA and one certificate it signed, for 127.0.0.1 (scheduler, worker and client)."""
    folder.mkdir()
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
             "-days", "1", "-subj", "/CN=grade-test-ca", cwd=folder)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "node.key", "-out", "node.csr",
             "-subj", "/CN=127.0.0.1", cwd=folder)
    (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    _openssl("x509", "-req", "-in", "node.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "node.pem", "-days", "1", "-extfile", "san.ext", cwd=folder)
    return {"ca": folder / "ca.pem", "cert": folder / "node.pem", "key": folder / "node.key"}


def _tls_options(certs: dict[str, Path]) -> list[str]:
    return ["--tls-ca-file", str(certs["ca"]), "--tls-cert", str(certs["cert"]), "--tls-key", str(certs["key"])]


def client_environment(certs: dict[str, Path]) -> dict[str, str]:
    return {"DASK_DISTRIBUTED__COMM__TLS__CA_FILE": str(certs["ca"]),
            "DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT": str(certs["cert"]),
            "DASK_DISTRIBUTED__COMM__TLS__CLIENT__KEY": str(certs["key"]),
            "DASK_DISTRIBUTED__COMM__REQUIRE_ENCRYPTION": "True"}


@pytest.fixture
def tls_cluster(tmp_path):
    """`dask scheduler` and `dask worker` as separate processes on 127.0.0.1, TLS only; stopped after."""
    if not DASK.exists():
        pytest.skip(f"no dask command next to {sys.executable}")
    if subprocess.run(["sh", "-c", "command -v openssl"], capture_output=True).returncode != 0:
        pytest.skip("openssl is not installed (it makes the test's TLS certificates)")
    certs = make_certificates(tmp_path / "tls")
    environment = {**os.environ, **client_environment(certs)}
    scheduler_file = tmp_path / "scheduler.json"
    processes = []

    def start(*command: str, log: str) -> None:
        with open(tmp_path / log, "w") as out:
            processes.append(subprocess.Popen([str(DASK), *command], stdout=out, stderr=subprocess.STDOUT,
                                              stdin=subprocess.DEVNULL, env=environment, start_new_session=True))

    try:
        start("scheduler", "--host", "127.0.0.1", "--port", "0", "--protocol", "tls", "--no-dashboard",
              "--scheduler-file", str(scheduler_file), *_tls_options(certs), log="scheduler.log")
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert scheduler_file.exists(), (tmp_path / "scheduler.log").read_text()
        address = json.loads(scheduler_file.read_text())["address"]
        start("worker", address, "--nthreads", "2", "--nworkers", "1", "--host", "127.0.0.1", "--no-dashboard",
              *_tls_options(certs), log="worker.log")
        yield address, certs
    finally:
        for process in reversed(processes):   # only the processes this fixture started, by id
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            except ProcessLookupError:
                pass


def test_real_scheduler_and_worker_processes_over_tls_grade_like_this_machine(classroom, local, tls_cluster,
                                                                               tmp_path):
    address, certs = tls_cluster
    assert address.startswith("tls://127.0.0.1:")
    command = [*GRADE, "batch", str(classroom), "--report-dir", str(tmp_path / "class"), "--scheduler", address]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
                          env={**os.environ, **client_environment(certs)})
    assert done.returncode == 1, done.stderr
    same_as_local(tmp_path / "class", local)

    # Without the certificates, or in plain TCP, the scheduler cannot be used at all.
    no_certs = grade_batch(classroom, tmp_path / "no-certs", "--scheduler", address, timeout=120)
    assert no_certs.returncode == 2 and "no TLS certificates are configured" in no_certs.stderr
    plain = grade_batch(classroom, tmp_path / "plain", "--scheduler", address.replace("tls://", "tcp://"),
                        timeout=120)
    assert plain.returncode == 2 and "cannot reach the Dask scheduler" in plain.stderr
    assert "Traceback" not in no_certs.stderr + plain.stderr


def test_without_distributed_the_scheduler_option_says_how_to_get_it(classroom, tmp_path):
    shadow = tmp_path / "shadow" / "distributed"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('pretend it is not installed')\n")
    done = subprocess.run([*GRADE, "batch", str(classroom), "--report-dir", str(tmp_path / "r"),
                           "--scheduler", "tcp://127.0.0.1:1"], capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(shadow.parent)})
    assert done.returncode == 2, done.stderr
    assert "pip install 'grader[dask]'" in done.stderr and "Traceback" not in done.stderr
