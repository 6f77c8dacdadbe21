"""An independent mutation run: cosmic-ray's operators instead of the self-test's own.

    pip install cosmic-ray        # not a dependency of the grader
    python bench/independent_mutants.py [--jobs N]

`grade selftest --mutants` makes its mutants with grader/mutation/operators.py. To check that the
hidden tests were not merely fitted to those operators, this script makes first-order mutants of
the same student parts with cosmic-ray's operators (arithmetic replaced by each other arithmetic
operator, every comparison by every other, unary operators, `not` added, booleans, numbers +/- 1,
loops that run zero times, break/continue, exceptions), grades them the same way (in their own
chapter, the final chapter's training replayed or skipped first where that is sound) and prints
the survivors with their diffs. Bitwise replacements are left out: on these floats they raise.
"""

from __future__ import annotations

import argparse
import difflib
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.course import load_course  # noqa: E402
from grader.hidden.training import ENTRY_POINTS  # noqa: E402
from grader.selftest.mutants import mutant_outcomes  # noqa: E402
from grader.selftest.execute import grade_all  # noqa: E402
from grader.selftest.mutants import Mutant, mutant_runs, trained_again  # noqa: E402
from grader.mutation.parts import reached_from, span, student_parts  # noqa: E402
from grader.selftest.plan import RECORD, REFERENCE, REPLAY, Run, final_chapter  # noqa: E402

BITWISE = ("RShift", "LShift", "BitOr", "BitAnd", "BitXor")
SIGMOID_BOUND = ("the rubric accepts any overflow-free sigmoid (ok-ch2-sigmoid-two-branches has no clamp): moving "
                 "a bound by one changes sigmoid only below 1e-216 or to exactly 1.0")
ACTIVATION_NAME = ("activation names are compared as strings; for every name the course passes (relu, sigmoid, "
                   "linear) this comparison is true exactly when == is")
# Mutants of this run that behave as the reference on every input the course's API allows, by
# (part, the mutated line): they are reported apart from the survivors.
EQUIVALENT = {
    ("sigmoid", "z = max(- 501.0, min(500.0, z))"): SIGMOID_BOUND,
    ("sigmoid", "z = max(- 499.0, min(500.0, z))"): SIGMOID_BOUND,
    ("sigmoid", "z = max(-500.0, min( 501.0, z))"): SIGMOID_BOUND,
    ("sigmoid", "z = max(-500.0, min( 499.0, z))"): SIGMOID_BOUND,
    ("Layer.forward", 'activate = sigmoid if self.activation >= "sigmoid" else relu'): ACTIVATION_NAME,
    ("BackpropLayer.forward", 'if self.activation >= "sigmoid":'): ACTIVATION_NAME,
    ("BackpropLayer.forward", 'elif self.activation <= "linear":'): ACTIVATION_NAME,
    ("BackpropLayer.backward", 'if self.activation >= "sigmoid":'): ACTIVATION_NAME,
    ("BackpropLayer.backward", 'elif self.activation <= "linear":'): ACTIVATION_NAME,
    ("Trainer.train", "if verbose and (epoch <= 0 or (epoch + 1) % report_every == 0):"):
        "epoch counts from 0, so epoch <= 0 is epoch == 0",
    ("Trainer.train", "if verbose and (epoch == 0 or (epoch + 1) % report_every <= 0):"):
        "a remainder modulo a positive number is never negative, so <= 0 is == 0",
    ("gradient_check", "worst = -1.0"): "every gap is >= 0 and a network has weights, so the maximum is the same",
    ("LetterClassifier.evaluate", '"correct": best is i,'):
        "best and i are ints below 26, which CPython caches: `is` and == agree",
}
RANDOM = ("VariableReplacer", "VariableInserter", "RemoveDecorator")  # random or not applicable


def operators():
    import cosmic_ray.plugins as plugins
    for name in plugins.operator_names():
        if name.startswith("core/") and not any(word in name for word in BITWISE + RANDOM):
            yield name, plugins.get_operator(name)()


def changed_lines(before: str, after: str) -> set[int]:
    lines = set()
    matcher = difflib.SequenceMatcher(a=before.splitlines(), b=after.splitlines(), autojunk=False)
    for tag, i1, i2, _, _ in matcher.get_opcodes():
        if tag != "equal":
            lines.update(range(i1 + 1, max(i2, i1 + 1) + 1))
    return lines


def cosmic_mutants(course) -> tuple[Mutant, ...]:
    from cosmic_ray.mutating import mutate_code
    parts = student_parts(course)
    last = final_chapter(course)
    found, seen = [], set()
    for file in sorted({p.file for p in parts}):
        source = (course.reference / file).read_text(encoding="utf-8")
        spans = {p: span(source, p.name) for p in parts if p.file == file}
        reached = reached_from(source, ENTRY_POINTS)
        for name, operator in operators():
            occurrence = 0
            while (mutant := mutate_code(source, operator, occurrence)) is not None:
                occurrence += 1
                lines = changed_lines(source, mutant)
                owner = [p for p, (first, end) in spans.items() if lines and all(first <= n <= end for n in lines)]
                if not owner or mutant in seen:
                    continue
                seen.add(mutant)
                part = owner[0]
                diff = "".join(difflib.unified_diff(source.splitlines(keepends=True), mutant.splitlines(keepends=True),
                                                    f"reference/{file}", f"mutant/{file}", n=1))
                found.append(Mutant(f"{part.name} {name.removeprefix('core/')} #{occurrence}", part,
                                    name, min(lines), mutant, diff,
                                    part.chapter == last and part.name in reached))
    return tuple(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    try:
        import cosmic_ray  # noqa: F401
    except ImportError:
        sys.exit("independent_mutants.py: cosmic-ray is not installed (pip install cosmic-ray)")
    course = load_course(ROOT / "course.yaml")
    clock = time.monotonic()
    mutants = cosmic_mutants(course)
    made = time.monotonic() - clock
    runs = (Run("reference", REFERENCE, (final_chapter(course),), slow=True, training=RECORD),)
    runs = tuple(sorted(runs + mutant_runs(course, mutants), key=lambda r: (r.training == REPLAY, not r.slow)))
    with tempfile.TemporaryDirectory(prefix="independent-mutants-") as scratch:
        reports = Path(scratch) / "reports"
        graded = grade_all(runs, course, Path(scratch), reports, jobs=args.jobs, sandbox="auto")
        fates = mutant_outcomes([g for g in graded if g.run.mutants], final_chapter(course))
        by_id = {m.id: m for m in mutants}
        again = tuple(trained_again(by_id[i]) for i, (fate, *_) in fates.items() if fate == "kept" and by_id[i].trains)
        fates.update(mutant_outcomes(grade_all(again, course, Path(scratch), reports, jobs=args.jobs, sandbox="auto"),
                                     final_chapter(course)))
    kept = [m for m in mutants if fates[m.id][0] != "killed"]
    equivalent = {m.id: EQUIVALENT[(m.part.name, mutated_line(m))] for m in kept
                  if (m.part.name, mutated_line(m)) in EQUIVALENT}
    for mutant in kept:
        why = equivalent.get(mutant.id)
        print(f"ch{mutant.part.chapter} {mutant.id}: {'equivalent: ' + why if why else fates[mutant.id][0]}")
        print("    " + "\n    ".join(mutant.diff.splitlines()[2:]))
    print(f"\n{len(mutants)} cosmic-ray mutants of {len(student_parts(course))} student parts (made in {made:.1f} s), "
          f"graded in {len(runs) + len(again)} gradings in {time.monotonic() - clock:.1f} s: "
          f"{len(mutants) - len(kept)} killed, {len(equivalent)} equivalent, {len(kept) - len(equivalent)} survived")


def mutated_line(mutant: Mutant) -> str:
    added = [line[1:].strip() for line in mutant.diff.splitlines()[2:] if line.startswith("+")]
    return added[0] if len(added) == 1 else ""


if __name__ == "__main__":
    main()
