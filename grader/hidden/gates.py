"""The two gates every chapter starts with: the file imports, and it imports only the standard
library (checked statically, in the judge, from the source)."""

from __future__ import annotations

import ast
import sys

import pytest

COURSE_MODULES = {"01_math_foundations", "02_single_neuron", "03_forward_pass", "04_loss_function",
                  "05_backpropagation", "06_training_loop", "07_final_project"}


def imported_modules(source: str) -> set[tuple[str, int]]:
    """Top-level names of every module the source imports, with their line: import statements
    and calls like importlib.import_module("x") or __import__("x") with a literal name."""
    found: set[tuple[str, int]] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update((alias.name.split(".")[0], node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add((node.module.split(".")[0], node.lineno))
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ("import_module", "__import__"):
                found.add((node.args[0].value.split(".")[0], node.lineno))
    return found


def gate_tests(chapter: int):
    """The import and standard-library tests of one chapter, tied to its gate criteria."""

    @pytest.mark.criterion(f"ch{chapter}-imports")
    def test_imports(worker):
        worker.module_proxy()

    @pytest.mark.criterion(f"ch{chapter}-stdlib")
    def test_standard_library_only(student_source):
        outside = sorted({(name, line) for name, line in imported_modules(student_source)
                          if name not in sys.stdlib_module_names and name not in COURSE_MODULES},
                         key=lambda item: item[1])
        if outside:
            listed = ", ".join(f"{name} (line {line})" for name, line in outside)
            raise AssertionError(f"imports modules outside the standard library: {listed}")

    return test_imports, test_standard_library_only
