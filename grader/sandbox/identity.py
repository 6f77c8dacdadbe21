"""Who a worker runs as, and how many processes it may have.

Run by root, the grader gives every worker an unprivileged user id of its own, taken from a
block no account uses. Three things follow. RLIMIT_NPROC binds (root is exempt from it), so a
fork bomb stops after a few processes; the student's code cannot write the course's files, the
reports or anything else root owns; and every process the worker leaves behind, wherever it
moved to (a new session, a double fork), can be found and killed by its user id.

Run by anyone else, the worker runs as that user: the sandbox tiers then rely on bubblewrap's
namespaces (bwrap) or on Landlock and the process-group sweep (process) instead.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from pathlib import Path

# 0x70000000 = 1,879,048,192: above the ranges that systemd (dynamic users, up to 65519), user
# accounts and container tools (systemd-nspawn and podman hand out 65536-wide blocks up to
# 1,879,048,191) use, and below 2^31 so no tool mistakes it for a negative number.
UID_BASE = 0x7000_0000
SLOTS_PER_JUDGE = 16      # workers one grading process may run at the same time
PID_SPAN = 1 << 22        # pid_max is at most 4,194,304 on Linux
PROCESSES = 3             # the worker and two processes or threads it may start


@dataclass(frozen=True)
class SandboxUser:
    uid: int
    gid: int


def privileged() -> bool:
    return os.geteuid() == 0


def uids_of(judge_pid: int) -> range:
    """The user ids the grading process `judge_pid` hands to its workers (unique while it lives)."""
    start = UID_BASE + (judge_pid % PID_SPAN) * SLOTS_PER_JUDGE
    return range(start, start + SLOTS_PER_JUDGE)


_slots = itertools.count()


def mapped(uid: int) -> bool:
    """Whether `uid` exists in this user namespace (root in a rootless container maps only a few)."""
    try:
        lines = Path("/proc/self/uid_map").read_text().split("\n")
    except OSError:
        return True
    for line in lines:
        fields = line.split()
        if len(fields) == 3 and int(fields[0]) <= uid < int(fields[0]) + int(fields[2]):
            return True
    return False


def allocate_user() -> SandboxUser | None:
    """A user id for the next worker, or None when the grader cannot switch to one (not root, or
    root of a user namespace without such ids): the worker then runs as the grader's user."""
    if not privileged():
        return None
    uid = uids_of(os.getpid())[next(_slots) % SLOTS_PER_JUDGE]
    return SandboxUser(uid, uid) if mapped(uid) else None


def tasks_of_user(uid: int) -> int:
    """How many processes and threads `uid` runs now (RLIMIT_NPROC counts threads too)."""
    count = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
            if int(fields["Uid"].split()[0]) == uid:
                count += int(fields.get("Threads", "1"))
        except (OSError, ValueError, KeyError):
            continue  # the process ended while we looked
    return count


def process_limit(tier: str, user: SandboxUser | None, processes: int = PROCESSES) -> int:
    """The RLIMIT_NPROC that lets the worker run `processes` tasks in all, itself included.

    The kernel counts a user's tasks per user namespace: a user id of our own counts only the
    worker's; inside bubblewrap's user namespace its init process counts too; with neither, the
    limit is shared with everything else this user runs, so it is set that far above the
    current count (a bound, not an exact budget: the count moves as the user's programs do).
    """
    if user is not None:
        return processes
    if tier == "bwrap":
        return processes + 1
    return tasks_of_user(os.getuid()) + processes
