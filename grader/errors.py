"""The grader's own errors: one hierarchy, each with the exit code the command line returns.

Faults in student code are never these: they are outcomes recorded in the scorecard.
"""


class GraderError(Exception):
    """Something the grader itself cannot do; shown to the user as one clear line."""

    exit_code = 3


class UsageError(GraderError):
    """A bad option or argument on the command line."""

    exit_code = 2


class CourseError(GraderError):
    """course.yaml or the hidden tests it names are wrong; the message names file, line and key."""

    exit_code = 2


class SandboxError(GraderError):
    """The requested sandbox tier cannot run on this machine."""

    exit_code = 2


class SubmissionError(GraderError):
    """The submission folder cannot be read at all (a missing chapter file is not this)."""

    exit_code = 2


def read_text(path, error: type[GraderError], label: str) -> str:
    """A UTF-8 file the user named, or `error` as one line starting with `label`."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{label}: no such file") from None
    except (OSError, UnicodeDecodeError) as problem:
        raise error(f"{label}: cannot be read ({problem})") from None
