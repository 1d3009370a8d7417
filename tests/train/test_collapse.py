"""A final model that predicts one class for every row is flagged (summary.json and the terminal)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from fedflm.train.metrics import collapse_warning, confusion_matrix


def test_one_predicted_class_is_a_collapse() -> None:
    # Prepare: 30 rows of 3 classes, every prediction "b"
    y_true = np.repeat([0, 1, 2], 10)
    cm = confusion_matrix(y_true, np.ones(30, dtype=int), 3)

    # Execute
    text = collapse_warning(cm, ("a", "b", "c"))

    # Assert
    assert text is not None and text.startswith("collapsed model") and "'b'" in text and "33.3%" in text


def test_two_predicted_classes_are_not_a_collapse() -> None:
    # Prepare
    cm = confusion_matrix(np.array([0, 1, 1, 0]), np.array([0, 1, 1, 1]), 2)

    # Execute / Assert
    assert collapse_warning(cm, ("neg", "pos")) is None


def test_the_server_writes_the_warning_into_the_summary() -> None:
    # Prepare: what the server's evaluator holds after the last round
    from server.app import _collapse
    evaluator = SimpleNamespace(confusion=confusion_matrix(np.array([0, 1, 1]), np.array([1, 1, 1]), 2),
                                label_names=("negative", "positive"))

    # Execute
    warnings = _collapse(evaluator)

    # Assert
    assert len(warnings) == 1 and "'positive'" in warnings[0]
