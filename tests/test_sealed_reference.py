"""No student code reads the reference: the earlier chapters reach the worker sealed.

The fixture `hostile-ch6-hunts-reference-source-finds-none` is a correct chapter 6 that, at
import, prints every piece of source it can reach (its folder, its parents, the course's folder,
sys.modules, loaders, linecache, inspect, gc, the code objects' constants) and a disassembly. It
is graded under both tiers with every report format; no distinctive line of the reference may
appear in any report. The control grades the same fixture `--integrated` with the earlier
chapters as the student's own files beside it: the same hunt then prints them, so the check
below is one that can fail.
"""

from __future__ import annotations

import html
import json
import marshal
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.course import load_course
from grader.reference import LiveReference
from grader.sandbox.tiers import tier_problem

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "submissions" / "hostile-ch6-hunts-reference-source-finds-none"
GRADE = str(Path(sys.executable).parent / "grade")
FORMATS = "html,junit,gradescope,markdown,github"
EARLIER = ("01_math_foundations.py", "02_single_neuron.py", "04_loss_function.py", "05_backpropagation.py")


def distinctive_lines() -> set[str]:
    """Lines only the reference has: in a reference chapter other than chapter 6 (the fixture
    carries that one as its own), long enough to be telling, in no starter file, and not in the
    rubric (course.yaml's hints are shown to every student: chapter 7's names the network it wants)."""
    given = {line.strip() for path in (ROOT / "exercises").glob("*.py")
             for line in path.read_text(encoding="utf-8").splitlines()}
    given |= {line.strip() for line in (ROOT / "reference" / "06_training_loop.py").read_text().splitlines()}
    rubric = (ROOT / "course.yaml").read_text(encoding="utf-8")
    return {line.strip() for path in (ROOT / "reference").glob("[0-9]*.py") if path.name != "06_training_loop.py"
            for line in path.read_text(encoding="utf-8").splitlines()
            if len(line.strip()) >= 24 and line.strip() not in given and line.strip() not in rubric}


def report_texts(folder: Path) -> dict[str, str]:
    """Every report file's text, as written and as a reader sees it (HTML entities and JSON
    escapes undone), so an escaped copy of a line is found too."""
    texts = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        text = path.read_text(encoding="utf-8", errors="replace")
        texts[str(path)] = text + "\n" + html.unescape(text)
        if path.suffix == ".json":
            texts[str(path)] += "\n" + "\n".join(_strings(json.loads(text)))
    return texts


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    return []


def leaked(folder: Path, extra: str = "") -> dict[str, list[str]]:
    lines = distinctive_lines()
    found = {}
    for name, text in {**report_texts(folder), "stdout": extra}.items():
        hits = sorted(line for line in lines if line in text)
        if hits:
            found[name] = hits
    return found


def build(folder: Path, *, own_earlier_chapters: bool) -> Path:
    """The fixture's submission: its chapter 6 (the reference's, after the hunt), and, for the
    control, the reference's earlier chapters as the student's own files."""
    folder.mkdir(parents=True)
    source = FIXTURE.joinpath("06_training_loop.py").read_bytes()
    source = source.replace(b"# @reference-source@", (ROOT / "reference" / "06_training_loop.py").read_bytes())
    source = source.replace(b'"@course-root@"', json.dumps(str(ROOT)).encode())
    (folder / "06_training_loop.py").write_bytes(source)
    if own_earlier_chapters:
        for name in EARLIER:
            shutil.copyfile(ROOT / "reference" / name, folder / name)
    return folder


def grade_chapter_6(submission: Path, report_dir: Path, tier: str, *extra: str) -> tuple[dict, str]:
    done = subprocess.run([GRADE, "chapter", "6", "--submission", str(submission), "--report-dir", str(report_dir),
                           "--sandbox", tier, "--format", FORMATS, *extra],
                          capture_output=True, text=True, cwd=ROOT, timeout=300, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads((report_dir / "results.json").read_text()), done.stdout + done.stderr


def tiers() -> list:
    return [pytest.param(t, marks=pytest.mark.skipif(bool(tier_problem(t)), reason=f"{t}: {tier_problem(t)}"))
            for t in ("bwrap", "process")]


@pytest.mark.parametrize("tier", tiers())
def test_a_hunt_for_the_reference_finds_no_line_of_it(tier, tmp_path):
    results, printed = grade_chapter_6(build(tmp_path / "sub", own_earlier_chapters=False), tmp_path / "r", tier)
    if tier == "process":
        assert "Landlock" in results["sandbox_note"], "without Landlock the process tier cannot hide the course"
    chapter = results["chapters"][0]
    assert chapter["score"] == chapter["max_score"] == 14  # sealed chapters behave as the reference does
    hunt = chapter["output"]["stdout"]
    assert "== hunt: done" in hunt and not chapter["output"]["truncated"], hunt[-2000:]
    for name in ("01_math_foundations", "02_single_neuron", "04_loss_function", "05_backpropagation"):
        assert f"== hunt: module {name} " in hunt                      # it looked at every earlier chapter ...
        assert f"== hunt: getsource {name}: OSError" in hunt           # ... and inspect found no source
    assert "== hunt: functions whose source inspect found: 0" in hunt
    assert "== hunt: file " not in hunt and "== hunt: linecache entry" not in hunt, hunt[:3000]
    assert "RETURN_VALUE" in hunt  # bytecode is within reach, as the threat model says
    assert leaked(tmp_path / "r", printed) == {}
    assert chapter["files"] == {"06_training_loop.py": "student", **{n: "reference" for n in EARLIER}}


def test_the_hunt_would_print_files_beside_it(tmp_path):
    """The control: with the earlier chapters as files beside it, the same hunt leaks them."""
    tier = "bwrap" if tier_problem("bwrap") is None else "process"
    results, printed = grade_chapter_6(build(tmp_path / "sub", own_earlier_chapters=True), tmp_path / "r", tier,
                                       "--integrated")
    found = leaked(tmp_path / "r", printed)
    assert found and max(len(hits) for hits in found.values()) > 50, found
    assert "== hunt: file " in results["chapters"][0]["output"]["stdout"]


@pytest.mark.parametrize("tier", tiers())
def test_a_hunt_graded_in_a_batch_finds_no_line_of_the_reference_nor_the_batchs_copy(tier, tmp_path):
    """A batch writes a copy of the course for its warm judges (grade-batch-<pid>-course-*); the
    same hunt, graded in a batch, looks in the grader's temporary folders too, and finds nothing."""
    build(tmp_path / "class" / "hunter", own_earlier_chapters=False)
    done = subprocess.run([GRADE, "batch", str(tmp_path / "class"), "--report-dir", str(tmp_path / "r"), "--jobs", "1",
                           "--sandbox", tier, "--no-resume"],
                          capture_output=True, text=True, cwd=ROOT, timeout=300, stdin=subprocess.DEVNULL)
    results = json.loads((tmp_path / "r" / "hunter" / "results.json").read_text())
    chapter = next(c for c in results["chapters"] if c["number"] == 6)
    assert chapter["score"] == chapter["max_score"] == 14, done.stdout + done.stderr
    hunt = chapter["output"]["stdout"]
    assert "== hunt: done" in hunt and not chapter["output"]["truncated"], hunt[-2000:]
    assert "== hunt: the grader's temporary folders within reach: " in hunt  # it looked there
    assert "== hunt: file " not in hunt, hunt[:3000]
    assert leaked(tmp_path / "r", done.stdout + done.stderr) == {}


def test_the_hunt_looks_where_a_batch_keeps_its_course_copy(tmp_path):
    """The control: run unconfined, the hunt reads a course copy in the grader's temporary folders."""
    import tempfile

    submission = build(tmp_path / "sub", own_earlier_chapters=True)
    scratch = Path(tempfile.mkdtemp(prefix="grade-batch-control-", dir="/tmp"))
    copy = scratch / "course" / "reference" / "01_math_foundations.py"
    copy.parent.mkdir(parents=True)
    copy.write_text("# a batch's copy of the course\n")
    try:
        done = subprocess.run([sys.executable, "06_training_loop.py"], cwd=submission, capture_output=True,
                              text=True, timeout=120)
    finally:
        shutil.rmtree(scratch)
    assert f"== hunt: file {copy}" in done.stdout, done.stdout[-2000:] + done.stderr[-2000:]
    assert "== hunt: the grader's temporary folders within reach: 0" not in done.stdout


def test_sealed_code_keeps_no_docstring_assert_or_demo():
    course = load_course(ROOT / "course.yaml")
    sealed = LiveReference(course).sealed(5)
    assert (sealed.module, sealed.file) == ("05_backpropagation", "05_backpropagation.py")
    code = marshal.loads(sealed.code)
    assert code.co_filename == "<reference 05_backpropagation.py>"

    def constants(c) -> list:
        return [x for v in c.co_consts for x in (constants(v) if hasattr(v, "co_consts") else [v])]

    texts = [v for v in constants(code) if isinstance(v, str)]
    assert "__main__" not in texts                                          # the demo block is gone
    assert not any("chain rule" in t for t in texts)                        # so is the module's docstring
    assert "BackpropLayer" in code.co_names or "BackpropLayer" in texts     # the class is still there


def test_the_engine_receives_its_reference_and_imports_no_feature():
    """grading, runner and plugin know only the ReferenceSource seam: releases, batches and the
    self-test plug in from the edges (the command line, the batch judge)."""
    import ast

    for name in ("grading.py", "runner.py", "plugin.py", "reference.py"):
        tree = ast.parse((ROOT / "grader" / name).read_text())
        imported = {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        assert not [m for m in imported if m.split(".")[0] in ("release", "batch", "selftest")
                    or m.startswith("grader.")], (name, imported)
