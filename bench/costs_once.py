"""Does a realistic mistake cost its points once? Each mistake of bench/independent-mistakes.yaml
(one part wrong, written independently of the mistake bank and of the generated mutants) is
graded with `grade chapter N` in its own chapter; the criteria it lost are compared with the
criteria course.yaml says grade the part it changed (parts:) and the end-to-end ones.

    python bench/costs_once.py            # this tree
    python bench/costs_once.py --rev REV  # also the grader of commit REV, side by side
    python bench/costs_once.py --mistakes bench/independent-mistakes-4.yaml   # another set

Both trees are judged by this tree's course.yaml (which names the parts), so an older grader is
measured by the same rule. Chapter 7's mistakes train the classifier for real (about 10 s each).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.course import load_course  # noqa: E402
from grader.selftest.once import changed_parts, spilled  # noqa: E402
from grader.mutation.parts import student_parts  # noqa: E402

MISTAKES = Path(__file__).with_name("independent-mistakes.yaml")


def submission(mistake: dict, course, folder: Path) -> Path:
    """The reference chapters with the mistake's edits in its chapter, in `folder` (made here)."""
    folder.mkdir()
    for chapter in course.chapters:
        shutil.copyfile(course.reference / chapter.file, folder / chapter.file)
    path = folder / course.chapter(mistake["chapter"]).file
    text = path.read_text()
    for edit in mistake["edits"]:
        if text.count(edit["old"]) != 1:
            raise SystemExit(f"{MISTAKES.name}: {mistake['id']}: the text to replace must occur exactly once")
        text = text.replace(edit["old"], edit["new"], 1)
    path.write_text(text)
    return folder


def lost(tree: Path, folder: Path, number: int, out: Path) -> list[str] | None:
    """The criteria of chapter `number` that did not pass, graded by the grader in `tree`."""
    env = {**os.environ, "PYTHONPATH": str(tree), "NO_COLOR": "1", "GRADE_RESIDENT": "0"}
    subprocess.run([sys.executable, "-m", "grader", "chapter", str(number), "--submission", str(folder),
                    "--report-dir", str(out)], cwd=tree, env=env, capture_output=True, timeout=900)
    try:
        results = json.loads((out / "results.json").read_text())
    except (OSError, ValueError):
        return None
    chapter = next(ch for ch in results["chapters"] if ch["number"] == number)
    return [c["id"] for c in chapter["criteria"] if c["status"] != "passed" and c["max_score"] > 0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", help="also measure the grader of this commit")
    parser.add_argument("--mistakes", type=Path, nargs="+", default=[MISTAKES],
                        help="files of written mistakes (default: bench/independent-mistakes.yaml)")
    args = parser.parse_args()
    course = load_course(ROOT / "course.yaml")
    mistakes = [m for path in args.mistakes for m in yaml.safe_load(path.read_text())["mistakes"]]
    with tempfile.TemporaryDirectory(prefix="costs-once-") as scratch:
        scratch = Path(scratch)
        trees = {"this tree": ROOT}
        if args.rev:
            trees[args.rev] = scratch / "rev"
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(trees[args.rev]),
                            args.rev], check=True)
        try:
            once = {name: 0 for name in trees}
            for position, mistake in enumerate(mistakes):
                number = mistake["chapter"]
                chapter = course.chapter(number)
                # numbered: two files may hold mistakes of the same id
                folder = submission(mistake, course, scratch / f"{position:03d}-{mistake['id']}")
                names = [p.name for p in student_parts(course) if p.chapter == number]
                parts = changed_parts((course.reference / chapter.file).read_text(),
                                      (folder / chapter.file).read_text(), names)
                cells = []
                for name, tree in trees.items():
                    criteria = lost(tree, folder, number, scratch / f"out-{name.replace('/', '_')}")
                    extra = spilled(chapter, parts, criteria or [])
                    once[name] += criteria is not None and not extra
                    cells.append("error" if criteria is None else
                                 f"{len(criteria)} lost" + (f", also {', '.join(extra)}" if extra else ""))
                print(f"{mistake['id']:<34} {', '.join(parts):<28} " + " | ".join(f"{c:<48}" for c in cells),
                      flush=True)
            print()
            for name, count in once.items():
                print(f"{name}: {count} of {len(mistakes)} mistakes cost points only in their own part's "
                      f"criteria and end-to-end ones ({count / len(mistakes):.0%})")
        finally:
            if args.rev:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(trees[args.rev])],
                               check=False)


if __name__ == "__main__":
    main()
