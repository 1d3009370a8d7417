"""issue 21: the prototype round under a robust rule (fedflm.fl.robust_proto and its use by the strategy)."""

from __future__ import annotations

import numpy as np
import pytest
from flwr.app import ConfigRecord

from fedflm.config import AggConfig
from fedflm.fl.arrays import from_record, to_record
from fedflm.fl.robust_proto import screen_prototypes
from fedflm.fl.strategy import build_strategy
from tests.fl.test_strategies import _reply

CLASSES, HIDDEN, OWNERS = 6, 16, 10


def _owner_sums(seed: int) -> np.ndarray:
    """``[owners, classes, hidden]`` noisy class sums of label-skewed owners (Dirichlet 0.3), their
    sentence vectors unit vectors sharing one common direction, as an encoder's do."""
    rng = np.random.default_rng(seed)
    common = rng.normal(size=HIDDEN)
    centres = 0.6 * common / np.linalg.norm(common) + 0.8 * rng.normal(size=(CLASSES, HIDDEN)) / np.sqrt(HIDDEN)
    out = np.zeros((OWNERS, CLASSES, HIDDEN))
    for i in range(OWNERS):
        counts = rng.multinomial(rng.integers(50, 150), rng.dirichlet(np.full(CLASSES, 0.3)))
        for c, n in enumerate(counts):
            x = centres[c] + 0.3 * rng.normal(size=(n, HIDDEN))
            out[i, c] = (x / np.linalg.norm(x, axis=1, keepdims=True)).sum(axis=0)
    return out + 0.8 * rng.normal(size=out.shape)  # the DP noise (sigma 0.8, as at eps 8 x 0.8)


def _cos_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("flipped", [1, 2, 4])
def test_fewer_than_half_sign_flipped_owners_are_rejected_and_change_nothing(seed: int, flipped: int) -> None:
    # Prepare: the first owners send their sums negated (what --attack signflip sends in round 1)
    honest = _owner_sums(seed)
    sent = honest.copy()
    sent[:flipped] *= -1.0
    alone = screen_prototypes(honest[flipped:])

    # Execute
    screen = screen_prototypes(sent)

    # Assert: exactly the flipped owners are rejected, and the aggregate is the honest owners' alone
    assert screen.actions[:flipped] == ("rejected",) * flipped
    assert "rejected" not in screen.actions[flipped:]
    np.testing.assert_allclose(screen.combine(sent), alone.combine(honest[flipped:]), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_scaled_owners_are_clipped_to_a_bound_that_does_not_grow_with_the_scale(seed: int) -> None:
    # Prepare: 2 of 10 owners scale their sums by K (--attack scale:K)
    honest = _owner_sums(seed)

    def sent(k: float) -> np.ndarray:
        out = honest.copy()
        out[:2] *= k
        return out

    # Execute
    screens = {k: screen_prototypes(sent(k)) for k in (10.0, 1e6, 1e12)}
    plain = sent(10.0).mean(axis=0)

    # Assert: the scaled owners are clipped; past some K the aggregate no longer moves with K; its class
    # directions stay those of the unscaled federation, where the plain mean's do not
    assert all(s.actions[:2] == ("clipped", "clipped") for s in screens.values())
    np.testing.assert_allclose(screens[1e6].combine(sent(1e6)), screens[1e12].combine(sent(1e12)), rtol=1e-9)
    truth = honest.mean(axis=0)
    worst = min(_cos_rows(screen.combine(sent(k)), truth).min() for k, screen in screens.items())
    assert worst > 0.95  # seeds 0-7: 0.986 .. 1.000
    assert _cos_rows(plain, truth).min() < worst  # the plain mean at K = 10, seeds 0-7: 0.613 .. 0.975


def test_without_attackers_only_the_owners_above_the_median_score_are_clipped() -> None:
    # Prepare
    sums = _owner_sums(11)

    # Execute
    screen = screen_prototypes(sums)

    # Assert: nobody rejected; the clipped ones are those scoring above the median, scaled down to it
    assert "rejected" not in screen.actions
    above = screen.scores > np.median(screen.scores)
    assert [a == "clipped" for a in screen.actions] == above.tolist()
    np.testing.assert_allclose(screen.factors[above] * screen.scores[above], np.median(screen.scores))


def test_no_common_direction_keeps_everyone_and_a_bad_shape_is_refused() -> None:
    # Prepare: two owners exactly opposite (no common direction to tell by)
    one = np.random.default_rng(3).normal(size=(1, CLASSES, HIDDEN))

    # Execute
    screen = screen_prototypes(np.concatenate([one, -one]))

    # Assert
    assert screen.actions == ("kept", "kept")
    with pytest.raises(ValueError, match="owners, classes, hidden"):
        screen_prototypes(np.zeros((3, HIDDEN)))


class _Nodes:
    def get_node_ids(self) -> list[int]:
        return list(range(1, OWNERS + 1))


def _prototype_round(robust: str, sent: np.ndarray, weights: list[int]):
    strategy = build_strategy(AggConfig(strategy="fedavg", robust=robust), min_train_nodes=OWNERS,
                              min_available_nodes=OWNERS, weighted_by_key="num-examples")
    strategy.post_aggregate = lambda r, arrays: arrays
    strategy.prototype_key = "head"
    start = {"head": np.zeros((CLASSES, HIDDEN)), "bias": np.zeros(CLASSES)}
    strategy.configure_train(1, to_record(start), ConfigRecord({}), _Nodes())
    bias = np.random.default_rng(5).normal(size=(OWNERS, CLASSES))
    replies = [_reply({"head": s, "bias": b}, n, i + 1) for i, (s, b, n) in enumerate(zip(sent, bias, weights))]
    arrays, _ = strategy.aggregate_train(1, replies)
    return strategy, from_record(arrays), bias


def test_a_robust_prototype_round_screens_owners_and_records_it_the_default_round_is_the_mean(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Prepare: owners 1 and 2 sign-flip their sums; example counts as FedAvg's weights
    from flwr.supercore.task_identity import TaskIdentity
    for attr, value in (("_run_id", 1), ("_node_id", 0), ("_task_id", 0)):
        monkeypatch.setattr(TaskIdentity, attr, value)  # set by Flower in a ServerApp process
    honest = _owner_sums(0)
    sent = honest.copy()
    sent[:2] *= -1.0
    weights = list(range(10, 10 + OWNERS))
    w = np.array(weights, dtype=np.float64)

    # Execute
    robust, screened, bias = _prototype_round("trimmed:0.2", sent, weights)
    plain, mean, _ = _prototype_round("none", sent, weights)

    # Assert: under a rule, the two flipped owners are rejected and recorded; the head is the screen's
    # weighted mean of the rest, every other tensor FedAvg's mean of the kept owners. No rule: the mean
    want = screen_prototypes(honest[2:]).combine(honest[2:], w[2:])
    np.testing.assert_allclose(screened["head"], want, rtol=1e-6)
    np.testing.assert_allclose(screened["bias"], (w[2:, None] * bias[2:]).sum(0) / w[2:].sum(), rtol=1e-6)
    record = robust.last_round["robust"]
    assert record["rule"] == "prototype-screen (--robust trimmed:0.2)" and record["rejected"] == [1, 2]
    assert {r["node_id"]: r["robust"] for r in robust.last_round["clients"]}[1] == "rejected"
    np.testing.assert_allclose(mean["head"], (w[:, None, None] * sent).sum(0) / w.sum(), rtol=1e-6)
    assert "robust" not in plain.last_round


def test_owners_the_screen_rejected_stay_rejected_in_later_rounds(monkeypatch: pytest.MonkeyPatch) -> None:
    # Prepare: round 1 rejects owners 1 and 2 (sign-flipped sums); in round 2 everyone sends an update
    from flwr.supercore.task_identity import TaskIdentity
    for attr, value in (("_run_id", 1), ("_node_id", 0), ("_task_id", 0)):
        monkeypatch.setattr(TaskIdentity, attr, value)
    sent = _owner_sums(1)
    sent[:2] *= -1.0
    strategy, head, _ = _prototype_round("trimmed:0.2", sent, [10] * OWNERS)
    updates = np.random.default_rng(9).normal(size=(OWNERS, CLASSES * HIDDEN + CLASSES))
    state = {"head": head["head"], "bias": head["bias"]}
    strategy.configure_train(2, to_record(state), ConfigRecord({}), _Nodes())
    replies = [_reply({"head": state["head"] + u[:-CLASSES].reshape(CLASSES, HIDDEN),
                       "bias": state["bias"] + u[-CLASSES:]}, 10, i + 1) for i, u in enumerate(updates)]

    # Execute
    arrays, _ = strategy.aggregate_train(2, replies)

    # Assert: owners 1 and 2 are rejected again and recorded; the rule (trimmed mean) ran on the other 8
    from fedflm.fl.robust import trimmed_mean
    want = trimmed_mean(updates[2:], 0.2).update
    got = from_record(arrays)
    np.testing.assert_allclose(np.concatenate([(got["head"] - state["head"]).ravel(), got["bias"] - state["bias"]]),
                               want, rtol=1e-5, atol=1e-6)
    record = strategy.last_round["robust"]
    assert record["rule"] == "trimmed:0.2" and record["rejected"] == [1, 2]
