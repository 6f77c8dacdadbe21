"""Load the course's chapter modules (01_… to 07_…) from a given folder, one folder at a time.

reference/ and exercises/ (and any copy of them) hold modules with the SAME names, and each
chapter imports its predecessors with importlib.import_module("01_math_foundations"), which
returns whatever sys.modules already holds under that name. Importing both trees the ordinary
way would therefore let exercises/03 silently pick up reference/01 (or the reverse), depending
only on which test ran first.

The approach taken here: every folder gets its own private registry of chapter modules. While a
chapter is being executed, sys.modules is made to hold exactly that folder's registry under the
plain chapter names (any other tree's entries are set aside) and the folder is first on
sys.path; afterwards the plain names are removed again, the set-aside entries come back and
sys.path is restored. So the plain names never linger in sys.modules, a chapter's imports can
only resolve inside its own folder, and within one folder each chapter is executed once and
shared: reference chapter 6's BackpropNetwork *is* reference chapter 5's class. The module
objects themselves get unique names (e.g. "course_reference_1_05_backpropagation") so that
tracebacks and reprs say which tree they came from.

This is simpler than a subprocess per tree and keeps the modules usable in-process; it is not
thread-safe, which pytest (without xdist) does not need.
"""

from __future__ import annotations

import importlib.util
import itertools
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "reference"
EXERCISES = ROOT / "exercises"

CHAPTERS = {
    1: "01_math_foundations",
    2: "02_single_neuron",
    3: "03_forward_pass",
    4: "04_loss_function",
    5: "05_backpropagation",
    6: "06_training_loop",
    7: "07_final_project",
}

_registries: dict[Path, dict[str, ModuleType]] = {}
_tags: dict[Path, str] = {}
_counter = itertools.count(1)


def chapter_path(folder: Path | str, number: int) -> Path:
    """The file of chapter `number` inside `folder`."""
    return Path(folder) / f"{CHAPTERS[number]}.py"


def load_chapter(folder: Path | str, number: int) -> ModuleType:
    """Chapter `number` as found in `folder`, importing its predecessors from that folder only."""
    folder = Path(folder).resolve()
    registry = _registries.setdefault(folder, {})
    name = CHAPTERS[number]
    if name in registry:
        return registry[name]
    # Load the earlier chapters first, so that this chapter's import_module() calls find them in
    # the registry (already named after this tree) instead of importing them under plain names.
    for earlier in range(1, number):
        if chapter_path(folder, earlier).exists():
            load_chapter(folder, earlier)

    tag = _tags.setdefault(folder, f"course_{folder.name}_{next(_counter)}")
    set_aside = {n: sys.modules.pop(n) for n in CHAPTERS.values() if n in sys.modules}
    saved_path = list(sys.path)
    sys.modules.update(registry)
    sys.path.insert(0, str(folder))
    try:
        spec = importlib.util.spec_from_file_location(f"{tag}_{name}", chapter_path(folder, number))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # visible under its plain name while it executes, like an import
        spec.loader.exec_module(module)
        registry[name] = module
    finally:
        for n in CHAPTERS.values():
            sys.modules.pop(n, None)
        sys.modules.update(set_aside)
        sys.path[:] = saved_path
    return module


def forget(folder: Path | str) -> None:
    """Drop a folder's registry, so its next load executes the files again (e.g. a temp folder)."""
    folder = Path(folder).resolve()
    _registries.pop(folder, None)
    _tags.pop(folder, None)


def reference(number: int) -> ModuleType:
    return load_chapter(REFERENCE, number)


def exercise(number: int) -> ModuleType:
    return load_chapter(EXERCISES, number)
