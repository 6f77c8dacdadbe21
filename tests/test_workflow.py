"""The CI workflows a student release ships (.github/workflows/grade.yml and classroom.yml), run here.

The YAML is parsed and its `run:` steps are executed in order, as GitHub's runner would (each
with `bash --noprofile --norc -eo pipefail`, later steps only after earlier ones succeeded unless
they say `if: !cancelled()`), in a temporary copy of a fresh release, with GITHUB_STEP_SUMMARY
pointed at a file and a fresh virtual environment standing in for actions/setup-python. The
`uses:` steps (checkout, setup-python, the artifact and JUnit uploads, Classroom's grading
reporter) are actions fetched by GitHub and are checked for what they are given and for being
pinned by commit, not run; what the reporter does with the grade step's output (read
<ID>_RESULTS for each id in `runners`, decode base64 JSON, add up the tests' scores) is done
here as its source (src/main.js, src/notify-classroom.js) does it."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from grader.release.actions import ACTIONS, UNPINNED
from release_support import fresh_release
from submissions import ROOT

WORKFLOW = Path(".github") / "workflows" / "grade.yml"
CLASSROOM = Path(".github") / "workflows" / "classroom.yml"
PINNED = re.compile(r"^\s*(?:- )?uses: ([\w.-]+/[\w.-]+)@([0-9a-f]{40}) # (v\d+(?:\.\d+)*)$")


@pytest.fixture(scope="module")
def release():
    return fresh_release()


def load_workflow(root: Path, path: Path = WORKFLOW) -> dict:
    data = yaml.safe_load((root / path).read_text())
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


def run_steps(workflow: dict, workdir: Path, env: dict, job: str = "grade") -> list[tuple[dict, subprocess.CompletedProcess]]:
    """The job's `run:` steps, as the runner runs them."""
    done: list[tuple[dict, subprocess.CompletedProcess]] = []
    failed = False
    for step in workflow["jobs"][job]["steps"]:
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


def runner_env(tmp_path: Path, repo: Path, **extra: str) -> dict[str, str]:
    """The environment of a runner's step: a python with pip on PATH, as actions/setup-python
    provides (a fresh virtual environment), and the files GitHub passes to steps."""
    venv = tmp_path / "python"
    subprocess.run([getattr(sys, "_base_executable", sys.executable), "-m", "venv", "--system-site-packages",
                    str(venv)], check=True, timeout=300)
    env = {key: value for key, value in os.environ.items()
           if key not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTEST_CURRENT_TEST", "PYTEST_ADDOPTS", "GITHUB_ACTIONS",
                          "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY")}
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{env['PATH']}", CI="true", GITHUB_WORKSPACE=str(repo),
               PIP_DISABLE_PIP_VERSION_CHECK="1", **extra)
    return env


def check_installed(done: list[tuple[dict, subprocess.CompletedProcess]]) -> None:
    install = next(result for step, result in done if "pip install" in step["run"])
    if install.returncode != 0 and any(word in install.stdout + install.stderr for word in
                                       ("NewConnectionError", "Could not find a version", "Temporary failure")):
        pytest.skip(f"pip cannot reach a package index here: {install.stderr[-300:]}")
    assert install.returncode == 0, install.stderr


def test_the_workflow_grades_the_students_chapters_as_github_would(release, tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(release.root, repo)
    solve_chapters(repo, range(1, 7))  # chapters 1-6 done, 7 still the starter: 80 of 100 points
    summary = tmp_path / "step-summary.md"
    env = runner_env(tmp_path, repo, GITHUB_STEP_SUMMARY=str(summary))
    workflow = load_workflow(repo)

    set_pass_mark(repo, 85)
    below = run_steps(workflow, repo, env)
    check_installed(below)
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


# --- both workflows: every action pinned ---------------------------------------------------------

def test_every_action_of_both_workflows_is_pinned_by_commit_with_its_tag(release):
    pinned = {a.name: (a.ref, a.tag) for a in ACTIONS.values() if a.name not in UNPINNED}
    seen = set()
    for path in (WORKFLOW, CLASSROOM):
        for line in (release.root / path).read_text().splitlines():
            if "uses:" not in line or line.lstrip().startswith("#"):
                continue
            name = line.split("uses:", 1)[1].strip().split("@")[0]
            seen.add(name)
            if name in UNPINNED:   # listed in grader/release/actions.py with the reason
                continue
            match = PINNED.match(line)
            assert match, f"{path}: not pinned by commit with its tag in a comment: {line.strip()}"
            assert (match[2], match[3]) == pinned[match[1]]
    assert seen == {a.name for a in ACTIONS.values()}
    assert UNPINNED <= {"classroom-resources/autograding-grading-reporter"}  # grows only knowingly


# --- GitHub Classroom ----------------------------------------------------------------------------

def reporter_input(workflow: dict, env: dict[str, str]) -> list[dict]:
    """What Classroom's grading reporter reads, as its src/main.js reads it: for each id in
    `runners`, the variable <ID>_RESULTS of its step's env, base64-decoded and parsed."""
    steps = workflow["jobs"]["run-autograding-tests"]["steps"]
    reporter = next(s for s in steps if s.get("uses", "").startswith("classroom-resources/autograding-grading-reporter@"))
    results = []
    for runner in reporter["with"]["runners"].split(","):
        value = reporter["env"][f"{runner.strip().upper()}_RESULTS"]
        match = re.fullmatch(r"\$\{\{ steps\.([\w-]+)\.outputs\.result \}\}", value)
        assert match and match[1] == runner.strip(), value   # the variable holds that step's output
        results.append(json.loads(base64.b64decode(env[f"{runner.strip().upper()}_RESULTS"]).decode("utf-8")))
    return results


def step_outputs(path: Path) -> dict[str, str]:
    """$GITHUB_OUTPUT as the runner reads it: one `name=value` per line."""
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def test_the_classroom_workflow_is_what_classroom_expects(release):
    text = (release.root / CLASSROOM).read_text()
    workflow = load_workflow(release.root, CLASSROOM)
    assert workflow["name"] == "Autograding Tests"
    assert {"push", "repository_dispatch"} <= set(workflow["on"]) and "pull_request_target" not in workflow["on"]
    assert workflow["permissions"] == {"checks": "write", "actions": "read", "contents": "read"}
    job = workflow["jobs"]["run-autograding-tests"]
    assert job["name"] == "Autograding Tests"       # the check run the reporter writes the points to
    assert job["if"] == "github.actor != 'github-classroom[bot]'"
    assert "secrets." not in text
    steps = job["steps"]
    grade = next(s for s in steps if "grade all" in s.get("run", ""))
    assert "--format classroom" in grade["run"] and grade["id"] == "grade"
    reporter = steps[-1]
    assert reporter["uses"].startswith("classroom-resources/autograding-grading-reporter@")
    assert reporter["with"]["runners"] == "grade"
    assert reporter["env"]["GRADE_RESULTS"] == "${{ steps.grade.outputs.result }}"
    assert steps.index(grade) < len(steps) - 1 and "if" not in reporter   # after grading, when it succeeded


def test_the_classroom_workflow_reports_points_per_chapter_as_github_would(release, tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(release.root, repo)
    solve_chapters(repo, range(1, 7))  # 80 of 100 points: chapter 7 is still the starter
    outputs = tmp_path / "github-output"
    outputs.write_text("earlier=kept\n")
    env = runner_env(tmp_path, repo, GITHUB_OUTPUT=str(outputs), GITHUB_STEP_SUMMARY=str(tmp_path / "summary.md"))
    workflow = load_workflow(repo, CLASSROOM)
    done = run_steps(workflow, repo, env, job="run-autograding-tests")
    check_installed(done)
    step, graded = done[-1]
    assert step["id"] == "grade" and graded.returncode == 0, graded.stderr   # graded: the reporter decides
    written = step_outputs(outputs)
    assert written["earlier"] == "kept"
    [payload] = reporter_input(workflow, {"GRADE_RESULTS": written["result"]})
    assert payload == json.loads((repo / "reports" / "classroom.json").read_text())
    assert payload["version"] == 1 and payload["max_score"] == 100 and payload["status"] == "fail"
    tests = payload["tests"]
    assert [t["name"][:10] for t in tests] == [f"Chapter {n}:" for n in range(1, 8)]
    assert sum(t["score"] for t in tests) == 80          # what notify-classroom.js sends as points
    assert [t["status"] for t in tests] == ["pass"] * 6 + ["fail"]
    assert sum(t["max_score"] for t in tests) == payload["max_score"]
    assert "not implemented yet" in tests[6]["message"] and "hint: " in tests[6]["message"]

    solve_chapters(repo, range(7, 8))
    outputs.write_text("")
    done = run_steps(workflow, repo, env, job="run-autograding-tests")
    assert [result.returncode for _, result in done] == [0] * len(done)
    [payload] = reporter_input(workflow, {"GRADE_RESULTS": step_outputs(outputs)["result"]})
    assert payload["status"] == "pass" and sum(t["score"] for t in payload["tests"]) == 100
    assert all(t["status"] == "pass" for t in payload["tests"])
