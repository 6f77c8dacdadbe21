"""`grade export gradescope OUT.zip`: the autograder bundle Gradescope's programming assignments
take (its specification: gradescope/autograder_samples, docs/specs.md).

At the top of the zip: `setup.sh` (run once when Gradescope builds the image), `run_autograder`
(run for every submission), `requirements.txt` (every dependency, pinned to the version installed
here), and what they run: the grader package with its hidden tests and mistake bank, course.yaml,
the reference solutions and the starters with their guide. Gradescope unpacks it into
/autograder/source; everything the scripts make goes under $AUTOGRADER_ROOT (default /autograder).
"""

from __future__ import annotations

import importlib.metadata as metadata
import io
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import yaml
from packaging.markers import Marker
from packaging.requirements import Requirement

from ..course import Course, parse_course
from ..errors import CourseError, UsageError

PACKAGE = Path(__file__).resolve().parents[1]          # grader/
TEMPLATES = Path(__file__).parent / "templates"
SCRIPTS = ("setup.sh", "run_autograder")
SKIPPED_PARTS = frozenset({"__pycache__", ".DS_Store"})
SKIPPED_SUFFIXES = (".pyc", ".pyo")
# Gradescope's images are Ubuntu with its python3: Linux, and a Python the grader supports.
TARGET_PYTHONS = ("3.10", "3.11", "3.12", "3.13")
FIXED_TIME = (2026, 1, 1, 0, 0, 0)   # every member's date: the same course gives the same bytes


@dataclass(frozen=True)
class Pins:
    pinned: tuple[str, ...]        # name==version, with the marker it is needed under
    unpinned: tuple[str, ...]      # needed only on a Python other than this one, so not installed here

    def text(self) -> str:
        return "".join(line + "\n" for line in (*self.pinned, *self.unpinned))


@dataclass(frozen=True)
class BundleSummary:
    out: Path
    files: int
    bytes: int
    pins: Pins

    def lines(self) -> list[str]:
        unpinned = (f"; {len(self.pins.unpinned)} needed only on other Python versions left unpinned: "
                    f"{', '.join(self.pins.unpinned)}") if self.pins.unpinned else ""
        return [f"wrote {self.out}: {self.files} files, {self.bytes / 1024:,.0f} KiB",
                f"requirements.txt pins {len(self.pins.pinned)} packages to the versions installed here{unpinned}",
                "upload it as the autograder of a Gradescope programming assignment (docs/deploy.md)"]


def _needed_on_target(marker: Marker | None) -> bool:
    """Whether a requirement applies on Linux with some supported Python (extras are never wanted)."""
    if marker is None:
        return True
    return any(marker.evaluate({"sys_platform": "linux", "platform_system": "Linux", "os_name": "posix",
                                "python_version": version, "python_full_version": f"{version}.0", "extra": ""})
               for version in TARGET_PYTHONS)


def pinned_requirements(root: str = "grader") -> Pins:
    """Every distribution the grader needs, directly or not, pinned to the version installed here."""
    pinned: dict[str, str] = {}
    unpinned: dict[str, str] = {}
    try:
        todo = [(Requirement(text), None) for text in metadata.requires(root) or []]
    except metadata.PackageNotFoundError:
        raise UsageError(f"the {root} package is not installed here (make test installs it), so its "
                         f"dependencies cannot be pinned") from None
    while todo:
        requirement, inherited = todo.pop()
        if not _needed_on_target(requirement.marker):
            continue
        marker = str(requirement.marker) if requirement.marker else inherited
        key = requirement.name.lower().replace("_", "-")
        if key in pinned or key in unpinned:
            continue
        try:
            version = metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            if marker is None:
                raise UsageError(f"{requirement.name} is needed by the grader but not installed here: "
                                 f"install the grader's dependencies first (make test)") from None
            unpinned[key] = f"{requirement.name}{requirement.specifier} ; {marker}"
            continue
        pinned[key] = f"{requirement.name}=={version}" + (f" ; {marker}" if marker else "")
        todo += [(Requirement(text), marker) for text in metadata.requires(requirement.name) or []]
    return Pins(tuple(sorted(pinned.values(), key=str.lower)), tuple(sorted(unpinned.values(), key=str.lower)))


def bundled_course_text(text: str, source: str) -> str:
    """course.yaml as the bundle holds it: its `reference:` and `exercises:` are the bundle's own
    folders, wherever they were here (pure; comments and layout kept)."""
    root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    if not isinstance(root, yaml.MappingNode):
        raise CourseError(f"{source}: not a mapping")
    lines = text.splitlines(keepends=True)
    for key, value in root.value:
        if key.value in ("reference", "exercises"):
            line = key.start_mark.line
            if value.end_mark.line != line:
                raise CourseError(f"{source}:{line + 1}: `{key.value}:` must be one line to be bundled")
            lines[line] = f"{key.value}: {key.value}\n"
    return "".join(lines)


def _members(course: Course) -> list[tuple[str, Path]]:
    """(name in the zip, file here) for the grader, the reference and the starters."""
    members = []
    for folder, prefix in ((PACKAGE, "grader"), (course.reference, "reference"), (course.exercises, "exercises")):
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder)
            if path.is_file() and not SKIPPED_PARTS & set(relative.parts) and not path.name.endswith(SKIPPED_SUFFIXES):
                members.append((f"{prefix}/{relative.as_posix()}", path))
    return members


def _add(archive: zipfile.ZipFile, name: str, data: bytes, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, FIXED_TIME)
    info.external_attr = (0o100755 if executable else 0o100644) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


def export_gradescope(*, course: Course, out: Path) -> BundleSummary:
    from ..release.oracle import is_release   # only to refuse a student release
    if is_release(course):
        raise UsageError(f"{course.path} belongs to a student release; export the autograder from the "
                         f"instructor's tree, which has the reference solutions")
    if out.suffix.lower() != ".zip":
        raise UsageError(f"{out}: the autograder bundle is a .zip file; name it OUT.zip")
    missing = [ch.file for ch in course.chapters if not (course.reference / ch.file).is_file()]
    if missing:
        raise CourseError(f"the reference folder {course.reference} lacks {', '.join(missing)}")
    text = bundled_course_text(course.path.read_text(encoding="utf-8"), course.path.name)
    parse_course(text, out.parent / "course.yaml")   # the bundle's rubric must load, or nothing is written
    pins = pinned_requirements()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for script in SCRIPTS:
            _add(archive, script, (TEMPLATES / script).read_bytes(), executable=True)
        _add(archive, "requirements.txt", pins.text().encode())
        _add(archive, "course.yaml", text.encode())
        for name, path in _members(course):
            _add(archive, name, path.read_bytes())
        count = len(archive.infolist())
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_name(f".{out.name}.tmp")
    temporary.write_bytes(buffer.getvalue())
    os.replace(temporary, out)
    return BundleSummary(out, count, out.stat().st_size, pins)
