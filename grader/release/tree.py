"""The files of a student release: the starters and their guide, the grader package, the rubric
without the instructor's parts, the oracle, and a README, Makefile and CI workflow for students.

Nothing of the reference is copied, and neither is anything made from it: the mistake bank
(each entry is a piece of a reference chapter) is shipped empty, course.yaml loses its own
`mistakes:` and its `reference:` folder, and no bytecode cache travels."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import jinja2
import yaml

from ..course import Course, parse_course
from ..errors import CourseError
from .actions import ACTIONS
from .oracle import ORACLE_DIR, ORACLE_FILE, Oracle, oracle_json

PACKAGE = Path(__file__).resolve().parents[1]      # grader/
SOURCE_ROOT = PACKAGE.parent                         # the folder with pyproject.toml
TEMPLATES = Path(__file__).parent / "templates"
EMPTY_BANK = ("# The mistake bank is empty in a student release: each entry of the instructor's bank is a\n"
              "# small edit of a reference chapter, which a release does not contain.\n"
              "mistakes: []\n")
COURSE_HEADER = ("# This course.yaml belongs to a student release: the hidden tests compare your code with the\n"
                 "# recorded answers in oracle/ (made with this seed), and each chapter is graded with your own\n"
                 "# earlier chapters. Changing the seed or the chapters makes the recorded answers unusable.\n")
_SKIPPED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", "*.egg-info", ".DS_Store")


@dataclass(frozen=True)
class StudentPage:
    """What the student README and the workflow say about the course."""

    title: str
    version: str
    chapters: tuple[tuple[int, str, str, int], ...]   # number, title, file, points
    max_score: int
    fail_under: float | None
    seed: int


def release_course_text(text: str, source: str) -> str:
    """course.yaml as a release ships it: no `mistakes:` (they are reference code), no
    `reference:`, the starters under `exercises/`. Comments and layout are kept (pure)."""
    lines = text.splitlines(keepends=True)
    root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    if not isinstance(root, yaml.MappingNode):
        raise CourseError(f"{source}: not a mapping")
    entries = root.value
    spans: dict[str, tuple[int, int]] = {}
    for i, (key, _value) in enumerate(entries):
        end = entries[i + 1][0].start_mark.line if i + 1 < len(entries) else len(lines)
        spans[key.value] = (key.start_mark.line, end)
    drop: set[int] = set()
    for name in ("mistakes", "reference"):
        if name in spans:
            start, end = spans[name]
            while start > 0 and (lines[start - 1].lstrip().startswith("#") or not lines[start - 1].strip()):
                start -= 1  # the comment block that introduces the section goes with it
            drop.update(range(start, end))
    kept = []
    for number, line in enumerate(lines):
        if number in drop:
            continue
        if "exercises" in spans and number == spans["exercises"][0]:
            line = "exercises: exercises\n"
        kept.append(line)
    body = "".join(kept).rstrip("\n") + "\n"
    return COURSE_HEADER + "\n" + body


def student_page(course: Course) -> StudentPage:
    return StudentPage(course.title, course.version,
                       tuple((ch.number, ch.title, ch.file, ch.max_score) for ch in course.chapters),
                       course.max_score, course.fail_under, course.seed)


def render(template: str, page: StudentPage) -> str:
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=False,
                                     keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    return environment.get_template(template).render(page=page, actions=ACTIONS)


def write_tree(course: Course, oracle: Oracle, out: Path) -> list[str]:
    """Write the release into the empty folder `out`; returns what it holds, for the summary."""
    text = release_course_text(course.path.read_text(encoding="utf-8"), course.path.name)
    parse_course(text, out / "course.yaml")  # the release's rubric must load, or nothing is written
    page = student_page(course)
    out.mkdir(parents=True, exist_ok=True)
    exercises = out / "exercises"
    exercises.mkdir()
    for chapter in course.chapters:
        shutil.copyfile(course.exercises / chapter.file, exercises / chapter.file)
    guide = course.exercises / "README.md"
    if guide.is_file():
        shutil.copyfile(guide, exercises / "README.md")
    shutil.copytree(PACKAGE, out / "grader", ignore=_SKIPPED)
    (out / "grader" / "mistakes" / "bank.yaml").write_text(EMPTY_BANK, encoding="utf-8")
    shutil.copyfile(SOURCE_ROOT / "pyproject.toml", out / "pyproject.toml")
    (out / "course.yaml").write_text(text, encoding="utf-8")
    recorded = out / ORACLE_DIR
    (recorded / "starters").mkdir(parents=True)
    (recorded / ORACLE_FILE).write_text(oracle_json(oracle), encoding="utf-8")
    for chapter in course.chapters:
        shutil.copyfile(course.exercises / chapter.file, recorded / "starters" / chapter.file)
    (recorded / "README.md").write_text(render("oracle-README.md.j2", page), encoding="utf-8")
    (out / "README.md").write_text(render("README.md.j2", page), encoding="utf-8")
    (out / "Makefile").write_text(render("Makefile.j2", page), encoding="utf-8")
    (out / ".gitignore").write_text(render("gitignore.j2", page), encoding="utf-8")
    workflow = out / ".github" / "workflows"
    workflow.mkdir(parents=True)
    (workflow / "grade.yml").write_text(render("grade.yml.j2", page), encoding="utf-8")
    (workflow / "classroom.yml").write_text(render("classroom.yml.j2", page), encoding="utf-8")
    return ["exercises/", "grader/", "course.yaml", f"{ORACLE_DIR}/", "README.md", "Makefile",
            ".github/workflows/grade.yml", ".github/workflows/classroom.yml", "pyproject.toml", ".gitignore"]
