"""Classification metrics in numpy (checked against scikit-learn in the tests).

Macro averages run over the classes present in ``y_true`` or ``y_pred`` (as
scikit-learn does by default); a class with no predicted or no true rows
counts 0 for the undefined ratio (scikit-learn's ``zero_division=0``).
"""

from __future__ import annotations

import numpy as np


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """Rows: true class, columns: predicted class."""
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)), 1)
    return cm


def _safe_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.divide(a, b, out=np.zeros_like(a, dtype=np.float64), where=b > 0)


def precision_recall_f1(y_true: np.ndarray, y_pred: np.ndarray,
                        num_classes: int) -> tuple[float, float, float]:
    """Macro precision, recall and F1."""
    cm = confusion_matrix(y_true, y_pred, num_classes)
    tp = np.diag(cm).astype(np.float64)
    pred_n, true_n = cm.sum(axis=0).astype(np.float64), cm.sum(axis=1).astype(np.float64)
    present = (pred_n + true_n) > 0
    prec, rec = _safe_div(tp, pred_n), _safe_div(tp, true_n)
    f1 = _safe_div(2 * prec * rec, prec + rec)
    return float(prec[present].mean()), float(rec[present].mean()), float(f1[present].mean())


def binary_auc(y_true: np.ndarray, score: np.ndarray) -> float:
    """ROC-AUC via the Mann-Whitney U statistic (ties get average ranks)."""
    y_true = np.asarray(y_true, dtype=bool)
    n_pos, n_neg = int(y_true.sum()), int((~y_true).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(score, kind="mergesort")
    s = np.asarray(score)[order]
    ranks = np.empty(len(s), dtype=np.float64)
    i = 0
    while i < len(s):  # average ranks over runs of tied scores
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        ranks[i : j + 1] = (i + j) / 2.0 + 1.0
        i = j + 1
    r = np.empty_like(ranks)
    r[order] = ranks
    return float((r[y_true].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def roc_auc(y_true: np.ndarray, probs: np.ndarray) -> float:
    """Binary AUC on the positive class; multi-class: one-vs-rest macro over classes in y_true."""
    y_true = np.asarray(y_true)
    if probs.shape[1] == 2:
        return binary_auc(y_true == 1, probs[:, 1])
    aucs = [binary_auc(y_true == k, probs[:, k]) for k in np.unique(y_true)]
    aucs = [a for a in aucs if not np.isnan(a)]
    return float(np.mean(aucs)) if aucs else float("nan")


def classification_metrics(y_true: np.ndarray, probs: np.ndarray) -> dict[str, float]:
    """accuracy, macro_precision, macro_recall, macro_f1, roc_auc from class probabilities."""
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = probs.argmax(axis=1)
    p, r, f1 = precision_recall_f1(y_true, y_pred, probs.shape[1])
    return {"accuracy": float((y_pred == y_true).mean()), "macro_precision": p,
            "macro_recall": r, "macro_f1": f1, "roc_auc": roc_auc(y_true, probs)}


def collapse_warning(confusion: np.ndarray, label_names: tuple[str, ...] | list[str]) -> str | None:
    """A warning when the model predicts one class for every evaluation row (None otherwise).

    A collapsed model can still score the majority share in accuracy; the warning makes
    sure nobody reads that figure as learning."""
    cm = np.asarray(confusion)
    if cm.size == 0 or cm.sum() == 0:
        return None
    predicted = np.flatnonzero(cm.sum(axis=0))
    if len(predicted) != 1:
        return None
    k = int(predicted[0])
    name = label_names[k] if k < len(label_names) else str(k)
    share = cm[:, k].sum() and cm[k, k] / cm[:, k].sum()
    return (f"collapsed model: the final model predicts the single class {name!r} for all {int(cm.sum())} "
            f"evaluation rows (accuracy {share:.1%} = that class's share); it has not learnt to tell "
            "the classes apart: try --train head, more rounds or a larger --epsilon")
