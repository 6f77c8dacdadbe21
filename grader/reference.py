"""Where reference answers come from: the one seam the engine receives.

Grading needs the reference in two places. The judge's hidden tests ask it questions (the
`reference` fixture), and the worker needs the earlier chapters a chapter imports when it is
graded in isolation. A `ReferenceSource` supplies both, and says which seed and mode a grading
uses. `LiveReference` is the instructor's tree; a student release plugs in its recorded oracle
(grader/release/source.py). The engine (grading, runner, plugin) knows no other kind.

The worker never receives a reference *file*: earlier chapters travel as sealed code (compiled
here, without docstrings, asserts or the `__main__` block) that the worker installs as modules
with no source behind them. docs/threat-model.md says what that leaves within a student's reach.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import importlib
import marshal
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, ContextManager, Iterator, Protocol

from .course import Course
from .errors import CourseError
from .sandbox.channel import SealedModule

if TYPE_CHECKING:
    from .plugin import ChapterContext


class ReferenceSource(Protocol):
    """What the engine asks of the reference, whatever stands behind it."""

    def settle(self, seed: int | None, integrated: bool) -> tuple[int, bool]:
        """The seed and mode a grading uses, given what the user asked for."""

    def sealed(self, number: int) -> SealedModule | None:
        """Chapter `number` for the worker of a later chapter, or None when there is none to give
        (the import then names what is missing)."""

    def namespace(self, context: "ChapterContext") -> ContextManager[Any]:
        """What the hidden tests of `context.chapter` get as `reference`, for as long as they run."""


class LiveReference:
    """The instructor's reference solutions: imported in the judge, sealed for the worker."""

    def __init__(self, course: Course):
        self.course = course

    def settle(self, seed: int | None, integrated: bool) -> tuple[int, bool]:
        return (self.course.seed if seed is None else seed), integrated

    def sealed(self, number: int) -> SealedModule:
        chapter = self.course.chapter(number)
        path = self.course.reference / chapter.file
        try:
            stamp = path.stat().st_mtime_ns
        except OSError as error:
            raise CourseError(f"{path}: the reference of chapter {number} cannot be read ({error.strerror})") from None
        return _seal(path, stamp, chapter.module, chapter.file)

    @contextlib.contextmanager
    def namespace(self, context: "ChapterContext") -> Iterator[SimpleNamespace]:
        yield self.load(context.chapter.number)

    def load(self, number: int) -> SimpleNamespace:
        """The reference chapter, imported here in the judge, with the public names of the earlier
        chapters it builds on (so chapter 7's tests can use the reference BackpropLayer)."""
        folder = str(self.course.reference)
        if sys.path[:1] != [folder]:
            sys.path[:] = [folder, *(p for p in sys.path if p != folder)]
        modules = [self.course.chapter(n).module for n in (*self.course.closure(number), number)]
        if any(not self._ours(sys.modules.get(name)) for name in modules):
            # Another course's reference chapters of the same names (a warm judge may have loaded
            # them before forking): this course's own must be imported afresh.
            for chapter in self.course.chapters:
                sys.modules.pop(chapter.module, None)
        names: dict[str, Any] = {}
        for name in modules:
            module = importlib.import_module(name)
            names.update((k, v) for k, v in vars(module).items() if not k.startswith("_"))
        return SimpleNamespace(**names)

    def _ours(self, module: Any) -> bool:
        """Whether `module` is absent or this course's own reference file."""
        file = getattr(module, "__file__", None) if module is not None else None
        return module is None or (file is not None
                                  and Path(file).resolve().parent == self.course.reference.resolve())


@functools.lru_cache(maxsize=32)
def _seal(path: Path, stamp: int, module: str, file: str) -> SealedModule:
    """The chapter at `path` compiled for the worker (cached until the file changes: `stamp`)."""
    tree = ast.parse(path.read_bytes(), filename=file)
    tree.body = [node for node in tree.body if not _is_main_block(node)]
    # optimize=2 drops docstrings and asserts; the file name in angle brackets is one that
    # linecache and inspect know has no source behind it.
    code = compile(tree, f"<reference {file}>", "exec", optimize=2, dont_inherit=True)
    return SealedModule(module=module, file=file, code=marshal.dumps(code))


def _is_main_block(node: ast.stmt) -> bool:
    """`if __name__ == "__main__":` at the top of a module: the chapter's demo, never run here."""
    test = node.test if isinstance(node, ast.If) else None
    return (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name) and test.left.id == "__name__"
            and len(test.comparators) == 1 and isinstance(test.comparators[0], ast.Constant)
            and test.comparators[0].value == "__main__")
