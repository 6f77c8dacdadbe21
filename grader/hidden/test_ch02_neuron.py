"""Hidden tests of chapter 2."""

from grader.hidden.gates import gate_tests

test_imports, test_standard_library_only = gate_tests(2)
