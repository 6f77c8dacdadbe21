"""The worker: imports a student's chapter and answers the judge's requests with data only.

Started by the judge as `python -I -S worker.py CONFIG_JSON`. It reads one JSON request per
line from the request pipe and writes one JSON response per line to the response pipe. Only
plain data crosses: None, bool, int, float, str, and lists, tuples and str-keyed dicts of
those, each checked by *exact* type. Anything else (a module, a student's object, a float
subclass that lies about equality) stays here and the judge gets an opaque handle to it.

Before any student code runs the worker confines itself (see `confine`): resource limits, a
seccomp filter, and, when the grader runs as root, a switch to an unprivileged user of its own.
The judge trusts nothing this process says beyond plain data; confinement exists to protect the
machine, other submissions and the grader's files, not to make the answers trustworthy.

Standard library only, and no import from the grader: this file runs inside the sandbox,
where the grader package may not be visible.
"""

import binascii
import ctypes
import importlib
import importlib.machinery
import marshal
import math
import os
import resource
import struct
import sys

MAX_DEPTH = 32             # deeper structures (and cyclic ones) are refused, not encoded
MAX_ITEMS = 200_000        # total values in one answer
MAX_STR = 1_000_000        # characters in one string
MAX_INT_BITS = 1024        # an integer larger than this is not a plausible answer
MAX_ANSWER = 6 << 20       # bytes of one encoded answer; the judge refuses more than 8 MiB
MAX_REQUEST = 64 << 20     # bytes in one request line
SETUP_FAILED = 70          # exit status when the worker cannot confine itself

# The real name of a class, even when a metaclass overrides `__name__`.
_type_name_of = type.__dict__["__name__"].__get__
_traceback_of = BaseException.__traceback__.__get__


class TooLarge(Exception):
    """The answer is too big, too deep or cyclic to send back as data."""


def plain_text(value, limit):
    """`value` as an exact str of at most `limit` characters; str subclasses cannot intercept this."""
    try:
        if issubclass(type(value), str):
            return str.__getitem__(value, slice(0, limit))
    except BaseException:
        pass
    return "?"


def type_name(value):
    return plain_text(_type_name_of(type(value)), 80)


_function_type = type(plain_text)
_module_type = type(sys)
_class_dict = type.__dict__["__dict__"].__get__
_class_mro = type.__dict__["__mro__"].__get__
_module_dict = _module_type.__dict__["__dict__"].__get__
MAX_CALLS = 500             # names listed as callable for one object


def callable_names(value):
    """{name: type name} of what `value.name(...)` will most likely call: the functions and classes
    of a module, the functions of an object's class. Read from the dictionaries themselves, so no
    student code runs (no descriptor, no __getattr__). The judge then sends such a call as one
    request, which looks the name up and calls it, exactly as a lookup and a call would."""
    if type(value) is _module_type:
        items = list(_module_dict(value).items())
    else:
        items = [item for klass in reversed(_class_mro(type(value))) for item in _class_dict(klass).items()
                 if type(item[1]) is _function_type]
    names = {}
    for name, member in items:
        if type(name) is str and not name.startswith("_") and len(name) <= 100:
            if type(member) is _function_type:
                names[name] = "function" if type(value) is _module_type else "method"
            elif issubclass(type(member), type):
                names[name] = "type"
    return dict(list(names.items())[:MAX_CALLS])


class Encoder:
    """Turns a value into tagged JSON, keeping non-data objects behind handles.

    Only exact built-in types are looked into, so no student code runs while encoding.
    """

    def __init__(self, handles, kinds=None):
        self.handles = handles
        self.kinds = {} if kinds is None else kinds   # id(class) -> (class, its number), once named
        self.items = 0
        self.size = 0  # a rough count of the bytes the JSON will take

    def handle(self, value):
        key = len(self.handles)
        self.handles[key] = value
        answer = {"h": key, "type": type_name(value)}
        try:
            if type(value) is _module_type:
                answer["calls"] = callable_names(value)
            elif id(type(value)) in self.kinds:  # by id: hashing a class could run its metaclass's code
                answer["k"] = self.kinds[id(type(value))][1]
            else:  # a class's names are sent once; later handles name the class by number
                answer["calls"] = callable_names(value)
                answer["k"] = len(self.kinds)
                self.kinds[id(type(value))] = (type(value), answer["k"])  # kept: its id stays its own
        except Exception:
            answer.pop("calls", None)   # a hostile class: its calls simply take two requests
        return answer

    def count(self, size, depth):
        self.items += 1
        self.size += size
        if self.items > MAX_ITEMS:
            raise TooLarge(f"more than {MAX_ITEMS:,} values")
        if self.size > MAX_ANSWER:
            raise TooLarge(f"more than {MAX_ANSWER >> 20} MiB of data")
        if depth > MAX_DEPTH:
            raise TooLarge(f"nested more than {MAX_DEPTH} levels deep (or cyclic)")

    def encode(self, value, depth=0):
        kind = type(value)
        self.count(len(value) + 2 if kind is str else 8, depth)
        if value is None or kind is bool:
            return value
        if kind is int:
            if value.bit_length() > MAX_INT_BITS:
                raise TooLarge(f"an integer of {value.bit_length()} bits")
            self.size += value.bit_length() // 3
            return value
        if kind is float:
            self.size += 16
            return value if math.isfinite(value) else {"f": repr(value)}
        if kind is str:
            if len(value) > MAX_STR:
                raise TooLarge(f"a string of {len(value):,} characters")
            return value
        if kind is list:
            return [self.encode(v, depth + 1) for v in value]
        if kind is tuple:
            return {"t": [self.encode(v, depth + 1) for v in value]}
        if kind is dict and all(type(k) is str for k in value):
            return {"d": {k: self.encode(v, depth + 1) for k, v in value.items()}}
        return self.handle(value)


def decode(value, handles):
    """The judge's arguments: the same tagged JSON, where handles name objects living here."""
    if isinstance(value, list):
        return [decode(v, handles) for v in value]
    if isinstance(value, dict):
        if "h" in value:
            return handles[value["h"]]
        if "t" in value:
            return tuple(decode(v, handles) for v in value["t"])
        if "d" in value:
            return {k: decode(v, handles) for k, v in value["d"].items()}
        if "f" in value:
            return float(value["f"])
        raise ValueError(f"unknown tag in {sorted(value)}")
    return value


def describe_error(error, student_files):
    """An exception as data: its type, message, and the frames that are in the student's files.

    Every step is guarded: the exception is the student's object, and its `__str__`, its class's
    name and even its `__traceback__` attribute may be hostile.
    """
    try:
        message = plain_text(str(error), 2000)
    except BaseException:
        message = "<the exception's message could not be read>"
    frames = []
    try:
        import traceback  # here, not at the top: most workers never need it (3 ms of every start)
        # Only the innermost frames: a RecursionError's traceback can be a million frames long.
        for frame in traceback.extract_tb(_traceback_of(error), limit=-200):
            name = os.path.basename(frame.filename)
            if name in student_files:
                frames.append({"file": name, "line": frame.lineno if type(frame.lineno) is int else 0,
                               "function": plain_text(frame.name, 200),
                               "code": plain_text(frame.line or "", 300)})
    except BaseException:
        pass
    try:
        # A syntax error never ran a frame of the file: its position is on the exception itself.
        if type(error) in (SyntaxError, IndentationError, TabError) and type(error.lineno) is int \
                and os.path.basename(str(error.filename)) in student_files:
            frames.append({"file": os.path.basename(error.filename), "line": error.lineno,
                           "function": "<module>", "code": plain_text((error.text or "").strip(), 300)})
    except BaseException:
        pass
    return {"type": type_name(error), "message": message, "frames": frames[-10:]}


# --- confinement ---------------------------------------------------------------------------------

def apply_limits(limits):
    """Lower this process's resource limits before any student code runs."""
    def cap(which, value):
        if value:
            resource.setrlimit(which, (value, value))
    cap(resource.RLIMIT_CPU, limits.get("cpu_seconds"))
    cap(resource.RLIMIT_AS, limits.get("memory_bytes"))
    cap(resource.RLIMIT_FSIZE, limits.get("file_bytes"))
    cap(resource.RLIMIT_NOFILE, limits.get("open_files"))
    # Processes *and threads* this user may have; binding only because the user is not root.
    cap(resource.RLIMIT_NPROC, limits.get("processes"))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


# seccomp: system calls a chapter of this course never needs, refused with an error. They are
# how code escapes the limits above: a new user namespace can mount a tmpfs that no rlimit
# bounds, System V shared memory outlives the process that made it, ptrace and
# process_vm_writev reach into other processes of the same user, io_uring performs I/O the
# filter cannot see, and sockets reach the network (the process tier has no network
# namespace). Numbers per architecture; elsewhere the filter is not installed.
SYSCALLS = {
    "x86_64": {"arch": 0xC000003E, "clone": 56, "clone3": 435, "socket": 41, "deny": [
        272, 308,                       # unshare, setns
        101, 310, 311,                  # ptrace, process_vm_readv, process_vm_writev
        425, 426, 427,                  # io_uring_setup, io_uring_enter, io_uring_register
        165, 166, 155, 161,             # mount, umount2, pivot_root, chroot
        428, 429, 430, 431, 432, 433, 442,  # open_tree, move_mount, fsopen..fspick, mount_setattr
        321, 323, 298,                  # bpf, userfaultfd, perf_event_open
        248, 249, 250,                  # add_key, request_key, keyctl
        29, 64, 68,                     # shmget, semget, msgget: System V IPC outlives the process
    ]},
    "aarch64": {"arch": 0xC00000B7, "clone": 220, "clone3": 435, "socket": 198, "deny": [
        97, 268, 117, 270, 271, 425, 426, 427, 40, 39, 41, 51,
        428, 429, 430, 431, 432, 433, 442, 280, 282, 241, 217, 218, 219, 194, 190, 186,
    ]},
}
CLONE_NEW_NAMESPACES = 0x7E020080  # CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET|NEWTIME
AF_UNIX = 1
EPERM, ENOSYS, EAFNOSUPPORT = 1, 38, 97


def seccomp_program(table):
    """A classic BPF program (bytes) for the table's architecture."""
    ld, jeq, jge, jset, ret = 0x20, 0x15, 0x35, 0x45, 0x06
    allow, error = 0x7FFF0000, 0x00050000
    prog = [(ld, 0, 0, 4), (jeq, 1, 0, table["arch"]), (ret, 0, 0, error | ENOSYS),  # foreign ABI
            (ld, 0, 0, 0), (jge, 0, 1, 0x40000000), (ret, 0, 0, error | ENOSYS)]    # x32 ABI
    for number in table["deny"]:
        prog += [(jeq, 0, 1, number), (ret, 0, 0, error | EPERM)]
    # clone3 passes its flags in memory the filter cannot read: say it does not exist, and the C
    # library falls back to clone, whose flags it can.
    prog += [(jeq, 0, 1, table["clone3"]), (ret, 0, 0, error | ENOSYS)]
    # clone and socket: allowed unless their first argument asks for a namespace or a network.
    prog += [(jeq, 0, 4, table["clone"]), (ld, 0, 0, 16), (jset, 0, 1, CLONE_NEW_NAMESPACES),
             (ret, 0, 0, error | EPERM), (ret, 0, 0, allow)]
    prog += [(jeq, 0, 4, table["socket"]), (ld, 0, 0, 16), (jeq, 1, 0, AF_UNIX),
             (ret, 0, 0, error | EAFNOSUPPORT), (ret, 0, 0, allow)]
    prog += [(ret, 0, 0, allow)]
    return b"".join(struct.pack("=HBBI", *instruction) for instruction in prog)


def libc():
    library = ctypes.CDLL(None, use_errno=True)
    library.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong]
    library.syscall.restype = ctypes.c_long
    return library


def set_no_new_privs():
    """No exec may gain privileges from now on (setuid binaries, file capabilities); it is what
    lets an unprivileged process install seccomp and Landlock filters."""
    if libc().prctl(38, 1, None, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
        raise OSError(ctypes.get_errno(), "PR_SET_NO_NEW_PRIVS failed")


def install_seccomp():
    """Install the filter; returns a note on what was done."""
    table = SYSCALLS.get(os.uname().machine)
    if table is None or sys.byteorder != "little":
        return f"no seccomp filter for {os.uname().machine}"
    program = seccomp_program(table)

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = SockFprog(len(program) // 8, ctypes.addressof(buffer))
    if libc().prctl(22, 2, ctypes.addressof(fprog), 0, 0) != 0:  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
        return f"no seccomp filter (errno {ctypes.get_errno()})"
    return "seccomp"


# Landlock (Linux 5.13+, unprivileged): the filesystem this process may still use. Reading is
# allowed beneath the standard library and the system's libraries and programs, everything
# beneath the working folder, and nothing else: not the course's reference solutions, the hidden
# tests, the report folder, /tmp or /dev/shm. Installed packages stay unreadable too (the grader
# itself, hidden tests included, may be installed there): their folders can be listed, as part of
# a library folder, but not read. Newer ABIs also scope signals and abstract sockets to the
# sandbox, so the code cannot signal the judge or another worker even when it runs as the same user.
LANDLOCK_SYSCALLS = (444, 445, 446)  # create_ruleset, add_rule, restrict_self (all architectures)
LANDLOCK_LIST = 0b1000                      # READ_DIR
LANDLOCK_READ = 0b1101                      # EXECUTE | READ_FILE | READ_DIR
LANDLOCK_DEVICE = 0b0110                    # WRITE_FILE | READ_FILE
LANDLOCK_FILE = 0b111 | 1 << 14 | 1 << 15   # the rights a rule on a single file may carry
LIBRARY_FOLDERS = ("/usr/lib", "/usr/lib64", "/lib", "/lib64", "/lib32")
PROGRAM_FOLDERS = ("/usr/bin", "/bin")
PACKAGE_FOLDERS = ("site-packages", "dist-packages")
DEVICES = ("/dev/null", "/dev/zero", "/dev/urandom", "/dev/random")


def landlock_rights(abi):
    """(filesystem rights, network rights, scopes) that Landlock ABI `abi` can restrict."""
    fs = (1 << 13) - 1                                        # ABI 1: execute .. make_sym
    fs |= (1 << 13) if abi >= 2 else 0                        # refer (rename or link across folders)
    fs |= (1 << 14) if abi >= 3 else 0                        # truncate
    fs |= (1 << 15) if abi >= 5 else 0                        # ioctl on devices
    net = 0b11 if abi >= 4 else 0                             # bind and connect TCP
    scopes = 0b11 if abi >= 6 else 0                          # abstract unix sockets, signals
    return fs, net, scopes


def install_landlock(workdir, readable):
    """Restrict the filesystem to `readable` ((path, rights) pairs) and `workdir` (everything)."""
    lib = libc()
    create, add_rule, restrict = LANDLOCK_SYSCALLS
    abi = lib.syscall(create, None, ctypes.c_size_t(0), ctypes.c_uint32(1))  # ..._CREATE_RULESET_VERSION
    if abi < 1:
        return f"no Landlock (errno {ctypes.get_errno()})"
    fs, net, scopes = landlock_rights(abi)
    attr = struct.pack("=QQQ", fs, net, scopes)[: 8 if abi < 4 else 16 if abi < 6 else 24]
    ruleset = lib.syscall(create, ctypes.c_char_p(attr), ctypes.c_size_t(len(attr)), ctypes.c_uint32(0))
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
    try:
        rules = [*readable, *[(d, LANDLOCK_DEVICE) for d in DEVICES], (workdir, fs)]
        for path, rights in rules:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue  # a folder this system does not have
            try:
                if not os.path.isdir(path):
                    rights &= LANDLOCK_FILE
                beneath = struct.pack("=Qi", rights & fs, fd)
                if lib.syscall(add_rule, ctypes.c_int(ruleset), ctypes.c_int(1), ctypes.c_char_p(beneath),
                                ctypes.c_uint32(0)) != 0:
                    raise OSError(ctypes.get_errno(), f"landlock_add_rule failed for {path}")
            finally:
                os.close(fd)
        if lib.syscall(restrict, ctypes.c_int(ruleset), ctypes.c_uint32(0)) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    finally:
        os.close(ruleset)
    return f"Landlock ABI {abi}"


def readable_paths():
    """(path, Landlock rights) for what stays readable: the standard library and the system's
    library folders, listable, and everything in them but installed packages, readable; the
    system's program folders. Computed before any aliasing of sys.path."""
    rules, seen = [], set()
    stdlib = [(p, lambda name: name not in PACKAGE_FOLDERS) for p in sys.path if os.path.isdir(p)]
    libraries = [(p, lambda name: not name.startswith("python")) for p in LIBRARY_FOLDERS]
    for folder, wanted in stdlib + libraries:
        real = os.path.realpath(folder)
        if real in seen or not os.path.isdir(real):
            continue
        seen.add(real)
        rules.append((real, LANDLOCK_LIST))
        rules += [(os.path.join(real, name), LANDLOCK_READ) for name in sorted(os.listdir(real)) if wanted(name)]
    return rules + [(p, LANDLOCK_READ) for p in PROGRAM_FOLDERS]


def reach_through_descriptors(workdir):
    """Keep the standard library and the working folder importable after the switch to a user
    that cannot walk to them (a Python installed under /root, a temp folder only root may enter).

    Directory descriptors opened now, as root, stay usable; /proc/self/fd/N names them.
    """
    aliases = {}
    for path in [workdir, *sys.path]:
        if os.path.isdir(path) and path not in aliases:
            aliases[path] = f"/proc/self/fd/{os.open(path, os.O_RDONLY | os.O_DIRECTORY)}"

    def alias(path):
        for prefix in sorted(aliases, key=len, reverse=True):
            if path == prefix or path.startswith(prefix + "/"):
                return aliases[prefix] + path[len(prefix):]
        return path

    sys.path[:] = [alias(p) for p in sys.path]
    for module in list(sys.modules.values()):  # packages already imported find submodules here
        search = getattr(module, "__path__", None)
        if type(search) is list:
            search[:] = [alias(p) for p in search]
    sys.path_importer_cache.clear()
    return aliases[workdir]


def limit_tmpfs(folder, options):
    """Remount the tmpfs at `folder` with `options` (its inode limit, which bubblewrap cannot set)."""
    lib = libc()
    lib.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
    ms_remount, ms_nosuid, ms_nodev = 32, 2, 4
    if lib.mount(b"tmpfs", folder.encode(), b"tmpfs", ms_remount | ms_nosuid | ms_nodev, options.encode()) != 0:
        raise OSError(ctypes.get_errno(), f"could not remount {folder} with {options}")


def drop_privileges(user):
    """Become the sandbox's own unprivileged user: no capabilities, no supplementary groups."""
    os.setgroups([])
    os.setresgid(user["gid"], user["gid"], user["gid"])
    os.setresuid(user["uid"], user["uid"], user["uid"])
    if os.getuid() != user["uid"] or os.geteuid() != user["uid"]:
        raise OSError("the switch to the sandbox user did not take effect")


def confine(config):
    """Everything that must happen before student code runs. Returns the folder to import from
    and notes on which protections this kernel provided (the judge reports them)."""
    workdir = config["workdir"]
    os.chdir(workdir)
    user = config.get("user")
    readable = readable_paths()
    folder = workdir
    if config.get("tmpfs"):
        limit_tmpfs(workdir, config["tmpfs"])
    if user:
        os.chown(workdir, user["uid"], user["gid"])  # the student's code may write here, nowhere else
        if config.get("reach_through_descriptors"):
            folder = reach_through_descriptors(workdir)
            os.chdir(folder)
    os.environ["HOME"] = os.environ["TMPDIR"] = folder
    apply_limits(config["limits"])
    set_no_new_privs()
    notes = []
    for protection in (lambda: install_landlock(workdir, readable), install_seccomp):
        try:
            notes.append(protection())
        except OSError as error:  # best effort: the probe reports what is missing
            notes.append(f"failed: {error}")
    if user:
        drop_privileges(user)
        notes.append(f"uid {user['uid']}")
    return folder, notes


# --- serving requests ----------------------------------------------------------------------------

class SealedFinder:
    """Serves the modules the judge sent as compiled code (earlier chapters of the reference):
    importable by name, ahead of any file of that name, with no source anywhere. Their code's file
    name is in angle brackets, so linecache and inspect know there is none to look for."""

    def __init__(self, folder, modules):
        self.folder = folder
        self.modules = {m["module"]: (m["file"], binascii.a2b_base64(m["code"])) for m in modules}

    def find_spec(self, name, path=None, target=None):
        if name not in self.modules:
            return None
        return importlib.machinery.ModuleSpec(name, self)  # as importlib.util.spec_from_loader makes it

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        file, data = self.modules[module.__name__]
        # Where the chapter would sit: the course's code puts its folder on sys.path. No file is there.
        module.__file__ = os.path.join(self.folder, file)
        exec(marshal.loads(data), module.__dict__)


class StandIn:
    """A method the judge replaced, on one object, with data of its own: each call returns the next
    of `answers` (the last again when they run out) and keeps a copy of its arguments. A test then
    grades a part (train_epoch) apart from the part it calls (train_step): what it does with right
    answers, and how it called for them. The answers are the judge's data, never its code."""

    def __init__(self, answers):
        self.answers = answers
        self.calls = []

    def __call__(self, *args, **kwargs):
        import copy  # here, not at the top: only chapter 6's tests use stand-ins
        self.calls.append([copy.deepcopy(list(args)), copy.deepcopy(kwargs)])
        return copy.deepcopy(self.answers[min(len(self.calls), len(self.answers)) - 1])


def write_files(folder, files):
    """Write the chapter files the judge sent into this worker's own folder. They travel over the
    pipe so that a worker can be started and confined before anyone knows what it will grade."""
    for name, data in files.items():
        if type(name) is not str or not name.endswith(".py") or "/" in name or name.startswith("."):
            raise ValueError(f"not a chapter file name: {name!r}")
        with open(os.path.join(folder, name), "wb") as handle:
            handle.write(binascii.a2b_base64(data))


class Worker:
    def __init__(self, student_files, folder="."):
        self.folder = folder  # where sealed modules say they sit
        self.handles = {}
        self.kinds = {}
        self.student_files = set(student_files)

    def perform(self, request):
        op = request["op"]
        if op == "import":
            return importlib.import_module(request["module"])
        if op == "prepare":  # the judge's, before any student code: files, their names, sealed modules
            write_files(self.folder, request.get("files", {}))
            self.student_files.update(request.get("student_files", []))
            importlib.invalidate_caches()
            if request.get("modules"):
                sys.meta_path.insert(0, SealedFinder(self.folder, request["modules"]))
            return None
        if op == "keep":
            return decode(request["value"], self.handles)
        target = self.handles[request["target"]]
        if op == "fetch":
            return target
        if op == "getattr":
            return getattr(target, request["name"])
        if op == "setattr":
            setattr(target, request["name"], decode(request["value"], self.handles))
            return None
        if op == "stand_in":
            stand_in = StandIn(decode(request["answers"], self.handles))
            setattr(target, request["name"], stand_in)
            return stand_in
        if op == "call":
            if request.get("name"):
                target = getattr(target, request["name"])
            args = decode(request.get("args", []), self.handles)
            kwargs = {k: decode(v, self.handles) for k, v in request.get("kwargs", {}).items()}
            return target(*args, **kwargs)
        raise ValueError(f"unknown operation {op!r}")

    def answer(self, request):
        ident = request.get("id")
        try:
            value = self.perform(request)
        except BaseException as error:  # SystemExit and KeyboardInterrupt are answers too
            return {"id": ident, "raised": describe_error(error, self.student_files)}
        encoder = Encoder(self.handles, self.kinds)
        if request["op"] in ("keep", "stand_in"):  # the judge wants a handle to what it placed here
            return {"id": ident, "value": encoder.handle(value)}
        try:
            return {"id": ident, "value": encoder.encode(value)}
        except TooLarge as error:
            return {"id": ident, "too_large": str(error)}
        except (MemoryError, RecursionError):
            return {"id": ident, "too_large": "too large to encode within the worker's memory"}

    def answers(self, request):
        """The answers to one request line: one, or for a chain one per step, in order, each
        yielded as soon as its step is done (the judge times every step on its own). A chain stops
        after a step that raised, whose answer was too large, or whose answer the judge needs as
        data (`"data": true`) but that holds an object: the judge's own code would have stopped
        there, so the steps after it never run, as they would not have run one request at a time."""
        if request.get("op") != "chain":
            yield self.answer(request)
            return
        ident = request.get("id")
        for step, message in enumerate(request.get("steps", [])):
            before = len(self.handles)
            response = self.answer(message)
            response["id"], response["step"] = ident, step
            yield response
            if "value" not in response or (message.get("data") and len(self.handles) != before):
                return


def flush_student_output():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass


def _refuse(value):
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def json_codec():
    """(dumps, loads) for the request and answer lines, as json.dumps(value, allow_nan=False,
    separators=(",", ":")) and json.loads give them, through CPython's C accelerator of the json
    module: importing json itself (and re, enum and more behind it) took half of a worker's
    start-up. The json module where the accelerator is missing or differs."""
    try:
        import _json

        class Settings:  # what json.JSONDecoder gives the C scanner by default
            strict, object_hook, object_pairs_hook, parse_float, parse_int = True, None, None, float, int
            parse_constant = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}.__getitem__

        scan = _json.make_scanner(Settings)
        encode = _json.make_encoder({}, _refuse, _json.encode_basestring_ascii, None, ":", ",", False, False, False)
        encode({"check": [1, 2.5, "\u00e9", None, True]}, 0)
    except (ImportError, AttributeError, TypeError, ValueError):
        import json
        return (lambda value: json.dumps(value, allow_nan=False, separators=(",", ":"))), json.loads

    def dumps(value):
        return "".join(encode(value, 0))

    def loads(text):
        if isinstance(text, (bytes, bytearray)):
            text = bytes(text).decode("utf-8", "surrogatepass")
        text = text.strip(" \t\n\r")
        try:
            value, end = scan(text, 0)
        except StopIteration:
            raise ValueError("not a JSON value") from None
        if end != len(text):
            raise ValueError("extra data after the JSON value")
        return value

    return dumps, loads


dumps, loads = json_codec()


def send(fd, response):
    data = dumps(response).encode() + b"\n"
    if len(data) > MAX_ANSWER + (1 << 20):
        data = dumps({"id": response.get("id"), "too_large": "the answer is too large"}).encode() + b"\n"
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def read_requests(requests):
    """Yield request lines until the judge closes the pipe."""
    pending = b""
    while True:
        while b"\n" not in pending:
            chunk = requests.read(65536)
            if not chunk or len(pending) > MAX_REQUEST:
                return
            pending += chunk
        line, pending = pending.split(b"\n", 1)
        yield loads(line)


def main():
    config = loads(sys.argv[1])
    requests = os.fdopen(config["request_fd"], "rb", buffering=0)
    response_fd = config["response_fd"]
    try:
        folder, notes = confine(config)
    except BaseException as error:  # never run student code unconfined
        sys.stderr.write(f"grader sandbox: the worker could not confine itself: {error!r}\n")
        sys.stderr.flush()
        os._exit(SETUP_FAILED)
    if config.get("probe"):
        send(response_fd, {"probe": notes, "uid": os.getuid()})
        return
    sys.path.insert(0, folder)
    sys.dont_write_bytecode = True
    worker = Worker(config["student_files"], folder)
    for request in read_requests(requests):
        for response in worker.answers(request):
            flush_student_output()  # so the judge sees a call's prints before its answer
            send(response_fd, response)


if __name__ == "__main__":
    main()
