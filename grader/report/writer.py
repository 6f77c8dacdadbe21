"""Which report formats exist and where each is written: the one place the command line calls
after grading. results.json is always written; the others when asked for with --format."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from ..scorecard import Scorecard, write_atomically, write_results
from .formats import DEFAULT_FORMATS

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
                  cwd: Path | None = None, environ: Mapping[str, str] | None = None,
                  refresh: int | None = None) -> Reports:
    """Write results.json and the reports in `formats` into `report_dir`. `cwd` makes the GitHub
    annotations' paths relative; `environ` supplies GITHUB_STEP_SUMMARY and GITHUB_OUTPUT (both
    default to this process's); `refresh` makes the HTML pages reload themselves every so many
    seconds."""
    environ = os.environ if environ is None else environ
    files: list[Path] = []
    console: list[str] = []
    # Each renderer is imported when its format is asked for: a student's run needs only HTML.
    for name in formats:
        if name == "html":
            from .html import write_html
            files += write_html(card, report_dir, refresh)
            continue
        path = report_dir / FILENAMES[name]
        if name == "junit":
            from .junit import junit_xml
            write_atomically(path, junit_xml(card))
        elif name == "gradescope":
            from .gradescope import gradescope_json
            write_atomically(path, json.dumps(gradescope_json(card), indent=2, ensure_ascii=False) + "\n")
        elif name == "markdown":
            from .markdown import markdown_summary
            summary = markdown_summary(card)
            write_atomically(path, summary)
            if environ.get("GITHUB_STEP_SUMMARY"):
                with open(environ["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as step_summary:
                    step_summary.write(summary + "\n")
        elif name == "github":
            from .github import annotations
            lines = annotations(card, cwd=cwd or Path.cwd())
            write_atomically(path, "\n".join(lines) + "\n")
            console += lines
        elif name == "classroom":
            from .classroom import classroom_payload, encode_payload
            payload = classroom_payload(card)
            write_atomically(path, json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
            if environ.get("GITHUB_OUTPUT"):
                # The step's `result` output, which the workflow hands to the grading reporter.
                with open(environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as outputs:
                    outputs.write(f"result={encode_payload(payload)}\n")
        files.append(path)
    # results.json last: whoever waits for it (a batch, `grade watch`'s reader) finds the others done.
    return Reports((write_results(card, report_dir), *files), tuple(console))
