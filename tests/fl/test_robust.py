"""issue 21: robust aggregation rules (fedflm.fl.robust) and their records in a round."""

from __future__ import annotations

import numpy as np
import pytest
from flwr.app import ConfigRecord, RecordDict
from flwr.serverapp.strategy.multikrum import select_multikrum
from hypothesis import given, settings
from hypothesis import strategies as st

from fedflm.config import AggConfig
from fedflm.fl.arrays import from_record, to_record
from fedflm.fl.robust import aggregate, krum_scores, multikrum
from fedflm.fl.strategy import build_strategy

HONEST = st.integers(5, 12).flatmap(lambda n: st.tuples(
    st.just(n), st.lists(st.lists(st.floats(-1, 1), min_size=3, max_size=3), min_size=n, max_size=n)))


def _with_outliers(honest: list[list[float]], k: int, size: float, sign: float = 1.0) -> np.ndarray:
    """The first ``k`` clients' updates replaced by outliers ``sign * size`` in every coordinate."""
    x = np.array(honest, dtype=np.float64)
    x[:k] = sign * size
    return x


@settings(max_examples=60, deadline=None)
@given(data=HONEST, beta=st.floats(0.1, 0.45), size=st.floats(2, 1e12), other=st.floats(2, 1e12),
       sign=st.sampled_from([-1.0, 1.0]))
def test_trimmed_mean_ignores_fewer_than_beta_n_outliers_of_any_size(data, beta, size, other, sign) -> None:
    # Prepare: k < beta * n outliers, all on one side (two different sizes)
    n, honest = data
    k = int(np.ceil(beta * n)) - 1

    # Execute
    a = aggregate(f"trimmed:{beta}", _with_outliers(honest, k, size, sign)).update
    b = aggregate(f"trimmed:{beta}", _with_outliers(honest, k, other, sign)).update

    # Assert: the outliers' size does not matter, and the result stays within the honest values
    rest = np.array(honest)[k:]
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    assert np.all(a >= rest.min(axis=0) - 1e-12) and np.all(a <= rest.max(axis=0) + 1e-12)


@settings(max_examples=60, deadline=None)
@given(data=HONEST, size=st.floats(2, 1e12), other=st.floats(2, 1e12), sign=st.sampled_from([-1.0, 1.0]))
def test_median_ignores_a_minority_of_outliers_of_any_size(data, size, other, sign) -> None:
    # Prepare: k < n / 2 outliers
    n, honest = data
    k = (n - 1) // 2

    # Execute
    a = aggregate("median", _with_outliers(honest, k, size, sign)).update
    b = aggregate("median", _with_outliers(honest, k, other, sign)).update

    # Assert
    rest = np.array(honest)[k:]
    np.testing.assert_array_equal(a, b)
    assert np.all(a >= rest.min(axis=0)) and np.all(a <= rest.max(axis=0))


def test_median_and_trimmed_mean_match_numpy_on_fixed_updates() -> None:
    # Prepare
    x = np.array([[1.0, 10.0], [2.0, -5.0], [3.0, 0.0], [100.0, 1.0], [4.0, 2.0]])

    # Execute / Assert: median (3, 1); trimmed 0.2 drops one low and one high per coordinate
    np.testing.assert_array_equal(aggregate("median", x).update, [3.0, 1.0])
    np.testing.assert_allclose(aggregate("trimmed:0.2", x).update, [(2 + 3 + 4) / 3, (0 + 1 + 2) / 3])


def test_norm_clipping_clips_large_updates_and_says_so() -> None:
    # Prepare: norms 5 and 0.5 with C = 1
    x = np.array([[3.0, 4.0], [0.3, 0.4]])

    # Execute
    res = aggregate("norm:1", x)

    # Assert
    np.testing.assert_allclose(res.update, ([0.6, 0.8] + np.array([0.3, 0.4])) / 2)
    assert res.actions == ("clipped", "kept") and res.norms == pytest.approx((5.0, 0.5))


@pytest.mark.parametrize(("f", "m"), [(1, 1), (1, 3), (2, 2)])
def test_krum_selects_the_same_clients_as_flowers_multikrum(f: int, m: int) -> None:
    # Prepare: 7 clients, two far away
    rng = np.random.default_rng(3)
    x = rng.normal(scale=0.1, size=(7, 5))
    x[2] += 50.0
    x[5] -= 30.0
    contents = [RecordDict({"arrays": to_record({"w": row})}) for row in x]

    # Execute
    res = multikrum(x, f, m)
    flower = select_multikrum(contents, num_malicious_nodes=f, num_nodes_to_select=m)

    # Assert
    chosen = [i for i, a in enumerate(res.actions) if a == "kept"]
    assert chosen == sorted(contents.index(c) for c in flower)
    assert res.actions[2] == res.actions[5] == "rejected"
    np.testing.assert_allclose(res.update, x[chosen].mean(axis=0))
    assert krum_scores(x, f).argmin() == chosen[0] or m > 1


class _Nodes:
    def get_node_ids(self) -> list[int]:
        return [1, 2, 3, 4, 5]


def test_a_round_records_which_clients_krum_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    # Prepare: Krum under FedAvg; client 4 sends a huge update
    from flwr.supercore.task_identity import TaskIdentity

    from tests.fl.test_strategies import _reply
    for attr, value in (("_run_id", 1), ("_node_id", 0), ("_task_id", 0)):
        monkeypatch.setattr(TaskIdentity, attr, value)
    strategy = build_strategy(AggConfig(strategy="fedavg", robust="krum:1"), min_train_nodes=5,
                              min_available_nodes=5)
    glob = {"w": np.zeros(3)}
    strategy.configure_train(1, to_record(glob), ConfigRecord({}), _Nodes())
    updates = [np.full(3, 0.1 * i) for i in range(5)]
    updates[3] = np.full(3, 1e6)

    # Execute
    arrays, _ = strategy.aggregate_train(1, [_reply({"w": u}, 10, i + 1) for i, u in enumerate(updates)])

    # Assert: the global model is one honest update; the record names node 4 as rejected
    assert np.all(np.abs(from_record(arrays)["w"]) < 1.0)
    assert 4 in strategy.last_round["robust"]["rejected"] and strategy.last_round["robust"]["rule"] == "krum:1"
    rows = {r["node_id"]: r for r in strategy.last_round["clients"]}
    assert rows[4]["robust"] == "rejected" and rows[4]["update_norm"] == pytest.approx(np.sqrt(3) * 1e6)
