"""Which report formats exist and where each is written: the one place the command line calls
after grading. results.json is always written; the others when asked for with --format."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from ..scorecard import Scorecard, write_atomically, write_results
from .classroom import classroom_payload, encode_payload
from .github import annotations
from .gradescope import gradescope_json
from .html import write_html
from .junit import junit_xml
from .formats import DEFAULT_FORMATS, FORMATS
from .markdown import markdown_summary

FILENAMES = {"junit": "junit.xml", "gradescope": "gradescope.json", "markdown": "summary.md",
             "github": "github-annotations.txt", "classroom": "classroom.json"}


@dataclass(frozen=True)
class Reports:
    files: tuple[Path, ...]        # results.json first, then each format's files
    console: tuple[str, ...] = ()  # lines for standard output: GitHub reads annotations there

    @property
    def index(self) -> Path | None:
        return next((path for path in self.files if path.name == "index.html"), None)


def write_reports(card: Scorecard, report_dir: Path, formats: tuple[str, ...] = DEFAULT_FORMATS, *,
                  cwd: Path | None = None, environ: Mapping[str, str] | None = None) -> Reports:
    """Write results.json and the reports in `formats` into `report_dir`. `cwd` makes the GitHub
    annotations' paths relative; `environ` supplies GITHUB_STEP_SUMMARY and GITHUB_OUTPUT (both
    default to this process's)."""
    environ = os.environ if environ is None else environ
    files = [write_results(card, report_dir)]
    console: list[str] = []
    for name in formats:
        if name == "html":
            files += write_html(card, report_dir)
            continue
        path = report_dir / FILENAMES[name]
        if name == "junit":
            write_atomically(path, junit_xml(card))
        elif name == "gradescope":
            write_atomically(path, json.dumps(gradescope_json(card), indent=2, ensure_ascii=False) + "\n")
        elif name == "markdown":
            summary = markdown_summary(card)
            write_atomically(path, summary)
            if environ.get("GITHUB_STEP_SUMMARY"):
                with open(environ["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as step_summary:
                    step_summary.write(summary + "\n")
        elif name == "github":
            lines = annotations(card, cwd=cwd or Path.cwd())
            write_atomically(path, "\n".join(lines) + "\n")
            console += lines
        elif name == "classroom":
            payload = classroom_payload(card)
            write_atomically(path, json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
            if environ.get("GITHUB_OUTPUT"):
                # The step's `result` output, which the workflow hands to the grading reporter.
                with open(environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as outputs:
                    outputs.write(f"result={encode_payload(payload)}\n")
        files.append(path)
    return Reports(tuple(files), tuple(console))
