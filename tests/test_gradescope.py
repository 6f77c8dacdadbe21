"""`grade export gradescope OUT.zip`, run as Gradescope runs an autograder.

The bundle is built by the real command and unpacked into a temporary $AUTOGRADER_ROOT/source;
its setup.sh runs there (making $AUTOGRADER_ROOT/venv from requirements.txt: this needs a package
index, and the tests skip without one), run_autograder is copied to $AUTOGRADER_ROOT as Gradescope
copies it, and each submission is put in $AUTOGRADER_ROOT/submission before run_autograder runs
from $AUTOGRADER_ROOT. As in Gradescope's containers, bubblewrap is not to be found (it is left
off PATH), so `auto` falls back to the process tier. Every results.json is validated against
tests/gradescope_results.schema.json, written from Gradescope's specification.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import pytest

from grader.course import load_course

from batch_support import zip_bomb, zipped
from submissions import ROOT, assemble

SCHEMA = json.loads((Path(__file__).parent / "gradescope_results.schema.json").read_text())
CHAPTERS = sorted(path.name for path in (ROOT / "reference").glob("0*.py"))
CRITERIA = sum(len(chapter.criteria) for chapter in load_course(ROOT / "course.yaml").chapters)  # one test each


def no_bwrap_path(into: Path) -> str:
    """A PATH with what the scripts call (bash, through env) and no bubblewrap, as on Gradescope."""
    into.mkdir(parents=True, exist_ok=True)
    for tool in ("bash", "mkdir"):
        if not (into / tool).exists():
            os.symlink(shutil.which(tool), into / tool)
    return str(into)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("export") / "autograder.zip"
    done = subprocess.run([sys.executable, "-m", "grader", "export", "gradescope", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"wrote {out}: ")
    return out


@pytest.fixture(scope="module")
def autograder(bundle, tmp_path_factory) -> Path:
    """$AUTOGRADER_ROOT after Gradescope built the image: the bundle in source/, setup.sh run."""
    root = tmp_path_factory.mktemp("autograder")
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(root / "source")
        for info in archive.infolist():     # extractall drops the permission bits; Gradescope keeps them
            mode = info.external_attr >> 16
            if mode:
                os.chmod(root / "source" / info.filename, stat.S_IMODE(mode))
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PIP_CACHE_DIR")}
    # Rust's toolchain proxies, where a machine has them on PATH, write ~/.rustup when anything
    # probes for them; a Gradescope image has none, and they are not the scripts' doing.
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if ".cargo" not in p)
    outside = outside_of(root)
    setup = subprocess.run(["bash", "setup.sh"], cwd=root / "source", capture_output=True, text=True, timeout=600,
                           env={**env, "AUTOGRADER_ROOT": str(root), "HOME": str(outside), "TMPDIR": str(outside)})
    if setup.returncode != 0 and any(word in setup.stdout + setup.stderr for word in
                                     ("NewConnectionError", "Could not find a version", "Temporary failure")):
        pytest.skip(f"pip cannot reach a package index here: {setup.stderr[-300:]}")
    assert setup.returncode == 0, setup.stderr
    assert list(outside.iterdir()) == []     # everything it made is under $AUTOGRADER_ROOT
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
    return root


def outside_of(root: Path) -> Path:
    """An empty folder beside $AUTOGRADER_ROOT, given to the scripts as their home and temporary
    folder: nothing may be left in it."""
    outside = root.parent / f"{root.name}-outside"
    outside.mkdir(exist_ok=True)
    return outside


def submit(root: Path, build) -> dict:
    """Put a submission in place (`build(folder)` fills $AUTOGRADER_ROOT/submission), run
    run_autograder as Gradescope does, and return results.json, checked against the schema."""
    for name in ("submission", "results", "work", "tmp"):
        shutil.rmtree(root / name, ignore_errors=True)
    (root / "submission").mkdir()
    (root / "results").mkdir()
    build(root / "submission")
    outside = outside_of(root)
    env = {"AUTOGRADER_ROOT": str(root), "PATH": no_bwrap_path(outside.parent / "bin"), "HOME": str(outside),
           "TMPDIR": str(outside), "LANG": "C.UTF-8"}
    done = subprocess.run([str(root / "run_autograder")], cwd=root, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    assert list(outside.iterdir()) == []
    results = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(results, SCHEMA)
    return results


def reference_files(folder: Path, chapters=CHAPTERS) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in chapters:
        shutil.copyfile(ROOT / "reference" / name, folder / name)


def by_tag(results: dict) -> dict[str, dict]:
    return {t["tags"][0]: t for t in results["tests"]}


# --- the bundle itself --------------------------------------------------------------------------

def test_the_bundle_has_the_scripts_at_its_top_and_every_dependency_pinned(bundle):
    with zipfile.ZipFile(bundle) as archive:
        infos = {info.filename: info for info in archive.infolist()}
        requirements = archive.read("requirements.txt").decode().splitlines()
        course = archive.read("course.yaml").decode()
    for script in ("setup.sh", "run_autograder"):
        assert stat.S_IMODE(infos[script].external_attr >> 16) == 0o755
    assert {"course.yaml", "grader/__main__.py", "grader/hidden/test_ch05_backprop.py",
            "grader/mistakes/bank.yaml", *(f"reference/{name}" for name in CHAPTERS),
            "exercises/README.md"} <= set(infos)
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in infos)
    pinned = [line for line in requirements if "==" in line]
    assert {line.split("==")[0].lower() for line in pinned} >= {"click", "pyyaml", "jinja2", "pytest", "markupsafe"}
    assert all(" ; python_version" in line for line in requirements if "==" not in line)  # only other Pythons'
    assert "\nreference: reference\n" in course and "\nexercises: exercises\n" in course


def test_requirements_are_those_of_linux_with_a_supported_python_never_an_extra():
    from packaging.markers import Marker

    from grader.deploy.bundle import _needed_on_target
    assert _needed_on_target(None) and _needed_on_target(Marker('python_version < "3.11"'))
    assert not _needed_on_target(Marker('sys_platform == "win32"'))
    assert not _needed_on_target(Marker('extra == "dev"'))
    assert not _needed_on_target(Marker('python_version < "3.10"'))


def test_export_refuses_a_name_that_is_not_a_zip(tmp_path):
    done = subprocess.run([sys.executable, "-m", "grader", "export", "gradescope", str(tmp_path / "out.tar")],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stderr.strip().splitlines() == [
        f"grade: error: {tmp_path / 'out.tar'}: the autograder bundle is a .zip file; name it OUT.zip"]


def test_without_setup_run_autograder_still_writes_results_that_say_why(bundle, tmp_path):
    with zipfile.ZipFile(bundle) as archive:
        (tmp_path / "run_autograder").write_bytes(archive.read("run_autograder"))
    os.chmod(tmp_path / "run_autograder", 0o755)
    done = subprocess.run([str(tmp_path / "run_autograder")], cwd=tmp_path, capture_output=True, text=True,
                          env={"AUTOGRADER_ROOT": str(tmp_path), "PATH": os.environ["PATH"]}, timeout=60)
    assert done.returncode == 0
    results = json.loads((tmp_path / "results" / "results.json").read_text())
    jsonschema.validate(results, SCHEMA)
    assert results["score"] == 0 and "setup.sh did not finish" in results["output"]


# --- submissions, graded as Gradescope would -------------------------------------------------------

def test_a_correct_submission_scores_full_marks_in_the_process_tier(autograder):
    results = submit(autograder, reference_files)
    assert results["score"] == 100 and results["stdout_visibility"] == "hidden"
    assert len(results["tests"]) == CRITERIA and all(t["status"] == "passed" for t in results["tests"])
    assert sum(t["max_score"] for t in results["tests"]) == 100
    summary = results["output"].splitlines()
    assert summary[0] == "Graded the chapter files found in your upload."
    assert summary[1] == "MLP from scratch: 100/100 points"
    assert "sandbox process (bubblewrap cannot run here (bubblewrap (bwrap) is not installed), so the process " \
           "tier was used." in summary[-1]
    first = results["tests"][0]
    assert (first["name"], first["number"], first["visibility"]) == (
        "Chapter 1 · The file imports without errors", "1.1", "visible")


def test_a_buggy_submission_is_told_its_misconception(autograder, tmp_path):
    def build(folder: Path) -> None:
        made = assemble("buggy-ch5-input-gradient-not-transposed", tmp_path)
        (made / CHAPTERS[6]).unlink()         # no chapter 7: it would only train for seconds
        shutil.copytree(made, folder, dirs_exist_ok=True)
    results = submit(autograder, build)
    tests = by_tag(results)
    assert results["score"] < 80 and tests["ch5-grad-inputs"]["status"] == "failed"
    output = tests["ch5-grad-inputs"]["output"]
    assert "probable misconception: " in output and "hint: " in output and "read again: “" in output
    assert tests["ch1-vector-ops"]["status"] == "passed"
    assert tests["ch7-accuracy"]["score"] == 0 and "was not found" in tests["ch7-accuracy"]["output"]
    assert sum(t["score"] for t in results["tests"]) == pytest.approx(results["score"], abs=0.05)


def test_files_in_nested_folders_are_found(autograder):
    results = submit(autograder, lambda folder: reference_files(folder / "My Work" / "mlp", CHAPTERS[:2]))
    assert results["score"] == 20
    assert results["output"].startswith("Graded the chapter files found in the folder My Work/mlp/ of your upload.")


def test_an_uploaded_zip_is_unpacked_safely_and_graded(autograder):
    def build(folder: Path) -> None:
        reference_files(folder / "work", CHAPTERS[:3])
        zipped(folder / "work", folder / "submission.zip", top="mlp-project", junk=True)
    results = submit(autograder, build)
    assert results["score"] == 32
    assert results["output"].startswith("Graded the chapter files found in submission.zip, folder mlp-project/.")


def test_an_empty_submission_gets_results_that_say_why(autograder):
    results = submit(autograder, lambda folder: (folder / "notes.txt").write_text("I ran out of time"))
    assert results["score"] == 0 and results["output"].startswith("Not graded: no chapter files were found")
    assert len(results["tests"]) == CRITERIA and sum(t["max_score"] for t in results["tests"]) == 100
    assert all(t["score"] == 0 and t["output"].startswith("not graded: no chapter files") for t in results["tests"])


def test_a_zip_bomb_is_refused_with_results_that_say_why(autograder):
    results = submit(autograder, lambda folder: zip_bomb(folder / "upload.zip"))
    assert results["score"] == 0
    assert results["output"].startswith("Not graded: upload.zip was not unpacked: it ")


def test_a_syntax_error_costs_its_chapter_and_says_where(autograder):
    def build(folder: Path) -> None:
        reference_files(folder, CHAPTERS[:2])
        (folder / CHAPTERS[1]).write_text("def sigmoid(z)\n    return z\n")
    results = submit(autograder, build)
    tests = by_tag(results)
    assert results["score"] == 10
    assert tests["ch2-imports"]["status"] == "failed" and "SyntaxError" in tests["ch2-imports"]["output"]
    assert tests["ch2-sigmoid"]["score"] == 0 and "skipped because" in tests["ch2-sigmoid"]["output"]


# --- finding the files (no Gradescope needed) -------------------------------------------------------

def test_finding_the_chapter_files_prefers_the_fullest_folder_and_refuses_ties(tmp_path):
    from grader.course import load_course
    from grader.deploy.autograder import Found, Unusable, find_submission
    course = load_course(ROOT / "course.yaml")
    upload = tmp_path / "upload"
    reference_files(upload / "old", CHAPTERS[:1])
    reference_files(upload / "new" / "final", CHAPTERS[:3])
    found = find_submission(upload, course, tmp_path / "scratch")
    assert isinstance(found, Found) and found.folder == upload / "new" / "final"
    reference_files(upload / "copy", CHAPTERS[:3])
    tie = find_submission(upload, course, tmp_path / "scratch")
    assert isinstance(tie, Unusable) and "several folders (copy, new/final)" in tie.reason
    deep = tmp_path / "deep"
    reference_files(deep / "a" / "b" / "c" / "d" / "e", CHAPTERS[:1])     # deeper than anyone nests them
    assert isinstance(find_submission(deep, course, tmp_path / "scratch"), Unusable)
    two = tmp_path / "two"
    two.mkdir()
    for name in ("a.zip", "b.zip"):
        zip_bomb(two / name)
    assert find_submission(two, course, tmp_path / "scratch").reason.startswith("your upload has 2 .zip files")
