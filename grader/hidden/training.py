"""The final chapter's one training run, and the self-test's three stand-ins for it.

Grading chapter 7 trains the student's classifier for 500 epochs (about eight seconds). The
self-test grades dozens of variants of the reference; when a variant provably trains exactly as
the reference does, training it again only costs time. GRADE_SELFTEST_TRAINING (set only by
`grade selftest`, in the judge's environment, which student code never sees) chooses:

    record:PATH   train for real and write the trained parameters and losses to PATH
    replay:PATH   build the classifier, then load PATH's parameters instead of training
    skip          do not train: the criteria that need the trained classifier are skipped

The self-test replays only for a change outside ENTRY_POINTS and everything they call (see
grader/mutation/parts.py), so the trained state is the same as training would give; it skips
only in a first pass whose verdict stands if another criterion already lost points.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from grader.scorecard import write_atomically

TRAINING_ENV = "GRADE_SELFTEST_TRAINING"
EPOCHS = 500
# What the training below calls in the student's chapter: the constructor and train.
ENTRY_POINTS = ("LetterClassifier.__init__", "LetterClassifier.train")


def pull_network(network) -> list[tuple[Any, Any, Any]]:
    """The student's network as data: [(weights, biases, activation), ...]."""
    return [(layer.weights, layer.biases, layer.activation) for layer in network.layers]


def train_classifier(student, worker, train):
    """(classifier, losses): the student's LetterClassifier() trained once with the defaults by
    `train(student, worker)` (on the chapter's training budget), or a stand-in for that when the
    self-test asks for one."""
    mode, _, path = os.environ.get(TRAINING_ENV, "").partition(":")
    if mode == "skip":
        pytest.skip("not trained in the self-test's first pass")
    if mode == "replay":
        classifier = student.LetterClassifier()
        recorded = json.loads(Path(path).read_text(encoding="utf-8"))
        for layer, (weights, biases, _activation) in zip(classifier.network.layers, recorded["parameters"]):
            layer.weights = weights
            layer.biases = biases
        return classifier, recorded["losses"]
    classifier, losses = train(student, worker)
    if mode == "record":
        write_atomically(Path(path), json.dumps({"parameters": pull_network(classifier.network),
                                                 "losses": losses}))
    return classifier, losses
