"""Training budgets: the rule course.yaml gives (seconds, or a multiple of the reference's own
training time on the grading machine), resolved into a CPU-time budget and a wall-clock ceiling,
and what a student is told when the training exceeds them.

CPU time, not wall clock, is what the budget counts: a student's training takes the same CPU
time whether the machine is idle, shared with another grading or held to a tenth of a core,
while its wall-clock time may grow tenfold. The wall-clock ceiling, a multiple of the CPU budget,
only stops code that waits instead of computing (time.sleep, input(), a deadlock). Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The wall-clock ceiling is this many times the CPU budget: enough for a grading held to a tenth of
# one core (a CPU quota, or a machine running ten times more work than it has cores) to use its
# whole CPU budget, yet finite against code that sleeps. A factor of 4 was tried first: with ten
# gradings at once on 2 cores, an endless loop then met the wall clock before its CPU budget.
WALL_FACTOR = 10.0
DEFAULT_FLOOR = 30.0  # seconds of CPU a relative budget never goes below
_MULTIPLE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*[x×]\s*$")
USUAL_CAUSES = ("the usual causes: work repeated in the innermost loops, such as a forward pass "
                "recomputed for every weight or a copy of the weights for every sample, or a loop over "
                "the epochs that does not stop")


@dataclass(frozen=True)
class Relative:
    """A limit given as a multiple of the reference's own time for the same work on this machine."""

    times: float
    floor: float = DEFAULT_FLOOR  # seconds

    def __str__(self) -> str:
        return f"{self.times:g}x (at least {self.floor:g} s)"


@dataclass(frozen=True)
class TrainingBudget:
    """What one training run may use, resolved for this machine."""

    cpu_seconds: float
    wall_seconds: float
    times: float | None = None          # the course's multiple, for a relative rule
    reference_cpu: float | None = None  # the reference's training on this machine, CPU seconds

    @property
    def relative(self) -> bool:
        return self.times is not None


@dataclass(frozen=True)
class Calibration:
    """The reference's training time on this machine, and where the figure comes from."""

    chapter: int
    reference_cpu: float           # CPU seconds of the full training, scaled from the samples
    epochs: int                    # the full training's epochs
    sample_epochs: int
    samples: tuple[float, ...]     # CPU seconds of each timed run
    measured_at: str               # ISO 8601, UTC
    machine: str
    python: str
    tier: str
    key: str                       # sha256 of everything the figure depends on
    reused: bool = False           # read from the cache rather than measured by this grading
    # Without the reference (a student release), its time is estimated from a yardstick: a fixed
    # workload timed here, times the ratio recorded where the reference was timed beside it.
    per_yardstick: float | None = None

    def describe(self) -> str:
        """One line for a scorecard's provenance: how the reference's time was measured."""
        runs = ", ".join(_seconds(s) for s in self.samples)
        when = "measured by this grading" if not self.reused else f"measured {self.measured_at}, reused"
        where = f"{self.machine}, Python {self.python}, {self.tier} sandbox; {when}"
        if self.per_yardstick is not None:
            return (f"the reference's training, estimated at {_seconds(self.reference_cpu)} s of CPU: "
                    f"{self.per_yardstick:.1f}× the yardstick (as measured beside the reference when the release "
                    f"was made), which takes {_seconds(self.reference_cpu / self.per_yardstick)} s here "
                    f"(runs of {runs} s); {where}")
        return (f"the reference's training, {_seconds(self.reference_cpu)} s of CPU: median of "
                f"{len(self.samples)} runs of {self.sample_epochs} epochs ({runs} s) × {self.epochs // self.sample_epochs:g}; "
                f"{where}")


@dataclass(frozen=True)
class TrainingRecord:
    """A graded chapter's training budget and, for a relative one, its calibration."""

    chapter: int
    rule: str                       # as course.yaml gives it: "10x (at least 30 s)" or "150 s"
    budget: TrainingBudget
    calibration: Calibration | None = None


def parse_multiple(text: str) -> float | None:
    """`10x` (or `2.5x`, `10×`) as 10.0; None when `text` is not written that way."""
    match = _MULTIPLE.match(text)
    return float(match.group(1)) if match else None


def resolve_budget(rule: float | Relative, reference_cpu: float | None = None) -> TrainingBudget:
    """The budget a rule grants: plain seconds of CPU, or the course's multiple of the reference's
    CPU time (which a relative rule needs), never below its floor."""
    if isinstance(rule, Relative):
        if reference_cpu is None:
            raise ValueError("a relative training budget needs the reference's time")
        cpu = max(rule.times * reference_cpu, rule.floor)
        return TrainingBudget(cpu, cpu * WALL_FACTOR, rule.times, reference_cpu)
    return TrainingBudget(float(rule), float(rule) * WALL_FACTOR)


def budget_for(rule: float | Relative, calibration: Calibration | None) -> TrainingBudget:
    """The budget of a chapter with this rule, given its calibration (None for plain seconds)."""
    return resolve_budget(rule, calibration.reference_cpu if calibration else None)


def _seconds(value: float) -> str:
    """A time or a ratio as people read it: 0.84, 5.5, 61."""
    if value < 1:
        return f"{value:.2g}"
    return f"{value:.1f}".removesuffix(".0") if value < 10 else f"{value:.0f}"


def describe_budget(record: TrainingRecord) -> str:
    """One line for a scorecard's provenance: what the training may use here, and why."""
    budget = record.budget
    ceiling = f"wall-clock ceiling {_seconds(budget.wall_seconds)} s"
    if budget.relative:
        return (f"{_seconds(budget.cpu_seconds)} s of CPU ({budget.times:g}× the reference's "
                f"{_seconds(budget.reference_cpu)} s on this machine; course.yaml: {record.rule}), {ceiling}")
    return f"{_seconds(budget.cpu_seconds)} s of CPU (course.yaml: {record.rule}), {ceiling}"


def budget_lines(record: TrainingRecord, used: float | None) -> list[tuple[str, str]]:
    """What a scorecard's provenance says about one chapter's training, as (label, text): the
    budget, what the training used, and how the reference was timed."""
    lines = [(f"Chapter {record.chapter} training budget", describe_budget(record))]
    if used is not None:
        share = (f", {_seconds(used / record.budget.reference_cpu)}× the reference's"
                 if record.budget.relative and record.budget.reference_cpu else "")
        stopped = " (stopped there)" if used > record.budget.cpu_seconds else ""
        lines.append((f"Chapter {record.chapter} training used", f"{_seconds(used)} s of CPU{share}{stopped}"))
    if record.calibration is not None:
        lines.append((f"Chapter {record.chapter} calibration", record.calibration.describe()))
    return lines


def over_cpu_message(used: float, budget: TrainingBudget) -> str:
    """The training used more CPU time than its budget."""
    if budget.relative:
        ratio = used / budget.reference_cpu if budget.reference_cpu else float("inf")
        allowed = f"the course allows {budget.times:g}×"
        if budget.cpu_seconds > budget.times * budget.reference_cpu:
            allowed += f" (at least {_seconds(budget.cpu_seconds)} s)"
        said = (f"your training used {_seconds(used)} s of CPU, {_seconds(ratio)}× the reference's "
                f"{_seconds(budget.reference_cpu)} s on this machine; {allowed}")
    else:
        said = f"your training used {_seconds(used)} s of CPU; the course allows {_seconds(budget.cpu_seconds)} s"
    return f"{said}. It was stopped there; {USUAL_CAUSES}."


def over_wall_message(wall: float, used: float, budget: TrainingBudget) -> str:
    """The training ran past the wall-clock ceiling without using its CPU budget: it waited."""
    return (f"your training ran {_seconds(wall)} s of wall clock but used only {_seconds(used)} s of CPU "
            f"(the budget is {_seconds(budget.cpu_seconds)} s): it spent most of that time waiting rather than "
            f"computing (time.sleep, input(), a lock or a thread that never finishes?), unless the machine "
            f"gave it less than 1/{WALL_FACTOR:g} of a core")


# A relative budget not calibrated on this machine (a batch on a cluster) is bounded assuming the
# reference trains in at most this many CPU seconds there.
ASSUMED_REFERENCE_CPU = 30.0


def wall_bound(rule: float | Relative, calibration: Calibration | None) -> float:
    """The longest a training under `rule` can run by the wall clock, for a batch's safety net."""
    if isinstance(rule, Relative) and calibration is None:
        return resolve_budget(rule, ASSUMED_REFERENCE_CPU).wall_seconds
    return budget_for(rule, calibration).wall_seconds


def rule_text(rule: float | Relative) -> str:
    return str(rule) if isinstance(rule, Relative) else f"{rule:g} s"


def training_records(rules: dict[int, float | Relative], trained: dict[int, float | None],
                     calibrations: dict[int, Calibration]) -> tuple[TrainingRecord, ...]:
    """What a scorecard says about training budgets: every calibrated chapter's, and the plain
    budget of every chapter whose tests trained something (`trained`: its CPU seconds, or None)."""
    return tuple(TrainingRecord(n, rule_text(rule), budget_for(rule, calibrations.get(n)), calibrations.get(n))
                 for n, rule in sorted(rules.items()) if n in calibrations or trained.get(n) is not None)
