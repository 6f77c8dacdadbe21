"""Hidden tests of chapter 1: vector and matrix operations, compared with the reference."""

import pytest

from grader.checks import attempt, expect, expect_own
from grader.hidden.gates import gate_tests
from grader.remote import StudentRaised

test_imports, test_standard_library_only = gate_tests(1)


def vector(rng, n):
    return [round(rng.uniform(-5, 5), 3) for _ in range(n)]


def matrix(rng, rows, cols):
    return [vector(rng, cols) for _ in range(rows)]


def unchanged(worker, call, *args, own=(), note="", record=None):
    """Call `call` with the arguments kept in the worker; check the student left them untouched.
    `own`: how a composing part's lower parts answer these arguments (see grader/checks.py); the
    call may raise only what they raise, and then there is nothing left to look at."""
    kept = [worker.keep(a) for a in args]
    done = attempt(lambda: call(*kept))
    if isinstance(done, StudentRaised):
        expect_own(done, None, *own, note=note, record=record)   # re-raises it unless `own` explains it
        return
    for original, handle in zip(args, kept):
        expect(worker.fetch(handle), original, exact=True, call=f"{worker.last_call} (its inputs afterwards)")



@pytest.mark.criterion("ch1-vector-ops")
@pytest.mark.parametrize("name", ["vector_add", "vector_subtract"])
def test_vector_op(name, student, reference, worker, rng):
    expect(getattr(student, name)([1, 2, 3], [4, 5, 6]), getattr(reference, name)([1, 2, 3], [4, 5, 6]),
           exact=True)
    expect(getattr(student, name)([-1, 0], [3, -7]), getattr(reference, name)([-1, 0], [3, -7]), exact=True)
    a, b = vector(rng, 7), vector(rng, 7)
    expect(getattr(student, name)(a, b), getattr(reference, name)(a, b))
    unchanged(worker, getattr(student, name), a, b)


@pytest.mark.criterion("ch1-vector-ops")
def test_vector_scale(student, reference, worker, rng):
    expect(student.vector_scale([1, -2, 3], 3), [3, -6, 9], exact=True)
    v = vector(rng, 6)
    expect(student.vector_scale(v, -0.5), reference.vector_scale(v, -0.5))
    expect(student.vector_scale([], 4.0), [])
    unchanged(worker, lambda kept: student.vector_scale(kept, 2.0), v)


@pytest.mark.criterion("ch1-dot")
def test_dot_product(student, reference, worker, rng):
    expect(student.dot_product([1, 2, 3], [4, 5, 6]), 32, exact=True)
    expect(student.dot_product([-1, 2], [3, -4]), -11, exact=True)
    a, b = vector(rng, 9), vector(rng, 9)
    expect(student.dot_product(a, b), reference.dot_product(a, b), rel=1e-9, abs_tol=1e-9)
    unchanged(worker, student.dot_product, a, b)


@pytest.mark.criterion("ch1-dot")
def test_elementwise_multiply(student, reference, worker, rng):
    expect(student.elementwise_multiply([1, 2, 3], [4, 5, 6]), [4, 10, 18], exact=True)
    a, b = vector(rng, 5), vector(rng, 5)
    expect(student.elementwise_multiply(a, b), reference.elementwise_multiply(a, b))
    unchanged(worker, student.elementwise_multiply, a, b)


@pytest.mark.criterion("ch1-transpose")
def test_transpose(student, reference, worker, rng):
    expect(student.transpose([[1, 2, 3], [4, 5, 6]]), [[1, 4], [2, 5], [3, 6]], exact=True)
    expect(student.transpose([[7]]), [[7]], exact=True)
    expect(student.transpose([[1, 2, 3]]), [[1], [2], [3]], exact=True)
    m = matrix(rng, 4, 3)
    expect(student.transpose(m), reference.transpose(m))
    unchanged(worker, student.transpose, m)


@pytest.mark.criterion("ch1-transpose")
def test_transpose_of_empty_matrix(student):
    expect(student.transpose([]), [])


# matrix_vector_multiply and matrix_multiply may be built on the student's own dot_product and
# transpose. Each is graded as its own part: right when it matches the reference, or what the
# student's own dot_product (and transpose) give when called one by one (grader/checks.py).
ON_YOUR_DOT = ("matrix_vector_multiply combines your dot_product correctly; dot_product itself is wrong: "
               "see its criterion above.")
ON_YOUR_PARTS = ("matrix_multiply combines your transpose and dot_product correctly; one of them is wrong: "
                 "see their criteria above.")


def own_matvec(student, m, v):
    return lambda: [student.dot_product(row, v) for row in m]


def own_matmul(student, a, b):
    """The product from the student's dot_product, over the columns their transpose gives, or the
    true ones: a matrix_multiply may use either."""
    def over(columns):
        return lambda: [[student.dot_product(row, column) for column in columns()] for row in a]
    return over(lambda: student.transpose(b)), over(lambda: [list(column) for column in zip(*b)])


def expect_matmul(student, a, b, expected, record, **tolerances):
    expect_own(attempt(lambda: student.matrix_multiply(a, b)), expected, *own_matmul(student, a, b), note=ON_YOUR_PARTS,
               record=record, call=f"matrix_multiply({a}, {b})", **tolerances)


@pytest.mark.criterion("ch1-matvec")
def test_matrix_vector_multiply(student, reference, worker, rng, record):
    m, v = [[1, 2], [3, 4], [5, 6]], [1, -1]
    expect_own(attempt(lambda: student.matrix_vector_multiply(m, v)), [-1, -1, -1], own_matvec(student, m, v), note=ON_YOUR_DOT,
               record=record, call=f"matrix_vector_multiply({m}, {v})", exact=True)
    m, v = matrix(rng, 5, 3), vector(rng, 3)
    expect_own(attempt(lambda: student.matrix_vector_multiply(m, v)), reference.matrix_vector_multiply(m, v),
               own_matvec(student, m, v), note=ON_YOUR_DOT, record=record, call=f"matrix_vector_multiply({m}, {v})",
               abs_tol=1e-9)
    unchanged(worker, student.matrix_vector_multiply, m, v)


@pytest.mark.criterion("ch1-matmul")
@pytest.mark.parametrize("shape", [(2, 2, 2), (2, 3, 4), (4, 1, 3), (1, 5, 1)])
def test_matrix_multiply(shape, student, reference, worker, rng, record):
    m, k, n = shape
    a, b = matrix(rng, m, k), matrix(rng, k, n)
    expect_matmul(student, a, b, reference.matrix_multiply(a, b), record, abs_tol=1e-9)


@pytest.mark.criterion("ch1-matmul")
def test_matrix_multiply_exact_and_untouched(student, worker, rng, record):
    expect_matmul(student, [[1, 2], [3, 4]], [[5, 6], [7, 8]], [[19, 22], [43, 50]], record, exact=True)
    a, b = matrix(rng, 2, 3), matrix(rng, 3, 2)
    unchanged(worker, student.matrix_multiply, a, b, own=own_matmul(student, a, b), note=ON_YOUR_PARTS, record=record)
