"""Chapter 1 — math foundations: the vector and matrix operations every later chapter uses.

A vector is a list of numbers; a matrix is a list of rows. A neural network is little more than
these operations chained together, so each one is written out plainly here.
"""


def _check_same_length(a, b):
    # zip() would silently drop the tail of the longer list; a shape bug should be loud.
    if len(a) != len(b):
        raise ValueError(f"vectors differ in length: {len(a)} and {len(b)}")


def vector_add(a, b):
    """Element-wise sum: [a0 + b0, a1 + b1, ...]."""
    _check_same_length(a, b)
    return [x + y for x, y in zip(a, b)]


def vector_subtract(a, b):
    """Element-wise difference: [a0 - b0, a1 - b1, ...]."""
    _check_same_length(a, b)
    return [x - y for x, y in zip(a, b)]


def vector_scale(v, scalar):
    """Every element multiplied by the same number."""
    return [x * scalar for x in v]


def dot_product(a, b):
    """sum(a[i] * b[i]): how strongly two vectors point the same way; one neuron's weighted sum."""
    _check_same_length(a, b)
    return sum([x * y for x, y in zip(a, b)])


def elementwise_multiply(a, b):
    """The Hadamard product: [a0 * b0, a1 * b1, ...]."""
    _check_same_length(a, b)
    return [x * y for x, y in zip(a, b)]


def transpose(matrix):
    """Rows become columns: an m x n matrix becomes n x m."""
    if not matrix:
        return []
    return [list(row) for row in matrix]


def matrix_vector_multiply(matrix, vector):
    """W @ x: one dot product per row, which is exactly what a layer of neurons computes."""
    return [dot_product(row, vector) for row in matrix]


def matrix_multiply(a, b):
    """(m x k) @ (k x n) -> m x n: entry [i][j] is row i of a dotted with column j of b."""
    columns = transpose(b)
    return [[dot_product(row, column) for column in columns] for row in a]


if __name__ == "__main__":
    a, b = [1, 2, 3], [4, 5, 6]
    print("a + b       =", vector_add(a, b))
    print("b - a       =", vector_subtract(b, a))
    print("2 * a       =", vector_scale(a, 2))
    print("a . b       =", dot_product(a, b))
    print("a * b       =", elementwise_multiply(a, b))
    m = [[1, 2, 3], [4, 5, 6]]
    print("M           =", m)
    print("M^T         =", transpose(m))
    print("M @ [1,0,1] =", matrix_vector_multiply(m, [1, 0, 1]))
    print("M @ M^T     =", matrix_multiply(m, transpose(m)))
