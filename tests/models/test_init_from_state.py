"""--init-from: head rows follow the label names; new labels only when asked; shapes must match."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, strategies as st

from fedflm.errors import ModelError
from fedflm.models.init_from import PriorRun, continued_state, label_rows

W, B, A = "base_model.model.classifier.weight", "base_model.model.classifier.bias", "x.lora_A.weight"


def _prior(labels: tuple[str, ...], hidden: int = 4) -> PriorRun:
    k = len(labels)
    state = {W: np.arange(k * hidden, dtype=np.float32).reshape(k, hidden) + 1, B: np.arange(k, dtype=np.float32) + 1,
             A: np.full((2, hidden), 7.0, dtype=np.float32)}
    return PriorRun(Path("earlier"), labels, "m", state)


def _current(k: int, hidden: int = 4) -> dict[str, np.ndarray]:
    return {W: np.zeros((k, hidden), np.float32), B: np.zeros(k, np.float32), A: np.zeros((2, hidden), np.float32)}


def test_same_labels_in_another_order_keep_each_labels_row() -> None:
    # Prepare
    prior = _prior(("neg", "pos", "neutral"))

    # Execute
    state = continued_state(prior, _current(3), ("neutral", "neg", "pos"))

    # Assert
    np.testing.assert_array_equal(state[W], prior.state[W][[2, 0, 1]])
    np.testing.assert_array_equal(state[B], [3, 1, 2])
    np.testing.assert_array_equal(state[A], prior.state[A])


def test_a_new_label_is_refused_without_the_flag() -> None:
    # Execute / Assert
    with pytest.raises(ModelError, match=r"labels the earlier model does not know: \['refund'\].*--allow-new-labels"):
        continued_state(_prior(("card", "loan")), _current(3), ("card", "loan", "refund"))


def test_allow_new_labels_adds_zero_rows_and_keeps_the_old_ones() -> None:
    # Prepare
    prior = _prior(("card", "loan"))

    # Execute
    state = continued_state(prior, _current(3), ("card", "loan", "refund"), allow_new_labels=True)

    # Assert
    np.testing.assert_array_equal(state[W][:2], prior.state[W])
    assert not state[W][2].any() and state[B][2] == 0


def test_a_dropped_label_is_refused_even_with_the_flag() -> None:
    # Execute / Assert
    with pytest.raises(ModelError, match=r"labels \['loan'\] are not in this run's data"):
        continued_state(_prior(("card", "loan")), _current(1), ("card",), allow_new_labels=True)


def test_another_base_model_or_rank_is_refused() -> None:
    # Prepare
    cur = _current(2)
    cur[A] = np.zeros((4, 4), np.float32)

    # Execute / Assert
    with pytest.raises(ModelError, match="fine-tuned model 'm', this run uses 'other'"):
        continued_state(_prior(("a", "b")), _current(2), ("a", "b"), base_model="other")
    with pytest.raises(ModelError, match="same --lora-r"):
        continued_state(_prior(("a", "b")), cur, ("a", "b"))


@given(st.permutations(["a", "b", "c", "d", "e"]))
def test_every_label_keeps_its_own_row(order: list[str]) -> None:
    # Prepare
    prior_labels = ("a", "b", "c", "d", "e")

    # Execute
    rows = label_rows(prior_labels, tuple(order), allow_new_labels=False)

    # Assert
    assert [prior_labels[r] for r in rows] == order
