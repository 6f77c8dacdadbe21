"""The grader of the 'MLP from scratch' course: a trusted judge that runs hidden tests against
student chapters executed in a sandboxed worker."""

__version__ = "0.1.0"
