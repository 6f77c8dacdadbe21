"""The hidden tests: one module per chapter, run in the judge by the grader's pytest plugin.

Tests reach the student's code only through the `student` fixture (requests to the worker) and
the reference through `reference` (a plain import). Every test carries
`@pytest.mark.criterion(id)` naming the course.yaml criterion it counts toward.
"""
