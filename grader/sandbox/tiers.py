"""Sandbox tiers: how the worker process is launched, and which tier this machine supports.

Both tiers start the worker in a fresh session with a scrubbed environment and `python -I -S`;
the worker then lowers its rlimits, installs Landlock and seccomp filters where the kernel has
them and, when the grader is root, becomes a user id of its own (see worker.confine).

`process`: only that. The worker sees the real filesystem, limited by Landlock when present.
`bwrap`:   that, inside bubblewrap: new PID, network, IPC, UTS and mount namespaces (and a user
           namespace when not root); the only files visible are the system's program folders and
           the Python installation (read-only, installed packages masked) and the worker's own
           folder, a size-limited tmpfs holding its chapter files; nothing it starts outlives it.

docs/threat-model.md says what each tier does and does not guarantee.
"""

from __future__ import annotations

import functools
import hashlib
import os
import py_compile
import shutil
import stat
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from ..errors import SandboxError
from .identity import SandboxUser, privileged, process_limit

TIERS = ("auto", "bwrap", "process")
WORKER_SCRIPT = Path(__file__).with_name("worker.py")
# The real interpreter behind any virtual environment: with -I -S the worker needs only the
# standard library, and inside bubblewrap the venv's folder is not visible.
PYTHON = str(Path(sys.executable).resolve())
SANDBOX_WORKDIR = "/tmp/work"        # the worker's folder, as the code inside bubblewrap sees it
SANDBOX_SCRIPT = "/sandbox/worker.py"
SANDBOX_PROGRAM = "/sandbox/worker.pyc"
WORKDIR_INODES = 4096                # files and folders the worker's tmpfs may hold
SYSTEM_DIRS = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc/alternatives")


@dataclass(frozen=True)
class Launch:
    """How to start one worker: the command (without its config) and the config's tier-specific part."""

    argv: list[str]
    workdir: str                      # the working folder as the worker sees it
    reach_through_descriptors: bool   # the worker must keep descriptors to folders its user cannot walk to
    processes: int                    # its RLIMIT_NPROC
    tmpfs: str | None = None          # mount options the worker re-applies to its tmpfs folder, if it can


def _private(path: Path) -> bool:
    """Whether `path` is this user's alone: code read from it runs before the worker confines itself."""
    info = path.lstat()
    return info.st_uid == os.geteuid() and not info.st_mode & 0o022 and not stat.S_ISLNK(info.st_mode)


@functools.lru_cache(maxsize=None)
def worker_program() -> Path:
    """The worker as compiled code (Python runs a .pyc file given as its program), cached in the
    user's cache folder: compiling worker.py took about 6 ms of every worker's start. The source
    itself when that folder is not this user's alone or cannot be written."""
    source = WORKER_SCRIPT.read_bytes()
    digest = hashlib.sha256(source + sys.version.encode()).hexdigest()[:16]
    folder = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mlp-grader"
    compiled = folder / f"worker-{sys.implementation.cache_tag}-{digest}.pyc"
    try:
        if not compiled.is_file():
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            handle, partial = tempfile.mkstemp(dir=folder, suffix=".pyc")
            os.close(handle)
            py_compile.compile(str(WORKER_SCRIPT), cfile=partial, dfile=SANDBOX_SCRIPT, doraise=True)
            os.replace(partial, compiled)  # whole or absent, whoever else compiles it meanwhile
        if _private(folder) and _private(compiled):
            return compiled
    except (OSError, py_compile.PyCompileError):
        pass
    return WORKER_SCRIPT


def plan_launch(tier: str, workdir: Path, user: SandboxUser | None, disk_bytes: int) -> Launch:
    """The launch of a worker for `workdir` under `tier`, running as `user` (None: as the grader)."""
    python = [PYTHON, "-I", "-S"]
    program = worker_program()
    if tier == "process":
        return Launch([*python, str(program)], str(workdir), user is not None,
                      process_limit(tier, user))
    if tier != "bwrap":
        raise SandboxError(f"unknown sandbox tier {tier!r}")
    files = sorted(p for p in workdir.iterdir() if p.is_file() and not p.is_symlink())
    inside = SANDBOX_PROGRAM if program.suffix == ".pyc" else SANDBOX_SCRIPT
    argv = [
        _bwrap(), *_system_binds(),
        "--proc", "/proc", "--dev", "/dev",
        # The only writable place: its own tmpfs, so a flood of files costs at most disk_bytes of RAM.
        "--perms", "0755", "--dir", str(Path(SANDBOX_WORKDIR).parent),
        "--perms", "0700", "--size", str(disk_bytes), "--tmpfs", SANDBOX_WORKDIR,
        *[arg for f in files for arg in ("--ro-bind", str(f), f"{SANDBOX_WORKDIR}/{f.name}")],
        "--perms", "0755", "--dir", str(Path(SANDBOX_SCRIPT).parent),
        "--ro-bind", str(program), inside,
        "--remount-ro", "/", "--remount-ro", "/dev",
        "--chdir", SANDBOX_WORKDIR,
        *_namespaces(user),
        "--die-with-parent", "--new-session", "--hostname", "sandbox",
        *python, inside,
    ]
    # Every file or folder costs a tmpfs ~1 KB of kernel memory that its size does not count: a
    # worker creating them as fast as it can would pin an eighth of the machine's RAM. Bubblewrap
    # cannot set a tmpfs's inode limit, so the worker does, while it still may (run by root).
    tmpfs = f"size={disk_bytes},nr_inodes={WORKDIR_INODES},mode=0700" if user is not None else None
    return Launch(argv, SANDBOX_WORKDIR, False, process_limit(tier, user), tmpfs)


def _namespaces(user: SandboxUser | None) -> list[str]:
    """Run by root, bubblewrap needs no user namespace (and one would map the worker to uid 0, which
    RLIMIT_NPROC ignores): the worker keeps just the capabilities to limit its tmpfs, hand its
    folder to the sandbox user and become it, and loses them all as it does. Run by anyone else, a
    user namespace is what makes bubblewrap work; no further one may be created inside it."""
    namespaces = ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    if user is not None:
        kept = ("CAP_SETUID", "CAP_SETGID", "CAP_CHOWN", "CAP_SYS_ADMIN")
        return [*namespaces, "--cap-drop", "ALL", *[arg for cap in kept for arg in ("--cap-add", cap)]]
    return [*namespaces, "--unshare-user", "--disable-userns"]


def _bwrap() -> str:
    exe = shutil.which("bwrap")
    if exe is None:
        raise SandboxError("bubblewrap (bwrap) is not installed")
    return exe


def _python_roots() -> list[str]:
    """Folders the worker's interpreter needs to see: its prefix and its executable's home."""
    roots = {sys.base_prefix, str(Path(PYTHON).parent.parent)}
    return sorted(r for r in roots if r and not r.startswith("/usr"))


def _package_folders() -> list[str]:
    """Where Python packages are installed, in the folders bound into the sandbox: the grader
    itself, hidden tests included, may be one of them."""
    found = set()
    for prefix in ("/usr", "/usr/local", *_python_roots()):
        for pattern in ("lib/python3*/site-packages", "lib/python3*/dist-packages", "lib/python3/dist-packages"):
            found.update(str(p) for p in Path(prefix).glob(pattern) if p.is_dir() and not p.is_symlink())
    return sorted(found)


def _system_binds() -> list[str]:
    args: list[str] = []
    for system_dir in SYSTEM_DIRS:
        if Path(system_dir).exists():
            args += ["--ro-bind", system_dir, system_dir]
    for root in _python_roots():
        # Folders bubblewrap creates on the way are private to root; the sandbox user must walk them.
        for parent in reversed(Path(root).parents[:-1]):
            args += ["--perms", "0755", "--dir", str(parent)]
        args += ["--ro-bind", root, root]
    for folder in _package_folders():  # hidden behind an empty, read-only folder
        args += ["--perms", "0555", "--size", "4096", "--tmpfs", folder, "--remount-ro", folder]
    return args


# --- which tier -------------------------------------------------------------------------------

PROCESS_NOTE_HIDDEN = ("process tier: no namespaces, but Landlock keeps the student's code to its own folder, "
                       "the standard library and the system's programs: reference solutions and hidden tests "
                       "are hidden")
PROCESS_NOTE_EXPOSED = ("process tier: this tier cannot hide files from the student's code, which can read "
                        "whatever {who} can read, reference solutions and hidden tests included")


_probe_lock = threading.Lock()


def _probe(tier: str) -> list[str] | str:
    """Start one worker under `tier` to see what it can set up (or why it cannot start); once per
    process, whichever thread asks first."""
    with _probe_lock:
        return _run_probe(tier)


def warm_up(requested: str) -> None:
    """Probe the tier `requested` will most likely use, in the background, while the caller goes on."""
    tier = "process" if requested == "process" else "bwrap"
    threading.Thread(target=_probe, args=(tier,), name="sandbox-probe", daemon=True).start()


@functools.lru_cache(maxsize=None)
def _run_probe(tier: str) -> list[str] | str:
    from .channel import probe_worker  # the channel launches workers through this module

    if tier == "bwrap" and shutil.which("bwrap") is None:
        return "bubblewrap (bwrap) is not installed"
    return probe_worker(tier)


def tier_problem(tier: str) -> str | None:
    """Why `tier` cannot run here, or None when it can."""
    result = _probe(tier)
    return result if isinstance(result, str) else None


def protections(tier: str) -> tuple[str, ...]:
    """What the probe worker reported it set up: "Landlock ABI n", "seccomp", "uid n" (or why not)."""
    result = _probe(tier)
    return tuple(result) if isinstance(result, list) else ()


def tier_note(tier: str) -> str:
    """What a report must say about the tier: the process tier's limits, plainly."""
    if tier != "process":
        return ""
    if any(p.startswith("Landlock") for p in protections(tier)):
        return PROCESS_NOTE_HIDDEN
    who = "its own unprivileged user" if privileged() else "your account (the one running the grader)"
    return PROCESS_NOTE_EXPOSED.format(who=who)


def resolve_tier(requested: str) -> tuple[str, str]:
    """The tier to use and a note for the report (why `auto` fell back, what the tier cannot do)."""
    if requested not in TIERS:
        raise SandboxError(f"--sandbox: unknown tier {requested!r} (choose from {', '.join(TIERS)})")
    if requested in ("bwrap", "auto"):
        problem = tier_problem("bwrap")
        if problem is None:
            return "bwrap", tier_note("bwrap")
        if requested == "bwrap":
            raise SandboxError(f"--sandbox bwrap: bubblewrap cannot run here: {problem}")
        fallback = f"bubblewrap cannot run here ({problem}), so the process tier was used. "
    else:
        fallback = ""
    problem = tier_problem("process")
    if problem is not None:
        raise SandboxError(f"the process sandbox cannot start a worker here: {problem}")
    return "process", fallback + tier_note("process")
