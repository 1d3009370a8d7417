"""Classification metrics agree with scikit-learn (the public reference) on fixed and random data."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from fedflm.train.metrics import (binary_auc, classification_metrics, confusion_matrix,
                                  precision_recall_f1, roc_auc)


def probs_from_scores(scores: np.ndarray) -> np.ndarray:
    """Rows normalised to sum to 1 (scikit-learn's multi-class AUC insists)."""
    scores = np.asarray(scores, dtype=np.float64)
    return scores / scores.sum(axis=1, keepdims=True)


def sklearn_reference(y: np.ndarray, probs: np.ndarray) -> dict[str, float]:
    pred = probs.argmax(axis=1)
    p, r, f1, _ = skm.precision_recall_fscore_support(y, pred, average="macro", zero_division=0)
    if probs.shape[1] == 2:
        auc = skm.roc_auc_score(y, probs[:, 1])
    else:
        auc = skm.roc_auc_score(y, probs, multi_class="ovr", average="macro",
                                labels=np.arange(probs.shape[1]))
    return {"accuracy": skm.accuracy_score(y, pred), "macro_precision": p, "macro_recall": r,
            "macro_f1": f1, "roc_auc": auc}


def test_binary_metrics_match_sklearn_with_tied_scores() -> None:
    # Prepare: many ties among the positive-class scores, across both classes
    y = np.array([0, 1, 1, 0, 1, 0, 0, 1, 1, 0, 1, 1])
    p1 = np.array([0.2, 0.8, 0.5, 0.5, 0.5, 0.1, 0.8, 0.9, 0.2, 0.2, 0.7, 0.5])
    probs = np.stack([1 - p1, p1], axis=1)

    # Execute
    ours = classification_metrics(y, probs)

    # Assert
    ref = sklearn_reference(y, probs)
    assert ours == pytest.approx(ref, abs=1e-12)
    assert binary_auc(y == 1, p1) == pytest.approx(skm.roc_auc_score(y, p1), abs=1e-12)


def test_binary_auc_golden_values() -> None:
    # Prepare: perfect ranking, reversed ranking, and every score tied
    y = np.array([0, 0, 1, 1])

    # Execute
    perfect = binary_auc(y == 1, np.array([0.1, 0.2, 0.8, 0.9]))
    reversed_ = binary_auc(y == 1, np.array([0.9, 0.8, 0.2, 0.1]))
    all_tied = binary_auc(y == 1, np.full(4, 0.5))

    # Assert
    assert (perfect, reversed_, all_tied) == (1.0, 0.0, 0.5)


def test_auc_undefined_for_a_single_class() -> None:
    # Prepare
    y = np.array([1, 1, 1])

    # Execute
    auc = binary_auc(y == 1, np.array([0.2, 0.4, 0.9]))

    # Assert
    assert np.isnan(auc)


def test_multiclass_metrics_match_sklearn() -> None:
    # Prepare: 4 classes, class 3 never predicted (zero-division case), some tied scores
    y = np.array([0, 1, 2, 3, 0, 1, 2, 3, 0, 2, 1, 3, 2, 2])
    scores = np.array([[5, 1, 1, 1], [1, 4, 2, 1], [1, 1, 3, 2], [2, 1, 3, 2], [3, 3, 1, 1],
                       [1, 2, 5, 1], [1, 1, 4, 1], [4, 1, 1, 3], [6, 1, 1, 1], [1, 1, 2, 1],
                       [1, 5, 1, 1], [2, 2, 2, 1], [1, 3, 1, 1], [2, 2, 6, 1]])
    probs = probs_from_scores(scores)

    # Execute
    ours = classification_metrics(y, probs)

    # Assert
    assert ours == pytest.approx(sklearn_reference(y, probs), abs=1e-12)


def test_confusion_matrix_matches_sklearn_including_unused_classes() -> None:
    # Prepare: class 4 appears neither in y_true nor y_pred but must keep its row and column
    y_true = np.array([0, 1, 2, 3, 3, 1, 0, 2])
    y_pred = np.array([0, 2, 2, 3, 1, 1, 0, 0])

    # Execute
    cm = confusion_matrix(y_true, y_pred, num_classes=5)

    # Assert
    assert cm.tolist() == skm.confusion_matrix(y_true, y_pred, labels=range(5)).tolist()
    assert cm.sum() == len(y_true) and cm[4].sum() == 0 and cm[:, 4].sum() == 0


def test_macro_average_runs_over_classes_present_in_true_or_predicted() -> None:
    # Prepare: 5 model classes, labels 0..2 seen, class 2 only predicted
    y_true = np.array([0, 0, 1, 1])
    y_pred = np.array([0, 2, 1, 1])

    # Execute
    p, r, f1 = precision_recall_f1(y_true, y_pred, num_classes=5)

    # Assert
    ref = skm.precision_recall_fscore_support(y_true, y_pred, average="macro", zero_division=0)
    assert (p, r, f1) == pytest.approx(ref[:3], abs=1e-12)


@st.composite
def labelled_probs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """Labels with every class present, and scores drawn from a small set (so ties occur)."""
    k = draw(st.integers(2, 6))
    extra = draw(st.lists(st.integers(0, k - 1), min_size=0, max_size=40))
    perm = draw(st.permutations(list(range(k)) + extra))
    scores = draw(st.lists(st.lists(st.integers(1, 5), min_size=k, max_size=k),
                           min_size=len(perm), max_size=len(perm)))
    return np.array(perm), probs_from_scores(np.array(scores))


@settings(max_examples=150, deadline=None, derandomize=True)
@given(data=labelled_probs())
def test_metrics_agree_with_sklearn_on_random_predictions(data: tuple[np.ndarray, np.ndarray]) -> None:
    # Prepare
    y, probs = data

    # Execute
    ours = classification_metrics(y, probs)
    cm = confusion_matrix(y, probs.argmax(axis=1), probs.shape[1])

    # Assert
    assert ours == pytest.approx(sklearn_reference(y, probs), abs=1e-9)
    assert cm.tolist() == skm.confusion_matrix(y, probs.argmax(axis=1),
                                               labels=range(probs.shape[1])).tolist()


def test_multiclass_auc_skips_classes_absent_from_y_true() -> None:
    # Prepare: class 2 has no true rows; OvR macro over the classes that do
    y = np.array([0, 1, 0, 1, 1])
    probs = probs_from_scores(np.array([[3, 1, 1], [1, 3, 1], [2, 2, 1], [1, 1, 3], [1, 2, 2]]))

    # Execute
    auc = roc_auc(y, probs)

    # Assert
    expected = np.mean([skm.roc_auc_score(y == 0, probs[:, 0]), skm.roc_auc_score(y == 1, probs[:, 1])])
    assert auc == pytest.approx(expected, abs=1e-12)
