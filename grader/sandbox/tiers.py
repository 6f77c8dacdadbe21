"""Sandbox tiers: how the worker process is launched, and which tier this machine supports.

`process`: rlimits, a fresh session and process group, a scrubbed environment, `python -I -S`.
`bwrap`:   all of that, inside bubblewrap's namespaces (no network, read-only system, private
           /tmp, no view of the course tree, a PID namespace so nothing outlives the worker).
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys
from pathlib import Path

from ..errors import SandboxError

TIERS = ("auto", "bwrap", "process")
WORKER_SCRIPT = Path(__file__).with_name("worker.py")
# The real interpreter behind any virtual environment: with -I -S the worker needs only the
# standard library, and inside bubblewrap the venv's folder is not visible.
PYTHON = str(Path(sys.executable).resolve())


@functools.lru_cache(maxsize=1)
def bwrap_problem() -> str | None:
    """Why bubblewrap cannot run here, or None when it can."""
    exe = shutil.which("bwrap")
    if exe is None:
        return "bubblewrap (bwrap) is not installed"
    try:
        probe = subprocess.run(
            [exe, *_bwrap_binds(), "--unshare-all", "--die-with-parent", PYTHON, "-I", "-S", "-c", "pass"],
            capture_output=True, timeout=10, stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"bwrap could not start ({error})"
    if probe.returncode != 0:
        reason = probe.stderr.decode(errors="replace").strip().splitlines()
        return f"bwrap cannot create its namespaces here ({reason[-1] if reason else probe.returncode})"
    return None


def resolve_tier(requested: str) -> tuple[str, str]:
    """The tier to use and a note for the report (why `auto` fell back, say)."""
    if requested not in TIERS:
        raise SandboxError(f"--sandbox: unknown tier {requested!r} (choose from {', '.join(TIERS)})")
    if requested == "process":
        return "process", ""
    problem = bwrap_problem()
    if problem is None:
        return "bwrap", ""
    if requested == "bwrap":
        raise SandboxError(f"--sandbox bwrap: {problem}")
    return "process", f"bubblewrap unavailable, used the process tier: {problem}"


def _python_roots() -> list[str]:
    """Folders the worker's interpreter needs to see: its prefix and its executable's home."""
    roots = {sys.base_prefix, str(Path(PYTHON).parent.parent)}
    return sorted(r for r in roots if r and not r.startswith("/usr"))


def _bwrap_binds() -> list[str]:
    args: list[str] = []
    for system_dir in ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc/alternatives"):
        if Path(system_dir).exists():
            args += ["--ro-bind", system_dir, system_dir]
    for root in _python_roots():
        args += ["--ro-bind", root, root]
    return args


def worker_command(tier: str, workdir: Path, config: str) -> list[str]:
    """The argv that starts one worker for `workdir` under `tier`."""
    python = [PYTHON, "-I", "-S"]
    if tier == "process":
        return [*python, str(WORKER_SCRIPT), config]
    return [
        "bwrap", *_bwrap_binds(),
        "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
        "--ro-bind", str(WORKER_SCRIPT), "/sandbox/worker.py",
        "--bind", str(workdir), str(workdir),
        "--chdir", str(workdir),
        "--unshare-all", "--die-with-parent", "--new-session",
        "--hostname", "sandbox",
        *python, "/sandbox/worker.py", config,
    ]
