"""The starter files in exercises/: they import, the given parts work, every student part is a
clean NotImplementedError, and the self-checks run, and tell right from wrong."""

import ast
import inspect
import random
import shutil
import subprocess
import sys

import pytest

import course_modules
from course_modules import CHAPTERS, EXERCISES, REFERENCE, chapter_path, exercise, load_chapter, reference

GIVEN = {
    "Neuron.__init__", "Layer.__init__", "Network.__init__", "BackpropLayer.__init__",
    "BackpropNetwork.__init__", "BackpropNetwork.forward", "Trainer.__init__",
}

# Private helpers of the reference that are not part of the API, so a starter need not have them.
REFERENCE_ONLY = {"_check_same_length", "_loss_at", "LetterClassifier._one_hot"}


def _layer_after_forward(m):
    """An exercise BackpropLayer whose caches were filled by the reference's forward()."""
    layer = m.BackpropLayer(2, 3, "sigmoid", seed=1)
    reference(5).BackpropLayer.forward(layer, [1.0, 2.0])
    return layer


def _network_after_forward(m):
    network = m.BackpropNetwork([2, 3, 2], seed=1)
    x = [1.0, 2.0]
    for layer in network.layers:
        x = reference(5).BackpropLayer.forward(layer, x)
    return network


def _classifier(m):
    """An exercise LetterClassifier carrying the attributes the reference's __init__ gives it."""
    classifier = object.__new__(m.LetterClassifier)
    reference(7).LetterClassifier.__init__(classifier)
    return classifier


ONE_HOT_A = [1.0] + [0.0] * 25

# Every part a student writes, called with valid arguments.
STUDENT_PARTS = [
    (1, "vector_add", lambda m: m.vector_add([1, 2], [3, 4])),
    (1, "vector_subtract", lambda m: m.vector_subtract([1, 2], [3, 4])),
    (1, "vector_scale", lambda m: m.vector_scale([1, 2], 3)),
    (1, "dot_product", lambda m: m.dot_product([1, 2], [3, 4])),
    (1, "elementwise_multiply", lambda m: m.elementwise_multiply([1, 2], [3, 4])),
    (1, "transpose", lambda m: m.transpose([[1, 2], [3, 4]])),
    (1, "matrix_vector_multiply", lambda m: m.matrix_vector_multiply([[1, 2]], [3, 4])),
    (1, "matrix_multiply", lambda m: m.matrix_multiply([[1, 2]], [[3], [4]])),
    (2, "sigmoid", lambda m: m.sigmoid(0.5)),
    (2, "sigmoid_derivative", lambda m: m.sigmoid_derivative(0.5)),
    (2, "relu", lambda m: m.relu(1.0)),
    (2, "relu_derivative", lambda m: m.relu_derivative(1.0)),
    (2, "Neuron.forward", lambda m: m.Neuron([0.5, -0.3], 0.1).forward([1.0, 2.0])),
    (3, "Layer.forward", lambda m: m.Layer(2, 3, seed=1).forward([1.0, 2.0])),
    (3, "Network.forward", lambda m: m.Network([2, 3, 1]).forward([1.0, 2.0])),
    (4, "softmax", lambda m: m.softmax([1.0, 2.0])),
    (4, "cross_entropy_loss", lambda m: m.cross_entropy_loss([0.5, 0.5], [1, 0])),
    (4, "mse_loss", lambda m: m.mse_loss([0.5], [1.0])),
    (5, "BackpropLayer.forward", lambda m: m.BackpropLayer(2, 3, seed=1).forward([1.0, 2.0])),
    (5, "BackpropLayer.backward", lambda m: _layer_after_forward(m).backward([0.1, 0.2, 0.3])),
    (5, "BackpropNetwork.backward", lambda m: _network_after_forward(m).backward([0, 1])),
    (5, "gradient_check", lambda m: m.gradient_check(m.BackpropNetwork([2, 3, 2]), [1.0, 2.0], [0, 1])),
    (6, "Trainer.train_step", lambda m: m.Trainer(m.BackpropNetwork([2, 3, 2])).train_step([1.0, 2.0], [0, 1])),
    (6, "Trainer.train_epoch", lambda m: m.Trainer(m.BackpropNetwork([2, 3, 2])).train_epoch([([1.0, 2.0], [0, 1])])),
    (6, "Trainer.train", lambda m: m.Trainer(m.BackpropNetwork([2, 3, 2])).train([([1.0, 2.0], [0, 1])], 2, verbose=False)),
    (7, "LetterClassifier.__init__", lambda m: m.LetterClassifier()),
    (7, "LetterClassifier._make_dataset", lambda m: _classifier(m)._make_dataset()),
    (7, "LetterClassifier.train", lambda m: _classifier(m).train(epochs=1, verbose=False)),
    (7, "LetterClassifier.predict", lambda m: _classifier(m).predict(ONE_HOT_A)),
    (7, "LetterClassifier.predict_probs", lambda m: _classifier(m).predict_probs(ONE_HOT_A)),
    (7, "LetterClassifier.evaluate", lambda m: _classifier(m).evaluate()),
]


def defined_parts(module):
    """Qualified names of the public functions, and of all the methods of the classes, that
    `module` itself defines (imported names and private module-level helpers excluded)."""
    parts = set()
    for name, obj in vars(module).items():
        if getattr(obj, "__module__", None) != module.__name__:
            continue
        if inspect.isfunction(obj) and not name.startswith("_"):
            parts.add(name)
        elif inspect.isclass(obj):
            parts.update(f"{name}.{m}" for m, f in vars(obj).items() if inspect.isfunction(f))
    return parts


def find_function(tree, qualname):
    """The FunctionDef node for "name" or "Class.method" in a parsed module."""
    *owner, name = qualname.split(".")
    body = tree.body
    if owner:
        body = next(n for n in body if isinstance(n, ast.ClassDef) and n.name == owner[0]).body
    return next(n for n in body if isinstance(n, ast.FunctionDef) and n.name == name)


def without_docstring(function):
    body = function.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return [ast.dump(statement) for statement in body]


def parsed(folder, number):
    return ast.parse(chapter_path(folder, number).read_text(encoding="utf-8"))


# --- the starters import, and the loader keeps the two trees apart --------------------------------

@pytest.mark.parametrize("number", CHAPTERS)
def test_starter_imports(number):
    module = exercise(number)
    assert module.__file__ == str(chapter_path(EXERCISES, number).resolve())
    assert len(module.__doc__) > 400  # the chapter's lesson


def test_trees_do_not_mix():
    reference(3)  # the reference tree is loaded first, and must not leak into the exercises'
    assert reference(3).dot_product([1, 2], [3, 4]) == 11
    with pytest.raises(NotImplementedError):
        exercise(3).dot_product([1, 2], [3, 4])  # the starter's chapter 1, not the reference's
    assert exercise(6).BackpropNetwork is exercise(5).BackpropNetwork
    assert reference(6).BackpropNetwork is reference(5).BackpropNetwork
    assert exercise(5).BackpropNetwork is not reference(5).BackpropNetwork
    assert not set(CHAPTERS.values()) & set(sys.modules)


# --- the starters have the reference's shape ----------------------------------------------------

@pytest.mark.parametrize("number", CHAPTERS)
def test_same_import_lines_as_the_reference(number):
    def header(tree):  # the statements between the module docstring and the first definition
        statements = []
        for node in tree.body[1:]:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                break
            statements.append(ast.dump(node))
        return statements

    assert header(parsed(EXERCISES, number)) == header(parsed(REFERENCE, number))


@pytest.mark.parametrize("number", CHAPTERS)
def test_same_public_names_signatures_and_class_attributes(number):
    ex, ref = exercise(number), reference(number)
    ref_parts = {p for p in defined_parts(ref) if p not in REFERENCE_ONLY}
    assert defined_parts(ex) == ref_parts
    for qualname in ref_parts:
        ex_obj, ref_obj = ex, ref
        for part in qualname.split("."):
            ex_obj, ref_obj = getattr(ex_obj, part), getattr(ref_obj, part)
        assert inspect.signature(ex_obj) == inspect.signature(ref_obj), qualname
    for name, cls in vars(ref).items():
        if inspect.isclass(cls) and cls.__module__ == ref.__name__:
            attributes = {k: v for k, v in vars(cls).items() if not k.startswith("__") and not callable(v)}
            assert {k: v for k, v in vars(getattr(ex, name)).items() if k in attributes} == attributes


def test_the_table_lists_every_student_part():
    for number in CHAPTERS:
        listed = {qualname for chapter, qualname, _ in STUDENT_PARTS if chapter == number}
        assert listed == defined_parts(exercise(number)) - GIVEN, f"chapter {number}"


# --- student parts: a docstring, then NotImplementedError with a hint ----------------------------

@pytest.mark.parametrize("number, qualname, call", STUDENT_PARTS, ids=[q for _, q, _ in STUDENT_PARTS])
def test_student_part_raises_not_implemented(number, qualname, call):
    module = exercise(number)
    with pytest.raises(NotImplementedError) as info:
        call(module)
    assert type(info.value) is NotImplementedError
    prefix = f"{qualname}: "
    assert str(info.value).startswith(prefix) and len(str(info.value)) > len(prefix) + 10
    raised_in = info.traceback[-1]
    assert raised_in.name == qualname.split(".")[-1]  # by the part itself, not by something it calls
    assert str(raised_in.path) == str(chapter_path(EXERCISES, number).resolve())


@pytest.mark.parametrize("number, qualname", [(n, q) for n, q, _ in STUDENT_PARTS], ids=[q for _, q, _ in STUDENT_PARTS])
def test_student_part_body_is_a_docstring_and_a_raise(number, qualname):
    function = find_function(parsed(EXERCISES, number), qualname)
    docstring, statement = function.body  # exactly two statements
    assert isinstance(docstring, ast.Expr) and isinstance(docstring.value, ast.Constant)
    assert isinstance(docstring.value.value, str) and len(docstring.value.value) > 20
    assert isinstance(statement, ast.Raise) and isinstance(statement.exc, ast.Call)
    assert ast.unparse(statement.exc.func) == "NotImplementedError"
    assert len(statement.exc.args) == 1 and isinstance(statement.exc.args[0], ast.Constant)


# --- given parts: the reference's code, the reference's behaviour --------------------------------

@pytest.mark.parametrize("qualname, number", [
    ("Neuron.__init__", 2), ("Layer.__init__", 3), ("Network.__init__", 3),
    ("BackpropLayer.__init__", 5), ("BackpropNetwork.__init__", 5), ("BackpropNetwork.forward", 5),
    ("Trainer.__init__", 6),
])
def test_given_code_is_the_reference_code(qualname, number):
    given = find_function(parsed(EXERCISES, number), qualname)
    assert without_docstring(given) == without_docstring(find_function(parsed(REFERENCE, number), qualname))


def test_given_neuron_init():
    ex, ref = exercise(2).Neuron([0.5, -0.3], 0.1, "sigmoid"), reference(2).Neuron([0.5, -0.3], 0.1, "sigmoid")
    assert vars(ex) == vars(ref)
    assert exercise(2).Neuron([1.0], 0.0).activation == "relu"


@pytest.mark.parametrize("chapter, cls", [(3, "Layer"), (5, "BackpropLayer")])
def test_given_layer_init(chapter, cls):
    ex_class, ref_class = getattr(exercise(chapter), cls), getattr(reference(chapter), cls)
    assert vars(ex_class(5, 3, "sigmoid", seed=11)) == vars(ref_class(5, 3, "sigmoid", seed=11))
    assert ex_class(4, 2).activation == "relu"
    random.seed(1)  # without a seed, both draw from the current state of `random`
    unseeded = vars(ex_class(4, 2))
    random.seed(1)
    assert unseeded == vars(ref_class(4, 2))


@pytest.mark.parametrize("chapter, cls", [(3, "Network"), (5, "BackpropNetwork")])
def test_given_network_init(chapter, cls):
    ex_class, ref_class = getattr(exercise(chapter), cls), getattr(reference(chapter), cls)
    for args in (([4, 6, 3, 2],), ([4, 6, 3], "sigmoid", "linear", 9)):
        ex, ref = ex_class(*args), ref_class(*args)
        assert len(ex.layers) == len(ref.layers)
        assert [vars(a) for a in ex.layers] == [vars(b) for b in ref.layers]
        assert getattr(ex, "output_activation", None) == getattr(ref, "output_activation", None)


def test_given_backprop_network_forward(monkeypatch):
    network = exercise(5).BackpropNetwork([3, 4, 2], seed=2)
    with pytest.raises(NotImplementedError, match="^BackpropLayer.forward: "):
        network.forward([1.0, 0.5, -1.0])  # it relies on the student's BackpropLayer.forward
    monkeypatch.setattr(exercise(5).BackpropLayer, "forward", reference(5).BackpropLayer.forward)
    expected = reference(5).BackpropNetwork([3, 4, 2], seed=2).forward([1.0, 0.5, -1.0])
    assert network.forward([1.0, 0.5, -1.0]) == expected


def test_given_trainer_init():
    network = exercise(5).BackpropNetwork([2, 3, 2])
    trainer = exercise(6).Trainer(network)
    assert trainer.network is network and trainer.learning_rate == 0.01 and trainer.loss_history == []
    assert exercise(6).Trainer(network, learning_rate=0.5).learning_rate == 0.5
    assert exercise(6).Trainer(network).loss_history is not trainer.loss_history


def test_letter_classifier_letters():
    assert exercise(7).LetterClassifier.LETTERS == "abcdefghijklmnopqrstuvwxyz"


# --- the self-checks ----------------------------------------------------------------------------

@pytest.mark.parametrize("number", CHAPTERS)
def test_starter_runs_as_a_script(number, tmp_path):
    for path in EXERCISES.glob("0*.py"):
        shutil.copy(path, tmp_path)
    done = subprocess.run([sys.executable, "-I", str(tmp_path / f"{CHAPTERS[number]}.py")],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert done.stderr == ""
    assert "Traceback" not in done.stdout
    lines = done.stdout.splitlines()
    assert len(lines) == len(exercise(number)._CHECKS)
    assert all("not implemented yet" in line for line in lines), done.stdout
    assert any("not implemented yet — " in line for line in lines)


def build_tree(folder, replace, extra=lambda number: []):
    """Write the seven exercise files into folder, each top-level function or class swapped for
    what `replace(number, node)` returns (if anything), and `extra(number)` inserted before the
    first definition. The self-checks stay as they are."""
    for number, name in CHAPTERS.items():
        tree = parsed(EXERCISES, number)
        body = []
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                if not any(isinstance(n, (ast.FunctionDef, ast.ClassDef)) for n in body):
                    body.extend(extra(number))
                node = replace(number, node) or node
            body.append(node)
        tree.body = body
        (folder / f"{name}.py").write_text(ast.unparse(tree), encoding="utf-8")
    course_modules.forget(folder)


def run_checks(folder, number, capsys, skip=("LetterClassifier.train",)):
    """Run a chapter's self-checks in-process; {check name: printed line}."""
    module = load_chapter(folder, number)
    capsys.readouterr()
    for name, check in module._CHECKS:
        if name not in skip:
            module._report(name, check)
    lines = capsys.readouterr().out.splitlines()
    return {line.split(": ", 1)[0]: line for line in lines if not line.startswith("  (")}


def definitions(source):
    return {n.name: n for n in ast.parse(source).body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}


def build_solved_tree(folder, mistake=None):
    """The starters with the reference's functions and classes in place of the student parts
    (plus the reference's private helpers); `mistake` = (chapter, old, new) edits one reference
    file's text first."""
    def reference_definitions(number):
        source = chapter_path(REFERENCE, number).read_text(encoding="utf-8")
        if mistake and mistake[0] == number:
            assert source.count(mistake[1]) == 1, mistake
            source = source.replace(mistake[1], mistake[2])
        return definitions(source)

    def exercise_names(number):
        return set(definitions(chapter_path(EXERCISES, number).read_text(encoding="utf-8")))

    build_tree(
        folder,
        replace=lambda number, node: reference_definitions(number).get(node.name),
        extra=lambda number: [node for name, node in reference_definitions(number).items()
                              if name not in exercise_names(number)],
    )
    return folder


@pytest.fixture(scope="module")
def solved_tree(tmp_path_factory):
    return build_solved_tree(tmp_path_factory.mktemp("solved"))


@pytest.fixture(scope="module")
def broken_tree(tmp_path_factory):
    """The starters with every student part reduced to `return None`."""
    folder = tmp_path_factory.mktemp("broken")
    student = {q for _, q, _ in STUDENT_PARTS}

    def hollow(function):
        function.body = [ast.Return(value=ast.Constant(value=None))]
        ast.fix_missing_locations(function)

    def replace(number, node):
        if isinstance(node, ast.FunctionDef) and node.name in student:
            hollow(node)
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and f"{node.name}.{item.name}" in student:
                    hollow(item)
        return None

    build_tree(folder, replace)
    return folder


@pytest.mark.parametrize("number", CHAPTERS)
def test_self_check_passes_a_correct_solution(number, solved_tree, capsys):
    # Chapter 7's training check is judged in test_reference.py on its trained classifier.
    lines = run_checks(solved_tree, number, capsys)
    expected = [name for name, _ in load_chapter(solved_tree, number)._CHECKS if name != "LetterClassifier.train"]
    assert list(lines) == expected
    assert all(line == f"{name}: ok" for name, line in lines.items()), lines


@pytest.mark.parametrize("number", CHAPTERS)
def test_self_check_reports_wrong_answers(number, broken_tree, capsys):
    lines = run_checks(broken_tree, number, capsys, skip=())
    assert len(lines) == len(load_chapter(broken_tree, number)._CHECKS)
    for name, line in lines.items():
        assert not line.startswith(f"{name}: ok") and "not implemented" not in line, line


# Classic mistakes, each planted in an otherwise correct solution: the self-check must flag it.
CLASSIC_MISTAKES = [
    (1, "return sum([x * y for", "return sum([float(x) * y for", ["dot_product"]),
    (1, "columns = transpose(b)", "columns = b", ["matrix_multiply"]),
    (2, "z = max(-500.0, min(500.0, z))", "pass", ["sigmoid"]),
    (2, "return a * (1 - a)", "return sigmoid(a) * (1 - sigmoid(a))", ["sigmoid_derivative"]),
    (2, "return 1 if z > 0 else 0", "return 1 if z >= 0 else 0", ["relu_derivative"]),
    (3, "self.z_values = [dot_product", "self.z_values = self.z_values + [dot_product", ["Layer.forward"]),
    (4, "top = max(logits)", "top = 0", ["softmax"]),
    (4, "max(p, 1e-15)", "p", ["cross_entropy_loss"]),
    (4, " / len(predicted)", "", ["mse_loss"]),
    (5, "for column in zip(*self.weights)]", "for column in self.weights]", ["BackpropLayer.backward"]),
    (5, "zip(output_gradients, self.outputs)", "zip(output_gradients, self.z_values)",
     ["BackpropLayer.backward", "BackpropNetwork.backward"]),
    (5, "grad = [p - t for p, t", "grad = [t - p for p, t", ["BackpropNetwork.backward", "gradient_check"]),
    (6, "row[:] = [w - lr * g", "row[:] = [w + lr * g", ["Trainer.train_step", "Trainer.train"]),
    (6, "layer.biases[:] = [b - lr * g for b, g in zip(layer.biases, layer.bias_gradients)]", "pass",
     ["Trainer.train_step"]),
    (6, "        return loss\n", "        return cross_entropy_loss(softmax(self.network.forward(inputs)), target)\n",
     ["Trainer.train_step"]),
    (6, "return total / len(dataset)", "return total", ["Trainer.train_epoch"]),
    (6, "if verbose and (", "if (", ["Trainer.train"]),
    (7, "vector = [0.0] * 26", "vector = [0] * 26", ["LetterClassifier._make_dataset"]),
    (7, "return self.LETTERS[probs.index(max(probs))]", "return probs.index(max(probs))",
     ["LetterClassifier.predict"]),
    (7, "return self.LETTERS[probs.index(max(probs))]", "return self.LETTERS[probs.index(min(probs))]",
     ["LetterClassifier.predict"]),
    (7, '"confidence": probs[best]', '"confidence": probs[i]', ["LetterClassifier.evaluate"]),
    (7, '"correct": best == i,', '"correct": best == i, "rank": 1,', ["LetterClassifier.evaluate"]),
]


@pytest.mark.parametrize("number, old, new, flagged", CLASSIC_MISTAKES,
                         ids=[f"{m[0]}-{m[3][0]}-{i}" for i, m in enumerate(CLASSIC_MISTAKES)])
def test_self_check_catches_classic_mistakes(number, old, new, flagged, tmp_path, capsys):
    lines = run_checks(build_solved_tree(tmp_path, (number, old, new)), number, capsys)
    for name in flagged:  # (a mistake may also upset checks of the parts that depend on it)
        assert not lines[name].startswith(f"{name}: ok"), lines[name]
