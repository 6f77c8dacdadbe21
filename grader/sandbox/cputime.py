"""The CPU time a worker has used: its whole process tree, read by the judge from /proc.

The judge measures it from outside because the worker's own answer could be anything its student
code made it say. The tree is the launched process and its descendants (under bubblewrap the
worker is a grandchild of the launched bwrap); each process counts its threads and the children
it has waited for (cutime, cstime), so a helper process that ended is not lost. A process that
leaves the tree (a double fork on the process tier) is not counted: the wall-clock ceiling still
bounds it, and the sweep still kills it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_CORES = os.cpu_count() or 1  # a process tree cannot use CPU time faster than this per second
_PROC = Path("/proc")


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (which may hold spaces and parentheses)."""
    try:
        text = (_PROC / str(pid) / "stat").read_text()
    except OSError:  # gone already, or not ours to read
        return None
    return text[text.rfind(")") + 2:].split()


def _children(pid: int) -> list[int] | None:
    """The children of every thread of `pid`; None when the kernel does not list them."""
    found: list[int] = []
    try:
        tasks = list((_PROC / str(pid) / "task").iterdir())
    except OSError:
        return []
    for task in tasks:
        try:
            found.extend(int(child) for child in (task / "children").read_text().split())
        except FileNotFoundError:
            if not (task / "stat").exists():
                continue  # the thread ended while we looked
            return None  # a kernel without CONFIG_PROC_CHILDREN
        except OSError:
            continue
    return found


def _descendants_by_scan(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in _PROC.iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None:
                parents[int(entry.name)] = int(fields[1])
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(child for child, parent in parents.items() if parent == pid)
    return tree


def process_tree(root: int) -> list[int]:
    """`root` and its descendants, as they are now."""
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        children = _children(pid)
        if children is None:
            return _descendants_by_scan(root)
        todo.extend(children)
    return tree


def tree_cpu_seconds(root: int) -> float:
    """User and system CPU seconds used so far by `root`'s process tree (0 once it is gone)."""
    ticks = 0
    for pid in process_tree(root):
        fields = _stat_fields(pid)
        if fields is not None and len(fields) > 14:
            ticks += sum(int(value) for value in fields[11:15])  # utime, stime, cutime, cstime
    return ticks / _TICK


class CpuWatch:
    """The CPU time a worker uses from now on, against a limit, for one request."""

    POLL = 0.25  # the shortest wait between looks: a budget is kept to within about this

    def __init__(self, root: int, limit: float):
        self.root, self.limit = root, limit
        self.start = tree_cpu_seconds(root)
        self.last = 0.0
        self._next_look = time.monotonic() + max(self.POLL, limit / _CORES)

    def used(self) -> float:
        self.last = max(0.0, tree_cpu_seconds(self.root) - self.start)
        return self.last

    def until_next_look(self) -> float:
        """Seconds the judge may wait before it needs to look again."""
        return max(0.0, self._next_look - time.monotonic())

    def exceeded(self) -> bool:
        """Whether the limit is passed. /proc is read only when it could be: a tree using every
        core cannot spend what is left of the limit in less than (left / cores) seconds, so the
        judge looks a handful of times per training rather than every POLL (and not every time a
        worker that floods its output wakes it)."""
        now = time.monotonic()
        if now < self._next_look:
            return False
        used = self.used()
        self._next_look = now + max(self.POLL, (self.limit - used) / _CORES)
        return used > self.limit
