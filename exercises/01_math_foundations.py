"""Chapter 1 — math foundations: the list arithmetic a neural network is made of.

The whole course works with two kinds of data, written as plain Python lists:

    vector   a list of numbers                 [0.5, -0.3, 0.8]
    matrix   a list of rows, each a vector     [[1, 2, 3],
                                                [4, 5, 6]]      2 rows x 3 columns

The operation everything else rests on is the dot product,

    dot(a, b) = a[0]*b[0] + a[1]*b[1] + ... + a[n-1]*b[n-1]

because it is exactly what one neuron does with its weights and its input. A layer of neurons
is a matrix times a vector: one dot product per row (what papers write as W @ x). Training
subtracts scaled gradient vectors from weight rows, and backpropagation reads the weight
matrix column by column, i.e. through its transpose.

Things to get right:
  * return NEW lists and leave the arguments untouched: later chapters reuse their inputs;
  * integer inputs must give integer results: dot_product([1, 2, 3], [4, 5, 6]) is 32,
    not 32.0 (start a running total at 0, not 0.0, or use sum());
  * transpose([]) is [] — an empty matrix has no first row to measure;
  * matrix_multiply pairs row i of the first matrix with COLUMN j of the second:
    (m x k) times (k x n) gives m x n.

Check your work with:  python3 01_math_foundations.py
"""


def vector_add(a, b):
    """Return a new list holding a[i] + b[i] for every position i.

    vector_add([1, 2, 3], [4, 5, 6]) == [5, 7, 9]
    """
    raise NotImplementedError("vector_add: build a new list of a[i] + b[i], position by position")


def vector_subtract(a, b):
    """Return a new list holding a[i] - b[i] for every position i (a minus b, in that order)."""
    raise NotImplementedError("vector_subtract: build a new list of a[i] - b[i], position by position")


def vector_scale(v, scalar):
    """Return a new list with every element of v multiplied by the number scalar."""
    raise NotImplementedError("vector_scale: multiply each element of v by scalar, into a new list")


def dot_product(a, b):
    """Return the single number a[0]*b[0] + a[1]*b[1] + ... (not a list).

    dot_product([1, 2, 3], [4, 5, 6]) == 32
    """
    raise NotImplementedError("dot_product: multiply matching elements and add them up")


def elementwise_multiply(a, b):
    """Return a new list holding a[i] * b[i] for every position i (the Hadamard product)."""
    raise NotImplementedError("elementwise_multiply: a new list of a[i] * b[i], position by position")


def transpose(matrix):
    """Swap rows and columns: row j of the result is column j of matrix (a list, not a tuple).

    transpose([[1, 2, 3], [4, 5, 6]]) == [[1, 4], [2, 5], [3, 6]];  transpose([]) == []
    """
    raise NotImplementedError("transpose: result[j][i] is matrix[i][j]; return [] for an empty matrix")


def matrix_vector_multiply(matrix, vector):
    """Return one number per row of matrix: the dot product of that row with vector."""
    raise NotImplementedError("matrix_vector_multiply: dot each row of the matrix with the vector")


def matrix_multiply(a, b):
    """Multiply an (m x k) matrix by a (k x n) matrix; the result is m x n.

    Entry [i][j] is the dot product of row i of a with column j of b.
    """
    raise NotImplementedError("matrix_multiply: entry [i][j] is row i of a dotted with column j of b")


# ---------------------------------------------------------------------------------------------
# Self-check: run `python3 01_math_foundations.py`. Nothing below needs editing.

def _report(name, check):
    """Run one check and print one line: ok, what went wrong, or what is still to write."""
    try:
        problem = check()
    except NotImplementedError as exc:
        part, colon, hint = str(exc).partition(": ")
        if not colon:
            part, hint = name, str(exc)
        if part == name:
            print(f"{name}: not implemented yet — {hint}")
        else:
            print(f"{name}: cannot be checked yet — {part} is not implemented yet")
    except Exception as exc:  # a bug in the code under test: describe it, don't crash
        print(f"{name}: raised {type(exc).__name__}: {exc}")
    else:
        print(f"{name}: {problem or 'ok'}")


def _matches(got, expected, tol):
    if isinstance(expected, list):
        return (isinstance(got, list) and len(got) == len(expected)
                and all(_matches(g, e, tol) for g, e in zip(got, expected)))
    if type(expected) is int:
        return type(got) is int and got == expected
    if type(expected) is float:
        return isinstance(got, (int, float)) and abs(got - expected) <= tol
    return got == expected


def _expect(what, got, expected, tol=1e-9):
    """None when got matches expected, else a sentence saying what differs."""
    return None if _matches(got, expected, tol) else f"{what} gave {got!r}, expected {expected!r}"


def _check_vector_add():
    a, b = [1, 2, 3], [4, 5, 6]
    return (_expect("vector_add([1, 2, 3], [4, 5, 6])", vector_add(a, b), [5, 7, 9])
            or _expect("a after vector_add(a, b)", a, [1, 2, 3]))


def _check_vector_subtract():
    return _expect("vector_subtract([5, 7, 9], [4, 5, 6])", vector_subtract([5, 7, 9], [4, 5, 6]), [1, 2, 3])


def _check_vector_scale():
    return _expect("vector_scale([1, -2, 3], 2)", vector_scale([1, -2, 3], 2), [2, -4, 6])


def _check_dot_product():
    return (_expect("dot_product([1, 2, 3], [4, 5, 6])", dot_product([1, 2, 3], [4, 5, 6]), 32)
            or _expect("dot_product([0.5, -1.0], [2.0, 0.25])", dot_product([0.5, -1.0], [2.0, 0.25]), 0.75))


def _check_elementwise_multiply():
    return _expect("elementwise_multiply([1, 2, 3], [4, 5, 6])",
                   elementwise_multiply([1, 2, 3], [4, 5, 6]), [4, 10, 18])


def _check_transpose():
    m = [[1, 2, 3], [4, 5, 6]]
    return (_expect("transpose([[1, 2, 3], [4, 5, 6]])", transpose(m), [[1, 4], [2, 5], [3, 6]])
            or _expect("transpose([])", transpose([]), [])
            or _expect("the matrix after transpose(matrix)", m, [[1, 2, 3], [4, 5, 6]]))


def _check_matrix_vector_multiply():
    return _expect("matrix_vector_multiply([[1, 2, 3], [4, 5, 6]], [1, 0, 1])",
                   matrix_vector_multiply([[1, 2, 3], [4, 5, 6]], [1, 0, 1]), [4, 10])


def _check_matrix_multiply():
    a = [[1, 2, 3], [4, 5, 6]]        # 2 x 3
    b = [[1, 0], [0, 1], [2, -1]]     # 3 x 2
    return _expect("matrix_multiply(2x3, 3x2)", matrix_multiply(a, b), [[7, -1], [16, -1]])


_CHECKS = [
    ("vector_add", _check_vector_add),
    ("vector_subtract", _check_vector_subtract),
    ("vector_scale", _check_vector_scale),
    ("dot_product", _check_dot_product),
    ("elementwise_multiply", _check_elementwise_multiply),
    ("transpose", _check_transpose),
    ("matrix_vector_multiply", _check_matrix_vector_multiply),
    ("matrix_multiply", _check_matrix_multiply),
]

if __name__ == "__main__":
    for _name, _check in _CHECKS:
        _report(_name, _check)
