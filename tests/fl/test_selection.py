"""Model selection and early stopping (fedflm/fl/selection.py): the selector and the validation split."""

from __future__ import annotations

import numpy as np
import pytest
from datasets import Dataset

from fedflm.config import RunConfig
from fedflm.errors import ConfigError
from fedflm.fl.selection import Selector, selection_text, split_validation


def _run(selector: Selector, values: list[float]) -> int | None:
    """Feed rounds 0, 1, ... until the selector says stop; returns the round it stopped after."""
    for rnd, v in enumerate(values):
        if selector.observe(rnd, v, {"w": np.full(2, float(rnd))}):
            return rnd
    return None


def test_stops_after_patience_rounds_without_improvement_and_keeps_the_best_round() -> None:
    # Prepare
    sel = Selector("macro_f1", patience=2)

    # Execute: best at round 2, then two rounds below it
    stopped = _run(sel, [0.3, 0.5, 0.6, 0.55, 0.6, 0.9])

    # Assert: a tie is not an improvement; the kept state is round 2's (a copy, not a reference)
    assert stopped == 4
    assert sel.best_round == 2 and sel.best_value == 0.6
    assert sel.best_state["w"].tolist() == [2.0, 2.0]


def test_loss_is_selected_lowest_and_patience_zero_never_stops() -> None:
    # Prepare
    sel = Selector("loss", patience=0)

    # Execute
    stopped = _run(sel, [1.0, 0.7, 0.9, 0.8, 0.95])

    # Assert
    assert stopped is None and sel.best_round == 1


def test_nan_never_becomes_the_best() -> None:
    # Prepare
    sel = Selector("macro_f1", patience=1)

    # Execute
    stopped = _run(sel, [0.2, float("nan")])

    # Assert
    assert stopped == 1 and sel.best_round == 0


def test_summary_counts_the_rounds_not_run_and_the_epsilon_spent() -> None:
    # Prepare
    sel = Selector("macro_f1", patience=1)
    _run(sel, [0.2, 0.4, 0.3])
    rows = [{"round": 0}, {"round": 1, "epsilon_max": 2.5}, {"round": 2, "epsilon_max": 3.5}]

    # Execute
    out = sel.summary(rows, rounds_planned=10, stopped_early=True)

    # Assert
    assert out["best_round"] == 1 and out["rounds_run"] == 2 and out["rounds_not_run"] == 8
    assert out["epsilon_spent_max"] == 3.5 and out["metric"] == "val_macro_f1"


def test_validation_split_is_stratified_and_disjoint_from_the_test_split() -> None:
    # Prepare
    ds = Dataset.from_dict({"text": [f"row {i}" for i in range(200)], "label": [i % 4 for i in range(200)]})

    # Execute
    test, val = split_validation(ds, 0.25, seed=0)

    # Assert
    assert len(val) == 50 and len(test) == 150
    assert not set(val["text"]) & set(test["text"])
    assert sorted(np.bincount(val["label"]).tolist()) == [12, 12, 13, 13]
    assert sorted(zip(test["text"], test["label"])) == sorted((t, int(t.split()[1]) % 4) for t in test["text"])


def test_no_validation_split_by_default() -> None:
    # Prepare
    ds = Dataset.from_dict({"text": ["a", "b"], "label": [0, 1]})

    # Execute / Assert
    assert split_validation(ds, 0.0, seed=0) == (ds, None)
    assert selection_text(RunConfig()) is None


def test_patience_needs_a_validation_split_and_a_known_metric() -> None:
    # Execute / Assert
    with pytest.raises(ConfigError, match="patience 3 needs a validation split"):
        RunConfig.from_flat({"patience": 3})
    with pytest.raises(ConfigError, match="'auc'"):
        RunConfig.from_flat({"select_metric": "auc"})
    text = selection_text(RunConfig.from_flat({"patience": 3, "val_fraction": 0.5, "dp": "sample"}))
    assert "stop after 3 rounds" in text and "spend nothing" in text
