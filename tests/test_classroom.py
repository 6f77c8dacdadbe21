"""`--format classroom`: the payload GitHub Classroom's grading reporter reads. Each test decodes
what was written (reports/classroom.json, and `result=` in $GITHUB_OUTPUT) and checks the sums
and statuses the reporter acts on. The workflow that carries it is tested in test_workflow.py."""

from __future__ import annotations

import base64
import json
from fractions import Fraction

import pytest

from grader.report import write_reports
from grader.report.classroom import classroom_payload, encode_payload, shares
from report_cards import failing_card, passing_card


def decode(line: str) -> dict:
    name, _, value = line.partition("=")
    assert name == "result" and "\n" not in value
    return json.loads(base64.b64decode(value, validate=True).decode("utf-8"))


def test_a_passing_run_passes_with_every_point():
    payload = classroom_payload(passing_card())
    assert payload["status"] == "pass" and payload["max_score"] == 100 and payload["version"] == 1
    assert [t["status"] for t in payload["tests"]] == ["pass"] * 7
    assert sum(t["score"] for t in payload["tests"]) == 100
    assert [t["max_score"] for t in payload["tests"]] == [10, 10, 12, 10, 24, 14, 20]


def test_a_failing_run_fails_and_its_points_add_up_to_the_score():
    card = failing_card()
    payload = classroom_payload(card)
    assert payload["status"] == "fail" and payload["max_score"] == card.max_score == 58
    by_chapter = {int(t["name"].split(":")[0].split()[1]): t for t in payload["tests"]}
    assert by_chapter[1]["status"] == "error"        # raised and timed out
    assert by_chapter[2]["status"] == "error"        # the file does not import
    assert by_chapter[3]["status"] == "fail" and "was not found" in by_chapter[3]["message"]
    assert by_chapter[4]["status"] == "error" and "symbolic link" in by_chapter[4]["message"]
    assert by_chapter[5]["status"] == "fail" and by_chapter[5]["score"] == 10.33
    assert sum(t["score"] for t in payload["tests"]) == pytest.approx(16) and card.score == 16
    assert by_chapter[1]["score"] == 5.67
    chapter1 = by_chapter[1]["message"].splitlines()
    assert chapter1[0] == "✗ failed: 5.67/10 points"
    assert any(line.startswith("✗ dot_product and elementwise_multiply (1/2): expected a number") for line in chapter1)
    assert "    hint: dot_product adds up a[i] * b[i] into one number." in chapter1
    assert not any("matrix_vector_multiply" in line for line in chapter1)      # it passed


def test_rounded_shares_add_up_to_the_rounded_total():
    thirds = [Fraction(1, 3)] * 3
    assert shares(thirds) == [0.33, 0.34, 0.33] and sum(shares(thirds)) == 1
    assert shares([Fraction(17, 3), Fraction(0), Fraction(10)]) == [5.67, 0, 10]


def test_the_payload_goes_to_GITHUB_OUTPUT_as_result_and_to_classroom_json(tmp_path):
    outputs = tmp_path / "github-output"
    outputs.write_text("other=1\n")
    write_reports(failing_card(), tmp_path / "r", ("classroom",), environ={"GITHUB_OUTPUT": str(outputs)})
    lines = outputs.read_text().splitlines()
    assert lines[0] == "other=1" and len(lines) == 2
    payload = decode(lines[1])
    assert payload == json.loads((tmp_path / "r" / "classroom.json").read_text())
    assert payload == classroom_payload(failing_card())


def test_without_GITHUB_OUTPUT_only_the_file_is_written(tmp_path):
    reports = write_reports(passing_card(), tmp_path, ("classroom",), environ={})
    assert [p.name for p in reports.files] == ["results.json", "classroom.json"]


def test_student_text_cannot_break_the_encoding():
    text = encode_payload({"tests": [{"message": "line\nresult=forged\r\n\u2028"}]})
    assert "\n" not in text and "=" not in text.rstrip("=")
    assert json.loads(base64.b64decode(text))["tests"][0]["message"].startswith("line\nresult=forged")
