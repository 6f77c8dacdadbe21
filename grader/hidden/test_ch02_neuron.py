"""Hidden tests of chapter 2: the activations, their slopes and one neuron, against the reference."""

import pytest

from grader.checks import attempt, check, each, expect, expect_own
from grader.hidden.gates import gate_tests
from grader.remote import StudentRaised

test_imports, test_standard_library_only = gate_tests(2)


def overflow_free(call, *args, advice):
    """`call(*args)`, turning an OverflowError in the student's code into a failure that says why."""
    try:
        return call(*args)
    except StudentRaised as fault:
        if fault.kind != "OverflowError":
            raise
        where = f" (line {fault.location['line']})" if fault.location else ""
        raise AssertionError(f"{fault.call} raised OverflowError{where}: {advice}") from None


# --- sigmoid ------------------------------------------------------------------------------------

@pytest.mark.criterion("ch2-sigmoid")
def test_sigmoid_values(student, reference, rng):
    sigmoid = student.sigmoid
    expect(sigmoid(0), 0.5, rel=1e-12)
    expect(sigmoid(0.0), 0.5, rel=1e-12)
    for z in (1, -1, 2.5, -3.75, 10, -10, round(rng.uniform(-6, 6), 4), round(rng.uniform(-6, 6), 4)):
        expect(sigmoid(z), reference.sigmoid(z), rel=1e-9, abs_tol=1e-15, call=f"sigmoid({z!r})")


@pytest.mark.criterion("ch2-sigmoid")
def test_sigmoid_extremes(student, reference):
    sigmoid = student.sigmoid
    advice = "clamp z into [-500, 500] before math.exp so it cannot overflow"
    for z in (-1000, 1000, -1000.0, 1000.0, -710, 710, -1e300, 1e300):
        value = overflow_free(sigmoid, z, advice=advice)
        check(type(value) in (int, float) and 0 <= value <= 1,
              f"sigmoid({z!r}) returned {value!r}: a sigmoid always lies between 0 and 1")
        # The clamped formula gives about 7e-218 at the bottom; exactly 0.0 is just as good.
        expect(value, reference.sigmoid(z), abs_tol=1e-12, call=f"sigmoid({z!r})")


@pytest.mark.criterion("ch2-sigmoid")
def test_sigmoid_symmetry(student, rng):
    sigmoid = student.sigmoid
    for z in (0.5, 2.0, 7.25, round(rng.uniform(0, 20), 4), 1000):
        up = overflow_free(sigmoid, z, advice="clamp z into [-500, 500] before math.exp")
        down = overflow_free(sigmoid, -z, advice="clamp z into [-500, 500] before math.exp")
        expect(down, 1 - up, abs_tol=1e-12,
               call=f"sigmoid({-z!r}) compared with 1 - sigmoid({z!r}) (the curve is symmetric)")


# --- sigmoid_derivative -------------------------------------------------------------------------

@pytest.mark.criterion("ch2-sigmoid-derivative")
def test_sigmoid_derivative_takes_the_output(student, reference, rng):
    derivative = student.sigmoid_derivative
    for a in (0.5, 0.9, 0.2, 0.0, 1.0, round(rng.uniform(0.01, 0.99), 4), round(rng.uniform(0.01, 0.99), 4)):
        actual = derivative(a)
        again = reference.sigmoid_derivative(reference.sigmoid(a))
        if type(actual) is float and abs(actual - again) < 1e-12 and abs(again - a * (1 - a)) > 1e-6:
            raise AssertionError(f"sigmoid_derivative({a!r}) returned {actual!r}, which is "
                                 f"sigmoid({a!r}) * (1 - sigmoid({a!r})): the argument is already the "
                                 f"sigmoid's output a, so return a * (1 - a) = {a * (1 - a)!r}")
        expect(actual, reference.sigmoid_derivative(a), rel=1e-9, abs_tol=1e-15,
               call=f"sigmoid_derivative({a!r})")


# --- relu and relu_derivative -------------------------------------------------------------------

@pytest.mark.criterion("ch2-relu")
def test_relu(student, rng):
    relu, positive = student.relu, round(rng.uniform(0.1, 9), 4)
    for z, expected in ((3.5, 3.5), (-2.0, 0), (0, 0), (0.0, 0), (7, 7), (-4, 0), (1e-9, 1e-9),
                        (-1e-9, 0), (positive, positive), (-positive, 0)):
        expect(relu(z), expected, rel=0, abs_tol=0, call=f"relu({z!r})")


@pytest.mark.criterion("ch2-relu")
def test_relu_derivative(student):
    relu_derivative = student.relu_derivative
    for z, expected in ((2.0, 1), (-3, 0), (5, 1), (-0.5, 0), (1e-12, 1), (-1e-12, 0)):
        slope = relu_derivative(z)
        check(type(slope) is not bool, f"relu_derivative({z!r}) returned {slope!r}, a bool: return the "
                                       f"number 1 or 0 (1 if z > 0 else 0)")
        expect(slope, expected, rel=0, abs_tol=0, call=f"relu_derivative({z!r})")
    for z in (0, 0.0):
        slope = relu_derivative(z)
        check(type(slope) in (int, float) and slope == 0,
              f"relu_derivative({z!r}) returned {slope!r}: at exactly z = 0 the slope counts as 0 "
              f"(only z > 0 gives 1)")


# --- Neuron.forward -----------------------------------------------------------------------------

def neuron_case(rng, size, sign):
    """Weights, a non-zero bias and inputs whose z = w . x + b has the given sign (at least 0.4 away)."""
    weights = [round(rng.uniform(-1, 1), 3) for _ in range(size)]
    inputs = [round(rng.uniform(-2, 2), 3) for _ in range(size)]
    weighted = sum(w * x for w, x in zip(weights, inputs))
    bias = round(sign * rng.uniform(0.4, 1.5) - weighted, 3)
    if bias == 0:
        bias = 0.125
    return weights, bias, inputs


# (activation passed to Neuron, or None to use the default; the sign of z)
NEURON_CASES = [("sigmoid", 1), ("sigmoid", -1), ("relu", 1), ("relu", -1), (None, -1), (None, 1),
                ("tanh", -1), ("linear", 1)]


ON_YOUR_ACTIVATION = ("Neuron.forward applies your {name} correctly; {name} itself is wrong: "
                      "see its criterion above.")


@pytest.mark.criterion("ch2-neuron")
@pytest.mark.parametrize("activation, sign", NEURON_CASES)
def test_neuron_forward(activation, sign, student, reference, rng, record):
    weights, bias, inputs = neuron_case(rng, 4, sign)
    options = {} if activation is None else {"activation": activation}
    neuron = student.Neuron(weights, bias, **options)
    out = attempt(lambda: neuron.forward(inputs))
    expected = reference.Neuron(weights, bias, **options)
    expected.forward(list(inputs))
    described = f"Neuron({weights}, {bias}{', activation=' + repr(activation) if activation else ''})"
    rule = ("sigmoid" if activation == "sigmoid" else
            "relu (the default)" if activation is None else
            "relu" if activation == "relu" else f"relu (any activation other than \"sigmoid\", "
                                                 f"{activation!r} included, means relu)")
    # Graded as its own part: the student's own sigmoid or relu applied to the right z passes too.
    name = "sigmoid" if activation == "sigmoid" else "relu"
    own = lambda: getattr(student, name)(expected.z)
    note = ON_YOUR_ACTIVATION.format(name=name)
    expect_own(out, expected.a, own, note=note, record=record, rel=1e-9, abs_tol=1e-12,
               call=f"{described}.forward({inputs}) with z = {expected.z:.6g} and activation {rule}")
    after = f"after {described}.forward({inputs})"
    each(("neuron.z", lambda: expect(neuron.z, expected.z, rel=1e-9, abs_tol=1e-12,
                                     call=f"neuron.z {after} (z = dot(weights, inputs) + bias)")),
         ("neuron.a", lambda: expect_own(neuron.a, expected.a, own, note=note, record=record, rel=1e-9,
                                         abs_tol=1e-12, call=f"neuron.a {after} (the value forward returned)")),
         # forward keeps the very list it was given, so this also catches changing it in place.
         ("neuron.inputs", lambda: expect(neuron.inputs, inputs, exact=True,
                                          call=f"neuron.inputs {after} (the inputs, unchanged)")))
