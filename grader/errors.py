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
