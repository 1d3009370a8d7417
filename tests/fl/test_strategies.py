"""issue 21: each --strategy's aggregate against a direct numpy computation on fixed updates."""

from __future__ import annotations

import numpy as np
import pytest
from flwr.app import ArrayRecord, ConfigRecord, Message, Metadata, MetricRecord, RecordDict

from fedflm.config import AggConfig
from fedflm.fl.arrays import from_record, to_record
from fedflm.fl.strategy import DEFAULT_ETA, DEFAULT_MOMENTUM, build_strategy

RNG = np.random.default_rng(7)
GLOBAL = {"a": RNG.normal(size=(3, 2)), "b": RNG.normal(size=4)}
#: per round, three clients' adapters (global + a fixed update) and their example counts
UPDATES = [[{k: RNG.normal(scale=0.1, size=v.shape) for k, v in GLOBAL.items()} for _ in range(3)]
           for _ in range(3)]
WEIGHTS = [10, 30, 60]


class _Nodes:
    def get_node_ids(self) -> list[int]:
        return [1, 2, 3]


@pytest.fixture(autouse=True)
def _server_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    from flwr.supercore.task_identity import TaskIdentity

    monkeypatch.setattr(TaskIdentity, "_run_id", 1)  # set by Flower in a ServerApp process
    monkeypatch.setattr(TaskIdentity, "_node_id", 0)
    monkeypatch.setattr(TaskIdentity, "_task_id", 0)


def _reply(state: dict[str, np.ndarray], n: int, src: int) -> Message:
    meta = Metadata(run_id=1, message_id=f"r{src}", src_node_id=src, dst_node_id=0, reply_to_message_id=f"m{src}",
                    group_id="1", created_at=0.0, ttl=60.0, message_type="train")
    content = RecordDict({"arrays": to_record(state), "metrics": MetricRecord({"num-examples": n})})
    return Message(content, metadata=meta)


def _run(strategy_text: str, rounds: int = 3) -> list[dict[str, np.ndarray]]:
    """The strategy's global adapter after each round, clients sending global + UPDATES[round]."""
    strategy = build_strategy(AggConfig(strategy=strategy_text), min_train_nodes=3, min_available_nodes=3)
    current, out = {k: v.copy() for k, v in GLOBAL.items()}, []
    for r in range(rounds):
        strategy.configure_train(r + 1, to_record(current), ConfigRecord({}), _Nodes())
        replies = [_reply({k: current[k] + u[k] for k in u}, n, i + 1)
                   for i, (u, n) in enumerate(zip(UPDATES[r], WEIGHTS))]
        arrays, _ = strategy.aggregate_train(r + 1, replies)
        current = from_record(arrays)
        out.append(current)
    return out


def _mean_update(r: int) -> dict[str, np.ndarray]:
    w = np.array(WEIGHTS, dtype=np.float64) / sum(WEIGHTS)
    return {k: sum(wi * u[k] for wi, u in zip(w, UPDATES[r])) for k in GLOBAL}


def _assert_close(got: list[dict[str, np.ndarray]], want: list[dict[str, np.ndarray]]) -> None:
    for g, w in zip(got, want):
        for k in GLOBAL:
            np.testing.assert_allclose(g[k], w[k], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("text", ["fedavg", "fedprox:0.1"])
def test_fedavg_and_fedprox_servers_take_the_weighted_mean(text: str) -> None:
    # Prepare: x_{t+1} = x_t + sum_i n_i/n * delta_i (FedProx's mu acts at the clients only)
    want, x = [], dict(GLOBAL)
    for r in range(3):
        x = {k: x[k] + _mean_update(r)[k] for k in x}
        want.append(x)

    # Execute
    got = _run(text)

    # Assert
    _assert_close(got, want)


def test_fedavgm_is_sgd_with_momentum_on_the_mean_update() -> None:
    # Prepare: pseudo-gradient g = -mean update; v = m*v + g (v_1 = g_1); x -= 1.0 * v
    want, x, v = [], dict(GLOBAL), None
    for r in range(3):
        g = {k: -_mean_update(r)[k] for k in x}
        v = g if v is None else {k: 0.5 * v[k] + g[k] for k in x}
        x = {k: x[k] - v[k] for k in x}
        want.append(x)

    # Execute
    got = _run("fedavgm:0.5")

    # Assert
    _assert_close(got, want)
    assert DEFAULT_MOMENTUM == 0.9 and AggConfig(strategy="fedavgm").strategy == "fedavgm"


def _adaptive(kind: str, eta: float, b1: float = 0.9, b2: float = 0.99, tau: float = 1e-3):
    """Reddi et al. 2021, Algorithm 2, written out, with Flower's choices: bias-corrected eta for
    FedAdam only, no momentum (beta_1 = 0) for FedAdagrad."""
    b1 = 0.0 if kind == "fedadagrad" else b1
    want, x, m, v = [], dict(GLOBAL), None, None
    for r in range(3):
        d = _mean_update(r)
        m = {k: (b1 * (m[k] if m else 0) + (1 - b1) * d[k]) for k in x}
        d2 = {k: d[k] ** 2 for k in x}
        if kind == "fedadagrad":
            v = {k: (v[k] if v else 0) + d2[k] for k in x}
            step = eta
        elif kind == "fedadam":
            v = {k: b2 * (v[k] if v else 0) + (1 - b2) * d2[k] for k in x}
            step = eta * np.sqrt(1 - b2 ** (r + 2)) / (1 - b1 ** (r + 2))
        else:  # fedyogi
            v = {k: (v[k] if v else 0) - (1 - b2) * d2[k] * np.sign((v[k] if v else 0) - d2[k]) for k in x}
            step = eta
        x = {k: x[k] + step * m[k] / (np.sqrt(v[k]) + tau) for k in x}
        want.append(x)
    return want


@pytest.mark.parametrize("kind", ["fedadam", "fedyogi", "fedadagrad"])
def test_server_optimizers_follow_reddi_et_al(kind: str) -> None:
    # Prepare
    want = _adaptive(kind, 0.05)

    # Execute
    got = _run(f"{kind}:0.05")

    # Assert
    _assert_close(got, want)


def test_server_optimizers_default_eta() -> None:
    # Prepare / Execute
    got = _run("fedadam", rounds=1)

    # Assert
    _assert_close(got, _adaptive("fedadam", DEFAULT_ETA)[:1])


def test_record_of_a_round_is_kept_for_every_strategy() -> None:
    # Prepare
    strategy = build_strategy(AggConfig(strategy="fedyogi"), min_train_nodes=3, min_available_nodes=3)
    strategy.configure_train(1, to_record(GLOBAL), ConfigRecord({}), _Nodes())

    # Execute
    strategy.aggregate_train(1, [_reply({k: GLOBAL[k] + u[k] for k in u}, n, i + 1)
                                 for i, (u, n) in enumerate(zip(UPDATES[0], WEIGHTS))])

    # Assert
    assert strategy.last_round["clients_ok"] == 3 and len(strategy.last_round["clients"]) == 3
    assert type(strategy).__name__ == "RecordingFedYogi"


@pytest.mark.parametrize("text", ["fedadam:0.1", "fedavgm:0.9"])
def test_a_prototype_round_is_the_plain_mean_and_the_next_round_starts_from_its_head(text: str) -> None:
    # Prepare: round 1 replies are class sums (issue 15's prototype round): the server must take their
    # mean and post-process it, never step a server optimizer on them
    strategy = build_strategy(AggConfig(strategy=text), min_train_nodes=3, min_available_nodes=3)
    strategy.post_aggregate = lambda r, arrays: to_record({k: 2.0 * v for k, v in from_record(arrays).items()}) \
        if r == 1 else arrays
    current = {k: v.copy() for k, v in GLOBAL.items()}
    strategy.configure_train(1, to_record(current), ConfigRecord({}), _Nodes())
    replies = [_reply({k: current[k] + u[k] for k in u}, n, i + 1) for i, (u, n) in enumerate(zip(UPDATES[0], WEIGHTS))]

    # Execute
    arrays, _ = strategy.aggregate_train(1, replies)
    head = from_record(arrays)
    strategy.configure_train(2, arrays, ConfigRecord({}), _Nodes())
    same = [_reply(head, n, i + 1) for i, n in enumerate(WEIGHTS)]  # clients that did not move
    after, _ = strategy.aggregate_train(2, same)
    strategy.configure_train(3, after, ConfigRecord({}), _Nodes())
    third, _ = strategy.aggregate_train(3, [_reply(head, n, i + 1) for i, n in enumerate(WEIGHTS)])

    # Assert: round 1 = 2 x the weighted mean; rounds 2 and 3 with no client movement keep that head
    # (a server optimizer stepping from its own pre-prototype state would move it, and FedAvgM's
    # momentum would carry the prototype jump into round 3)
    want = {k: 2.0 * (GLOBAL[k] + _mean_update(0)[k]) for k in GLOBAL}
    _assert_close([head], [want])
    _assert_close([from_record(after)], [want])
    _assert_close([from_record(third)], [want])
