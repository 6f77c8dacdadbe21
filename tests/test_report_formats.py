"""The formats instructors and CI read: JUnit XML, Gradescope JSON, a Markdown summary and GitHub
annotations. Each test parses what was written and checks what it says."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from grader.report import FORMATS, parse_formats, write_reports
from grader.report.github import annotations
from grader.report.gradescope import gradescope_json
from grader.report.junit import junit_xml
from grader.report.markdown import markdown_summary
from report_cards import XSS_ATTRIBUTE, XSS_SCRIPT, failing_card, passing_card
from submissions import ROOT, assemble, grade
from test_report_html import check_golden

CWD = Path("/home/student")     # the synthetic cards' submission is /home/student/mlp-submission


def criteria(card):
    return [(ch, c) for ch in card.chapters for c in ch.criteria]


# --- JUnit -------------------------------------------------------------------------------

def test_junit_has_a_testcase_per_criterion_with_failures_and_errors():
    card = failing_card()
    root = ET.fromstring(junit_xml(card))
    assert root.tag == "testsuites" and root.get("name") == "MLP from scratch"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites][:2] == ["Chapter 1: Math foundations", "Chapter 2: A single neuron"]
    cases = root.iter("testcase")
    by_name = {case.get("name").split(":")[0]: case for case in cases}
    assert len(by_name) == len(criteria(card)) == int(root.get("tests"))
    assert by_name["ch1-matvec"].find("failure") is None and by_name["ch1-matvec"].find("error") is None
    dot = by_name["ch1-dot"].find("failure")
    assert dot.get("message").startswith("expected a number, got a str")
    assert "call:     dot_product([1, 2, 3], [4, 5, 6])" in dot.text and "expected: 32" in dot.text
    assert XSS_ATTRIBUTE in dot.text   # the student's value, as text (the XML writer escaped it)
    assert by_name["ch1-vector-ops"].find("error").get("type") == "error"
    assert "raised in 01_math_foundations.py, line 35, in vector_add" in by_name["ch1-vector-ops"].find("error").text
    assert by_name["ch1-transpose"].find("error").get("type") == "timeout"
    assert by_name["ch2-sigmoid"].find("skipped").get("message").startswith("skipped because")
    hidden = by_name["ch5-network-backward"].find("failure")
    assert hidden.get("message") == "some hidden checks failed" and "call:" not in hidden.text
    counts = {k: int(root.get(k)) for k in ("failures", "errors", "skipped")}
    statuses = [c.status for _, c in criteria(card)]
    assert counts == {"failures": statuses.count("failed"),
                      "errors": statuses.count("error") + statuses.count("timeout"),
                      "skipped": statuses.count("skipped")}
    out = suites[0].find("system-out").text
    assert XSS_SCRIPT in out and "\x00" not in out and "\x1b" not in out
    properties = {p.get("name"): p.get("value") for p in suites[0].find("properties")}
    assert properties["score"] == "5.67" and properties["max_score"] == "10"
    check_golden("failing.junit.xml", junit_xml(card))


def test_junit_of_a_passing_run_has_no_failures():
    root = ET.fromstring(junit_xml(passing_card()))
    assert (root.get("failures"), root.get("errors"), root.get("skipped")) == ("0", "0", "0")
    assert int(root.get("tests")) == len(criteria(passing_card()))


# --- Gradescope --------------------------------------------------------------------------

def test_gradescope_results_have_a_test_per_criterion_with_its_points():
    card = failing_card()
    results = json.loads(json.dumps(gradescope_json(card)))   # what is written must be plain JSON
    assert results["score"] == pytest.approx(float(card.score), abs=0.01)
    tests = results["tests"]
    assert len(tests) == len(criteria(card))
    for test in tests:
        assert set(test) >= {"name", "score", "max_score", "visibility", "output", "status"}
        assert test["visibility"] == "visible" and test["status"] in ("passed", "failed")
    by_tag = {t["tags"][0]: t for t in tests}
    dot = by_tag["ch1-dot"]
    assert (dot["name"], dot["score"], dot["max_score"]) == ("Chapter 1 · dot_product and elementwise_multiply", 1, 2)
    assert dot["output"].startswith("✗ failed\nexpected a number") and "expected: 32" in dot["output"]
    assert by_tag["ch1-matvec"]["status"] == "passed" and by_tag["ch1-matvec"]["output"] == "✓ passed"
    hidden = by_tag["ch5-network-backward"]
    assert "call:" not in hidden["output"] and "some hidden checks failed" in hidden["output"]
    assert sum(t["score"] for t in tests) == pytest.approx(results["score"], abs=0.05)
    assert "Chapter 3 was not graded: 03_forward_pass.py was not found" in results["output"]
    check_golden("failing.gradescope.json", json.dumps(results, indent=2, ensure_ascii=False) + "\n")


# --- Markdown ----------------------------------------------------------------------------

def table_rows(markdown: str, header: str) -> list[list[str]]:
    """The cells of the table that starts with `header`, split at unescaped pipes."""
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]])
    return rows


def test_markdown_summary_has_a_row_per_chapter_and_one_per_criterion_not_passed():
    card = failing_card()
    text = markdown_summary(card)
    assert text.startswith("## MLP from scratch: 16 / 58 points")
    chapters = table_rows(text, "| Chapter | Result |")
    assert [row[0] for row in chapters[:7]] == [f"{ch.number}. {ch.title}" for ch in card.chapters]
    assert chapters[0][1:3] == ["✗ failed", "5.67 / 10"] and chapters[2][1] == "– missing"
    assert chapters[-1][1:3] == ["**Total**", "**16 / 58**"]
    failed = table_rows(text, "| Chapter | Criterion |")
    graded_not_passed = [c for ch in card.chapters if ch.status == "graded" for c in ch.criteria if c.status != "passed"]
    assert len(failed) == len(graded_not_passed)
    dot = next(row for row in failed if row[1].startswith("dot\\_product"))
    # the student's markup is text: every character Markdown or HTML could act on is escaped
    assert dot[4] == r"""expected a number, got a str \('"\>\<img src=x onerror=alert\(1\)\>'\)"""
    assert re.findall(r"(?<!\\)<(\w+)", text) == ["sub"]   # the only tag is the footer's own


def test_markdown_is_appended_to_the_github_step_summary(tmp_path):
    summary = tmp_path / "step-summary.md"
    summary.write_text("earlier step\n")
    env = {"GITHUB_STEP_SUMMARY": str(summary)}
    write_reports(passing_card(), tmp_path / "r", ("markdown",), environ=env)
    write_reports(failing_card(), tmp_path / "r", ("markdown",), environ=env)
    text = summary.read_text()
    assert text.startswith("earlier step\n## MLP from scratch: 100 / 100 points")
    assert "## MLP from scratch: 16 / 58 points" in text
    assert (tmp_path / "r" / "summary.md").read_text().startswith("## MLP from scratch: 16 / 58")


# --- GitHub annotations ------------------------------------------------------------------

COMMAND = re.compile(r"^::(error|warning|notice)(?: ([^:]*))?::(.*)$")


def parse_command(line: str) -> tuple[str, dict[str, str], str]:
    match = COMMAND.match(line)
    assert match, line
    level, props, message = match.groups()
    decode = lambda s: s.replace("%0A", "\n").replace("%0D", "\r").replace("%3A", ":").replace("%2C", ",") \
        .replace("%25", "%")
    properties = dict(p.split("=", 1) for p in props.split(",")) if props else {}
    return level, {k: decode(v) for k, v in properties.items()}, decode(message)


def test_github_annotations_point_at_the_line_that_raised():
    lines = annotations(failing_card(), cwd=CWD)
    parsed = [parse_command(line) for line in lines]
    errors = {props.get("title", ""): (props, message) for level, props, message in parsed if level == "error"}
    props, message = errors["Chapter 1: vector_add, vector_subtract and vector_scale (0.67/2)"]
    assert props["file"] == "mlp-submission/01_math_foundations.py" and props["line"] == "35"
    assert XSS_SCRIPT in message and "hint: Build and return" in message
    props, message = errors["Chapter 1: dot_product and elementwise_multiply (1/2)"]
    assert "line" not in props and props["file"] == "mlp-submission/01_math_foundations.py"
    assert "expected: 32, got: " in message
    props, _ = errors["Chapter 3: not graded"]
    assert "file" not in props                      # a missing file cannot be pointed at
    props, _ = errors["Chapter 4: not graded"]
    assert props["file"] == "mlp-submission/04_loss_function.py"
    _, message = errors["Chapter 5: BackpropNetwork.backward fills every layer's gradients (0/6)"]
    assert message.startswith("some hidden checks failed") and "call:" not in message
    assert not any("skipped because" in m for _, _, m in parsed)   # the failed gate speaks for them
    assert parsed[-1] == ("notice", {"title": "MLP from scratch"}, "16/58 points")
    check_golden("failing.github.txt", "\n".join(lines) + "\n")


def test_github_annotations_cannot_be_broken_into_new_commands():
    # A message with newlines, "::" and commas stays one line with its properties intact.
    card = failing_card()
    lines = annotations(card, cwd=CWD)
    assert all("\n" not in line and "\r" not in line for line in lines)
    assert all(line.startswith(("::error ", "::notice ")) for line in lines)


def test_github_paths_outside_the_working_directory_are_absolute():
    lines = annotations(failing_card(), cwd=Path("/somewhere/else"))
    _, props, _ = parse_command(lines[0])
    assert props["file"] == "/home/student/mlp-submission/01_math_foundations.py"


# --- formats and writing -----------------------------------------------------------------

def test_parse_formats():
    assert parse_formats("html") == ("html",)
    assert parse_formats(" junit, HTML ,junit,github") == ("junit", "html", "github")
    with pytest.raises(ValueError, match=r"unknown formats 'pdf', 'csv'; choose from html, junit"):
        parse_formats("pdf,html,csv")
    with pytest.raises(ValueError, match="no format given"):
        parse_formats(" , ")


def test_write_reports_always_writes_results_json_and_each_format_asked_for(tmp_path):
    reports = write_reports(failing_card(), tmp_path, FORMATS, cwd=CWD, environ={})
    names = [p.name for p in reports.files]
    assert names[0] == "results.json"
    assert set(names) == {"results.json", "index.html", *(f"chapter-{n:02d}.html" for n in range(1, 8)),
                          "junit.xml", "gradescope.json", "summary.md", "github-annotations.txt",
                          "classroom.json"}
    assert reports.index == tmp_path / "index.html"
    assert reports.console == tuple((tmp_path / "github-annotations.txt").read_text().splitlines())
    only_json = write_reports(failing_card(), tmp_path / "json", ("junit",), environ={})
    assert [p.name for p in only_json.files] == ["results.json", "junit.xml"] and only_json.index is None


@pytest.fixture(scope="module")
def markup_run(tmp_path_factory):
    into = tmp_path_factory.mktemp("formats")
    submission = assemble("unruly-markup-in-ch1-output-shown-escaped", into)
    report = into / "report"
    run = grade("chapter", "1", "--submission", str(submission), "--course", str(ROOT / "course.yaml"),
                "--format", "junit,gradescope,markdown,github", report_dir=report, cwd=into)
    return run, report


def test_the_real_grader_writes_every_format_for_a_real_submission(markup_run):
    run, report = markup_run
    assert run.code == 1, run.stderr
    assert not (report / "index.html").exists()          # html was not asked for
    root = ET.parse(report / "junit.xml").getroot()
    dot = next(case for case in root.iter("testcase") if case.get("name").startswith("ch1-dot"))
    assert "<script>alert('raised')</script>" in dot.find("error").get("message")
    gradescope = json.loads((report / "gradescope.json").read_text())
    assert gradescope["score"] == run.results["score"] and len(gradescope["tests"]) == 7
    assert "\\<script\\>alert\\('raised'\\)\\</script\\>" in (report / "summary.md").read_text()
    # annotations go to standard output, where GitHub reads them, and to a file
    printed = [parse_command(line) for line in run.stdout.splitlines() if line.startswith("::")]
    assert printed == [parse_command(line) for line in (report / "github-annotations.txt").read_text().splitlines()]
    raised = next(props for level, props, message in printed if "ValueError" in message)
    assert raised["file"] == "unruly-markup-in-ch1-output-shown-escaped/01_math_foundations.py"
    assert raised["line"] == "23"
