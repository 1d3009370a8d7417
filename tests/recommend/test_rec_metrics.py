"""Ranking metrics on a fixed toy ranking, against values computed by hand."""

from __future__ import annotations

import math

import pytest

from fedflm.recommend.metrics import auc, evaluate, hit_rate_at_k, ndcg_at_k, popularity_scores, rank_order
from fedflm.recommend.records import EvalCase

# four candidates; the held-out positives are the 2nd and 4th, ranked 2nd and 4th by these scores
SCORES = [0.9, 0.8, 0.7, 0.1]
RELEVANT = [0, 1, 0, 1]


def test_auc_by_hand():
    # pairs (pos, neg): (0.8, 0.9) lost, (0.8, 0.7) won, (0.1, 0.9) lost, (0.1, 0.7) lost -> 1 / 4
    assert auc(SCORES, RELEVANT) == 0.25
    assert auc([1.0, 1.0, 0.0], [1, 0, 0]) == 0.75  # one tie counts one half: (0.5 + 1) / 2
    assert math.isnan(auc([1.0, 2.0], [1, 1]))


def test_hit_rate_and_ndcg_by_hand():
    order = rank_order(SCORES)
    assert order == [0, 1, 2, 3]
    assert hit_rate_at_k(order, RELEVANT, 1) == 0.0 and hit_rate_at_k(order, RELEVANT, 2) == 1.0
    # DCG = 1/log2(3) + 1/log2(5) = 0.630930 + 0.430677; ideal = 1 + 1/log2(3) = 1.630930
    assert ndcg_at_k(order, RELEVANT, 10) == pytest.approx(1.061606 / 1.630930, abs=1e-6)
    assert ndcg_at_k(order, RELEVANT, 2) == pytest.approx(0.630930 / 1.630930, abs=1e-6)
    assert ndcg_at_k([1, 3, 0, 2], RELEVANT, 10) == pytest.approx(1.0)


def test_ties_follow_the_tiebreak_key_then_the_index():
    assert rank_order([1.0, 1.0, 2.0], [0.9, 0.1, 0.5]) == [2, 1, 0]
    assert rank_order([1.0, 1.0, 2.0]) == [2, 0, 1]


def test_evaluate_means_over_users_and_popularity_baseline():
    # Prepare: two users; popularity ranks user a's positive first, user b's last of 12 candidates
    a = EvalCase("a", "h", ("p", "n1"), ("P", "N1"), (1, 0))
    b = EvalCase("b", "h", tuple(f"c{i}" for i in range(12)), tuple("x" * 12), (0,) * 11 + (1,))
    pop = {"p": 5, "n1": 1} | {f"c{i}": 20 - i for i in range(12)}
    # Execute
    m = evaluate([a, b], popularity_scores(pop), k=10)
    # Assert: a: AUC 1, hit 1, NDCG 1; b: AUC 0, positive at rank 12 -> hit 0, NDCG 0
    assert m == {"auc": 0.5, "hit_rate_at_10": 0.5, "ndcg_at_10": 0.5, "users": 2}
