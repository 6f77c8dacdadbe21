"""The CI workflow a student release ships (.github/workflows/grade.yml), run here.

The YAML is parsed and its `run:` steps are executed in order, as GitHub's runner would (each
with `bash --noprofile --norc -eo pipefail`, later steps only after earlier ones succeeded unless
they say `if: !cancelled()`), in a temporary copy of a fresh release, with GITHUB_STEP_SUMMARY
pointed at a file and a fresh virtual environment standing in for actions/setup-python. The
`uses:` steps (checkout, setup-python, the artifact and JUnit uploads) are GitHub's own actions
and are checked for what they are given, not run."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from release_support import fresh_release
from submissions import ROOT

WORKFLOW = Path(".github") / "workflows" / "grade.yml"


@pytest.fixture(scope="module")
def release():
    return fresh_release()


def load_workflow(root: Path) -> dict:
    data = yaml.safe_load((root / WORKFLOW).read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as true
    return data


def test_the_workflow_runs_on_pull_requests_without_secrets_or_write_access(release):
    text = (release.root / WORKFLOW).read_text()
    workflow = load_workflow(release.root)
    assert "pull_request" in workflow["on"] and "pull_request_target" not in workflow["on"]
    assert "secrets." not in text and "pull_request_target" not in text.split("never pull_request_target")[0]
    assert workflow["permissions"] == {"contents": "read", "checks": "write"}
    steps = workflow["jobs"]["grade"]["steps"]
    uses = {step["uses"].split("@")[0]: step for step in steps if "uses" in step}
    assert uses["actions/checkout"]["with"]["persist-credentials"] is False
    assert "python-version" in uses["actions/setup-python"]["with"]
    assert uses["actions/upload-artifact"]["with"]["path"] == "reports/"
    assert uses["mikepenz/action-junit-report"]["with"]["report_paths"] == "reports/junit.xml"
    for name in ("actions/upload-artifact", "mikepenz/action-junit-report"):
        assert "!cancelled()" in uses[name]["if"]  # the scorecard is kept when the grade step fails
    grade = next(step["run"] for step in steps if "grade all" in step.get("run", ""))
    assert all(f in grade for f in ("html", "junit", "markdown", "github")) and "--report-dir reports" in grade
    assert "--sandbox process" not in grade and "--fail-under" not in grade  # the course's sandbox and mark


def run_steps(workflow: dict, workdir: Path, env: dict) -> list[tuple[dict, subprocess.CompletedProcess]]:
    """The job's `run:` steps, as the runner runs them."""
    done: list[tuple[dict, subprocess.CompletedProcess]] = []
    failed = False
    for step in workflow["jobs"]["grade"]["steps"]:
        if "run" not in step:
            continue
        if failed and "!cancelled()" not in str(step.get("if", "")) and "always()" not in str(step.get("if", "")):
            continue
        result = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]], cwd=workdir,
                                env=env, capture_output=True, text=True, timeout=900)
        done.append((step, result))
        failed = failed or result.returncode != 0
    return done


def solve_chapters(repo: Path, numbers: range) -> None:
    """A student who finished these chapters: the reference's files in exercises/."""
    for path in sorted((ROOT / "reference").glob("0*.py")):
        if int(path.name[:2]) in numbers:
            shutil.copyfile(path, repo / "exercises" / path.name)


def set_pass_mark(repo: Path, points: int) -> None:
    """The course's pass mark (`fail_under`), as an instructor would set it in course.yaml."""
    course = repo / "course.yaml"
    text = re.sub(r"\nfail_under: \d+\n", "\n", course.read_text())
    course.write_text(text.replace("\nexercises: exercises\n", f"\nexercises: exercises\nfail_under: {points}\n"))


def test_the_workflow_grades_the_students_chapters_as_github_would(release, tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(release.root, repo)
    solve_chapters(repo, range(1, 7))  # chapters 1-6 done, 7 still the starter: 80 of 100 points
    venv = tmp_path / "python"     # what actions/setup-python provides: a python with pip on PATH
    subprocess.run([getattr(sys, "_base_executable", sys.executable), "-m", "venv", "--system-site-packages",
                    str(venv)], check=True, timeout=300)
    summary = tmp_path / "step-summary.md"
    env = {key: value for key, value in os.environ.items()
           if key not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTEST_CURRENT_TEST", "PYTEST_ADDOPTS", "GITHUB_ACTIONS")}
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{env['PATH']}", GITHUB_STEP_SUMMARY=str(summary), CI="true",
               GITHUB_WORKSPACE=str(repo), PIP_DISABLE_PIP_VERSION_CHECK="1")
    workflow = load_workflow(repo)

    set_pass_mark(repo, 85)
    below = run_steps(workflow, repo, env)
    install = next(result for step, result in below if "pip install" in step["run"])
    if install.returncode != 0 and any(word in install.stdout + install.stderr for word in
                                       ("NewConnectionError", "Could not find a version", "Temporary failure")):
        pytest.skip(f"pip cannot reach a package index here: {install.stderr[-300:]}")
    assert install.returncode == 0, install.stderr
    step, graded = below[-1]
    assert "grade all" in step["run"] and graded.returncode == 1, graded.stderr  # 80 < 85: the check fails
    written = summary.read_text()
    assert "## MLP from scratch: 80 / 100 points" in written and "| 7. Final project" in written
    assert "### Criteria that did not pass" in written and "not implemented yet" in written
    errors = [line for line in graded.stdout.splitlines() if line.startswith("::error ")]
    assert errors and all("file=exercises/07_final_project.py" in line for line in errors)
    assert "::notice title=MLP from scratch::80/100 points" in graded.stdout
    assert (repo / "reports" / "index.html").is_file() and (repo / "reports" / "junit.xml").is_file()
    assert 'failures="' in (repo / "reports" / "junit.xml").read_text()

    set_pass_mark(repo, 75)
    summary.unlink()
    above = run_steps(workflow, repo, env)
    assert [result.returncode for _, result in above] == [0] * len(above)  # 80 >= 75: the check passes
    assert "80 / 100 points" in summary.read_text()
