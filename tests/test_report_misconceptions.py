"""The diagnosis and the hints in every format a student may read instead of the terminal: the
JUnit failure text, the Gradescope test output, the Markdown summary, the GitHub annotations and
the GitHub Classroom payload. Each test parses what was written, finds the criterion's entry and
checks that the misconception (title, explanation, lesson) and the hint are in it, and that a
criterion that passed is never given one."""

from __future__ import annotations

import base64
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from grader.report.classroom import classroom_payload
from grader.report.github import annotations
from grader.report.gradescope import gradescope_json
from grader.report.junit import junit_xml
from grader.report.markdown import markdown_summary
from report_cards import XSS_SCRIPT, diagnosed_card, failing_card
from test_report_formats import parse_command, table_rows

DOT = "probable misconception: dot_product returns its total as a string"
BACKWARD = "probable misconception: the input gradient indexes the weights without the transpose"
DOT_HINT = "hint: dot_product adds up a[i] * b[i] into one number."
BACKWARD_HINT = "hint: Start from softmax(last layer's outputs) - target."


def test_junit_failure_text_names_the_misconception_and_the_hint():
    root = ET.fromstring(junit_xml(diagnosed_card()))
    cases = {case.get("name").split(":")[0]: case for case in root.iter("testcase")}
    dot = cases["ch1-dot"].find("failure").text
    assert DOT in dot and DOT_HINT in dot
    assert "read again: “Chapter 1 — math foundations” in exercises/README.md" in dot
    assert XSS_SCRIPT in dot                    # as text: the XML writer escaped it
    hidden = cases["ch5-network-backward"].find("failure").text
    assert BACKWARD in hidden and BACKWARD_HINT in hidden and "call:" not in hidden
    assert "misconception" not in ET.tostring(cases["ch1-matvec"], encoding="unicode")  # it passed


def test_gradescope_output_names_the_misconception_and_the_hint():
    tests = {t["tags"][0]: t for t in gradescope_json(diagnosed_card())["tests"]}
    assert DOT in tests["ch1-dot"]["output"] and DOT_HINT in tests["ch1-dot"]["output"]
    assert "A number is what the next layer multiplies" in tests["ch1-dot"]["output"]
    assert BACKWARD in tests["ch5-network-backward"]["output"]
    assert "misconception" not in tests["ch1-matvec"]["output"]


def test_markdown_lists_hints_and_each_misconception_once_with_what_it_explains():
    text = markdown_summary(diagnosed_card())
    failed = table_rows(text, "| Chapter | Criterion |")
    dot = next(row for row in failed if row[1].startswith("dot\\_product"))
    assert dot[5] == r"dot\_product adds up a\[i\] \* b\[i\] into one number."
    section = text.split("### Probable misconceptions", 1)[1]
    entries = [line for line in section.splitlines() if line.startswith("- ")]
    assert len(entries) == 2                     # matvec passed: the dot product's mistake is named once
    assert entries[0].startswith("- **Chapter 1: dot\\_product returns its total as a string** "
                                 "(explains: dot\\_product and elementwise\\_multiply)")
    assert "read again: “Chapter 1 — math foundations” in exercises/README.md" in entries[0]
    assert "\\<script\\>" in entries[0] and "<script>" not in text
    assert entries[1].startswith("- **Chapter 5: the input gradient indexes the weights without the transpose**")
    assert "### Probable misconceptions" not in markdown_summary(failing_card())


def test_github_annotations_carry_the_misconception_on_its_own_line():
    parsed = [parse_command(line) for line in annotations(diagnosed_card(), cwd=Path("/home/student"))]
    messages = {props["title"]: message for level, props, message in parsed if level == "error"}
    dot = messages["Chapter 1: dot_product and elementwise_multiply (1/2)"].splitlines()
    assert DOT_HINT in dot and any(line.startswith(DOT + ". Your `dot_product` seems") for line in dot)
    backward = messages["Chapter 5: BackpropNetwork.backward fills every layer's gradients (0/6)"]
    assert BACKWARD in backward
    assert all("\n" not in line for line in annotations(diagnosed_card(), cwd=Path("/home/student")))


def test_classroom_payload_messages_carry_hints_and_misconceptions():
    payload = classroom_payload(diagnosed_card())
    decoded = json.loads(base64.b64decode(base64.b64encode(json.dumps(payload).encode())))
    chapter1 = next(t for t in decoded["tests"] if t["name"] == "Chapter 1: Math foundations")
    assert DOT_HINT in chapter1["message"] and DOT in chapter1["message"]
    chapter5 = next(t for t in decoded["tests"] if t["name"] == "Chapter 5: Backpropagation")
    assert BACKWARD in chapter5["message"] and BACKWARD_HINT in chapter5["message"]
    assert len(re.findall("probable misconception", chapter1["message"])) == 1  # not for matvec
