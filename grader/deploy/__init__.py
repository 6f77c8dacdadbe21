"""Deploying the grader where a course already grades: a Gradescope autograder bundle
(`grade export gradescope OUT.zip`, bundle.py) and what runs inside it (autograder.py).
Imported only by the command that needs it."""
