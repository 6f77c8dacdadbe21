"""The submissions folder: one entry per student (a folder or a .zip named for the student), the
ids checked before anything is written under them, and the slice of the class a shard grades."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError

# Names the class folder uses itself: a student called "index.html" would overwrite the overview.
RESERVED = frozenset({"index.html", "grades.csv", "batch.json", "canvas.csv", "moodle.csv"})
# A spreadsheet reads a cell starting with one of these as a formula (CSV injection): grades.csv
# must never hand a student-chosen formula to the instructor's spreadsheet program.
FORMULA_STARTS = "=+-@"
MAX_ID_CHARS = 128


@dataclass(frozen=True)
class Entry:
    student: str
    path: Path
    kind: str        # "folder" | "zip"

    @property
    def name(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class Refusal:
    name: str        # the entry as found in the submissions folder (or the student id)
    reason: str


@dataclass(frozen=True)
class Collected:
    entries: tuple[Entry, ...]      # sorted by student id
    refusals: tuple[Refusal, ...]   # sorted by name


@dataclass(frozen=True)
class Shard:
    index: int       # 1-based
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def holds(self, position: int) -> bool:
        """Whether the `position`-th name (0-based, in sorted order) belongs to this shard."""
        return position % self.count == self.index - 1


def parse_shard(text: str) -> Shard:
    """'2/4' -> Shard(2, 4): the second of four slices, for a CI job matrix."""
    index, slash, count = text.partition("/")
    try:
        shard = Shard(int(index), int(count))
    except ValueError:
        shard = None
    if not slash or shard is None or not 1 <= shard.index <= shard.count:
        raise UsageError(f"--shard {text!r}: expected I/N with 1 <= I <= N, e.g. 1/4")
    return shard


def unsafe_id(student: str) -> str | None:
    """Why `student` cannot name a folder of the class report (None: it can)."""
    if student in ("", ".", ".."):
        return "is not a usable name"
    if any(ch in student for ch in "/\\\0"):
        return "contains a path separator"
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in student):
        return "contains control or invisible characters"
    if len(student) > MAX_ID_CHARS:
        return f"is longer than {MAX_ID_CHARS} characters"
    if student.startswith("."):
        return "starts with a dot (hidden)"
    if student[0].isspace():
        return "starts with a space"
    if student[-1].isspace() or student.endswith("."):
        return "ends with a space or a dot, which Windows drops from folder names"
    if student.lower() in RESERVED:
        return "is a name the class report uses itself"
    if student[0] in FORMULA_STARTS:
        return f"starts with {student[0]!r}, which spreadsheets read as a formula"
    return None


def student_of(name: str, is_folder: bool) -> str | None:
    """The student id an entry name stands for: a folder's name, or a .zip's name without the suffix;
    None when the entry is neither."""
    if is_folder:
        return name
    if name.lower().endswith(".zip"):
        return name[:-4]
    return None


def _sort_key(refusal_or_entry: Entry | Refusal) -> tuple[str, str]:
    if isinstance(refusal_or_entry, Entry):
        return refusal_or_entry.student, refusal_or_entry.name
    return refusal_or_entry.name, refusal_or_entry.name


def collect_entries(folder: Path) -> Collected:
    """Every submission in `folder`; what cannot be graded is refused with a reason (hidden files,
    such as .DS_Store, are passed over silently)."""
    if not folder.is_dir():
        raise UsageError(f"SUBMISSIONS: {folder} is not a folder")
    entries: list[Entry] = []
    refusals: list[Refusal] = []
    for path in sorted(folder.iterdir()):
        name = path.name
        if name.startswith("."):
            continue
        if path.is_symlink():
            refusals.append(Refusal(name, "is a symbolic link; put the submission itself in the folder"))
            continue
        student = student_of(name, path.is_dir())
        if student is None:
            refusals.append(Refusal(name, "is neither a folder nor a .zip file"))
            continue
        problem = unsafe_id(student)
        if problem:
            refusals.append(Refusal(name, f"the student id {student!r} {problem}"))
            continue
        entries.append(Entry(student, path, "folder" if path.is_dir() else "zip"))
    # Two entries for one student (alice/ and alice.zip, or Alice and alice on a case-blind disk):
    # there is no telling which one counts, so neither is graded.
    by_id: dict[str, list[Entry]] = {}
    for entry in entries:
        by_id.setdefault(entry.student.casefold(), []).append(entry)
    kept = []
    for group in by_id.values():
        if len(group) == 1:
            kept.append(group[0])
            continue
        names = " and ".join(e.name for e in group)
        refusals += [Refusal(e.name, f"{names} are one student; keep only one of them") for e in group]
    return Collected(tuple(sorted(kept, key=_sort_key)), tuple(sorted(refusals, key=_sort_key)))


def select_shard(collected: Collected, shard: Shard | None) -> Collected:
    """The entries and refusals of one shard: every N-th name in sorted order, so the N shards
    partition the class exactly and each refusal is reported by exactly one of them."""
    if shard is None:
        return collected
    order = sorted([*collected.entries, *collected.refusals], key=_sort_key)
    mine = {id(item) for position, item in enumerate(order) if shard.holds(position)}
    return Collected(tuple(e for e in collected.entries if id(e) in mine),
                     tuple(r for r in collected.refusals if id(r) in mine))
