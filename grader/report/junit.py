"""JUnit XML for CI systems: a testsuite per chapter, a testcase per criterion; failures and
errors carry the message a student would read, and hidden criteria stay hidden."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ..scorecard import Scorecard
from ..scoring import ChapterResult
from .text import criterion_text, one_line, printable, score_text

# failed is a <failure>; error and timeout are <error> (the code did not answer); skipped is
# <skipped> with its reason.
ELEMENT = {"failed": "failure", "error": "error", "timeout": "error", "skipped": "skipped"}


def _counts(criteria) -> dict[str, str]:
    statuses = [c.status for c in criteria]
    return {"tests": str(len(statuses)), "failures": str(statuses.count("failed")),
            "errors": str(statuses.count("error") + statuses.count("timeout")),
            "skipped": str(statuses.count("skipped"))}


def _suite(parent: ET.Element, chapter: ChapterResult, started: str) -> None:
    suite = ET.SubElement(parent, "testsuite", {
        "name": printable(f"Chapter {chapter.number}: {chapter.title}"), **_counts(chapter.criteria),
        "time": f"{chapter.run.duration:.3f}", "timestamp": started,
    })
    properties = ET.SubElement(suite, "properties")
    for name, value in (("file", chapter.file), ("status", chapter.status), ("score", score_text(chapter.score)),
                        ("max_score", str(chapter.max_score)), ("note", chapter.run.note)):
        ET.SubElement(properties, "property", name=name, value=printable(value))
    for c in chapter.criteria:
        case = ET.SubElement(suite, "testcase", {
            "classname": f"chapter{chapter.number:02d}", "name": printable(f"{c.id}: {c.title}"), "time": "0",
        })
        ET.SubElement(case, "properties").append(
            ET.Element("property", name="points", value=f"{score_text(c.score)}/{c.max_score}"))
        element = ELEMENT.get(c.status)
        if element is None:
            continue
        attributes = {"message": one_line(c.message or c.status, 500)}
        if element != "skipped":
            attributes["type"] = c.status
        ET.SubElement(case, element, attributes).text = criterion_text(c) if element != "skipped" else None
    if chapter.run.stdout:
        ET.SubElement(suite, "system-out").text = printable(chapter.run.stdout)
    if chapter.run.stderr:
        ET.SubElement(suite, "system-err").text = printable(chapter.run.stderr)


def junit_xml(card: Scorecard) -> str:
    criteria = [c for ch in card.chapters for c in ch.criteria]
    root = ET.Element("testsuites", {"name": printable(card.course_title), **_counts(criteria),
                                     "time": f"{card.duration:.3f}"})
    for chapter in card.chapters:
        _suite(root, chapter, card.started)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
