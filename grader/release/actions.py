"""The GitHub Actions a student release's workflows use, each pinned by the commit its tag named
when it was checked, with the tag kept as a comment (`uses: owner/name@SHA # vX.Y.Z`).

A tag can be moved to other code by whoever controls the action's repository; a commit cannot.
Dependabot and Renovate keep pins in this form up to date. Every SHA here was read from public
workflows that pin the same tag; one action could not be resolved that way and stays on its tag
(UNPINNED), which the release's tests list explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Action:
    name: str           # owner/repository
    ref: str            # a 40-hex commit, or a tag when it could not be resolved
    tag: str            # the release tag the commit belongs to

    @property
    def uses(self) -> str:
        """The text after `uses:` in a workflow."""
        return f"{self.name}@{self.ref} # {self.tag}" if self.ref != self.tag else f"{self.name}@{self.ref}"


ACTIONS = {
    "checkout": Action("actions/checkout", "11bd71901bbe5b1630ceea73d27597364c9af683", "v4.2.2"),
    "setup_python": Action("actions/setup-python", "a26af69be951a213d495a4c3e4e4022e16d87065", "v5.6.0"),
    "upload_artifact": Action("actions/upload-artifact", "ea165f8d65b6e75b540449e92b4886f43607fa02", "v4.6.2"),
    "junit_report": Action("mikepenz/action-junit-report", "3585e9575db828022551b4231f165eb59a0e74e3", "v5.6.2"),
    # No commit of v1 could be verified from here: pin it (`git ls-remote` the repository for the
    # commit `v1` names) before relying on it.
    "grading_reporter": Action("classroom-resources/autograding-grading-reporter", "v1", "v1"),
}

UNPINNED = frozenset(a.name for a in ACTIONS.values() if a.ref == a.tag)
