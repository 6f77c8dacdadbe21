"""A CPU quota for the processes a test starts: a cgroup held to a share of one core.

cgroup v2 (`cpu.max`) where the unified hierarchy has the cpu controller, else cgroup v1's cpu
controller (`cpu.cfs_quota_us` over `cpu.cfs_period_us`, the same CFS bandwidth limit). Creating
either needs root and a writable /sys/fs/cgroup; `make_quota` says why not otherwise. Every
process started with `enter(group)` as its preexec_fn, and all it starts, stay in the group.
"""

from __future__ import annotations

import os
from pathlib import Path

PERIOD_US = 100_000
V2 = Path("/sys/fs/cgroup")
V1 = Path("/sys/fs/cgroup/cpu")


def _v2_usable() -> bool:
    try:
        return "cpu" in (V2 / "cgroup.subtree_control").read_text().split()
    except OSError:
        return False


def make_quota(name: str, share: float) -> Path | str:
    """A new cgroup allowing `share` of one core (0.1: a tenth), or why it cannot be made."""
    quota = int(PERIOD_US * share)
    try:
        if _v2_usable():
            group = V2 / name
            group.mkdir()
            (group / "cpu.max").write_text(f"{quota} {PERIOD_US}")
        elif (V1 / "cpu.cfs_quota_us").exists():
            group = V1 / name
            group.mkdir()
            (group / "cpu.cfs_period_us").write_text(str(PERIOD_US))
            (group / "cpu.cfs_quota_us").write_text(str(quota))
        else:
            return "no cgroup cpu controller is mounted"
    except OSError as error:
        return f"cannot create a cgroup here ({error})"
    return group


def enter(group: Path):
    """A preexec_fn that moves the new process into `group` before it runs anything."""
    def move() -> None:
        (group / "cgroup.procs").write_text(str(os.getpid()))
    return move


def throttled_periods(group: Path) -> int:
    """How many scheduling periods the group was held back in (cpu.stat's nr_throttled)."""
    for line in (group / "cpu.stat").read_text().splitlines():
        name, _, value = line.partition(" ")
        if name == "nr_throttled":
            return int(value)
    return 0


def remove(group: Path) -> None:
    try:
        group.rmdir()
    except OSError:
        pass
