"""issue 21: --secagg. Flower's SecAgg+ workflow (server) and mod (owners), wired through fedflm's strategy and
mod, on fixed adapter-shaped updates: the unmasked aggregate equals the plain FedAvg mean within the
quantisation error, with and without an owner dropping out; what the server sees of each owner."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest
from flwr.app import ConfigRecord, Context, Error, Message, MetricRecord, RecordDict
from flwr.common.secure_aggregation.secaggplus_constants import RECORD_KEY_CONFIGS, Key

from fedflm.bench.local_grid import LocalGrid
from fedflm.config import RunConfig
from fedflm.fl.arrays import from_record, to_record
from fedflm.fl.secagg import SecAggFedAvg, SecAggHalted, quantisation_range
from fedflm.fl.secagg_client import is_masked, secagg_mod
from fedflm.owner.refusal import Refusal

@pytest.fixture(autouse=True)
def _server_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    from flwr.supercore.task_identity import TaskIdentity
    monkeypatch.setattr(TaskIdentity, "_run_id", 7)  # set by Flower in a ServerApp process
    monkeypatch.setattr(TaskIdentity, "_node_id", 0)
    monkeypatch.setattr(TaskIdentity, "_task_id", 0)


SHAPES = {"lora_A": (8, 32), "lora_B": (32, 8), "head.weight": (4, 32), "head.bias": (4,)}


def _owner(delta: dict[str, np.ndarray], pid: int, refuse: bool = False) -> Callable[[Message, Context], Message]:
    """An owner's ClientApp behind fedflm's SecAgg+ mod: global + a fixed change (or a typed refusal)."""
    def train(msg: Message, ctx: Context) -> Message:
        assert is_masked()
        if refuse:
            return Message(Error(code=int(Refusal.BUDGET), reason="budget: refused"), reply_to=msg)
        state = {k: v + delta[k].astype(v.dtype) for k, v in from_record(msg.content["arrays"]).items()}
        metrics = MetricRecord({"dp-unit-weight": 1, "partition-id": pid, "epsilon": 1.23})
        return Message(RecordDict({"arrays": to_record(state), "metrics": metrics}), reply_to=msg)
    return lambda msg, ctx: secagg_mod(msg, ctx, train)


def _updates(n: int, scale: float, seed: int = 0) -> list[dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [{k: (rng.standard_normal(s) * scale).astype(np.float32) for k, s in SHAPES.items()} for _ in range(n)]


def _run(apps: dict[int, Any], cfg: RunConfig, initial: dict[str, np.ndarray], rounds: int = 1):
    grid = LocalGrid(apps)
    strategy = SecAggFedAvg(cfg, fraction_train=1.0, min_train_nodes=3, min_available_nodes=3)
    result = strategy.start(grid, to_record(initial), num_rounds=rounds, train_config=ConfigRecord({"seed": 1}))
    return from_record(result.arrays), strategy, grid


def _cfg(clients: int, **agg: Any) -> RunConfig:
    return RunConfig.from_flat({"clients": clients, "secagg": True, "dp": "sample", **agg})


@pytest.mark.parametrize("scale", [1e-1, 1e-4])  # head-sized and LoRA-B-sized changes per round
def test_secure_aggregate_equals_the_plain_mean_within_the_quantisation_error(scale: float) -> None:
    # Prepare
    n, cfg = 5, _cfg(5)
    initial = _updates(1, 0.05, seed=9)[0]
    updates = _updates(n, scale)
    apps = {100 + i: _owner(u, i) for i, u in enumerate(updates)}
    step = 2 * cfg.agg.secagg_clip / quantisation_range(n)

    # Execute
    agg, strategy, _ = _run(apps, cfg, initial)

    # Assert: the plain FedAvg mean (uniform weights under DP), within one quantisation step per coordinate
    for k in SHAPES:
        plain = initial[k] + np.mean([u[k] for u in updates], axis=0)
        np.testing.assert_allclose(agg[k], plain, rtol=0, atol=step + 1e-7)
    assert step < 1e-6 * 0.5 and strategy.last_round["clients_ok"] == n


def test_one_owner_dropping_after_key_sharing_still_completes_and_leaves_out_its_update() -> None:
    # Prepare: 5 owners, threshold 0.67 -> 3 shares needed; owner 3 refuses at training (after sharing keys)
    n, cfg = 5, _cfg(5)
    initial = _updates(1, 0.05, seed=9)[0]
    updates = _updates(n, 1e-2)
    apps = {100 + i: _owner(u, i, refuse=(i == 3)) for i, u in enumerate(updates)}

    # Execute
    agg, strategy, _ = _run(apps, cfg, initial)

    # Assert: the mean of the four that trained; the refusal is recorded as data
    step = 2 * cfg.agg.secagg_clip / quantisation_range(n)
    for k in SHAPES:
        plain = initial[k] + np.mean([u[k] for i, u in enumerate(updates) if i != 3], axis=0)
        np.testing.assert_allclose(agg[k], plain, rtol=0, atol=step + 1e-7)
    rows = strategy.last_round["clients"]
    assert sorted(r["status"] for r in rows) == ["ok"] * 4 + ["refused"]
    assert strategy.last_round["clients_ok"] == 4 and strategy.last_round["clients_failed"] == 1


def test_more_dropouts_than_the_threshold_allows_stop_the_run_cleanly() -> None:
    # Prepare: threshold 1.0 -> every one of 4 owners must answer; one refuses
    cfg = _cfg(4, secagg_threshold=1.0)
    updates = _updates(4, 1e-2)
    apps = {100 + i: _owner(u, i, refuse=(i == 0)) for i, u in enumerate(updates)}

    # Execute / Assert
    with pytest.raises(SecAggHalted, match="round 1: secure aggregation halted"):
        _run(apps, cfg, _updates(1, 0.05, seed=9)[0])


def test_the_server_never_receives_an_owners_plain_update() -> None:
    # Prepare
    n, cfg = 3, _cfg(3)
    updates = _updates(n, 1e-2)
    apps = {100 + i: _owner(u, i) for i, u in enumerate(updates)}

    # Execute
    _, strategy, grid = _run(apps, cfg, _updates(1, 0.05, seed=9)[0], rounds=2)

    # Assert: no reply carries a tensor; the masked vectors are integers mod 2**32; metrics are the coarse ones
    assert all(len(arr) == 0 for m in grid.seen for arr in m.content.array_records.values())
    masked = [m for m in grid.seen if Key.MASKED_PARAMETERS in m.content.config_records[RECORD_KEY_CONFIGS]]
    assert len(masked) == 2 * n
    assert {k for r in strategy.last_round["clients"] for k in r} == {
        "round", "node_id", "status", "dp_unit_weight", "partition_id", "epsilon"}
    assert strategy.last_round["bytes_up"] > 0


def test_a_plain_request_for_a_secagg_run_is_refused_by_the_owner() -> None:
    # Prepare: a train message without SecAgg+'s records, passed through the mod
    called = []
    msg = Message(RecordDict({"config": ConfigRecord({"secagg": True})}), dst_node_id=1, message_type="train")

    # Execute
    secagg_mod(msg, Context(run_id=1, node_id=1, node_config={}, state=RecordDict(), run_config={}),
               lambda m, c: called.append(is_masked()))

    # Assert: the ClientApp runs outside SecAgg+ (and refuses: clients/app.py checks is_masked())
    assert called == [False]


def test_the_client_app_refuses_a_secagg_runs_plain_request_before_training(tmp_path) -> None:
    # Prepare: the real ClientApp train function, a plain train message of a --secagg run
    from clients.app import train
    cfg = RunConfig.from_flat({"clients": 3, "secagg": True, "dp": "sample", "out": str(tmp_path / "run")})
    config = ConfigRecord({**cfg.to_run_config(), "server-round": 1})
    msg = Message(RecordDict({"arrays": to_record({"w": np.zeros(2, np.float32)}), "config": config}),
                  dst_node_id=1, message_type="train")
    ctx = Context(run_id=7, node_id=1, node_config={"partition-id": 0, "num-partitions": 3},
                  state=RecordDict(), run_config={})

    # Execute
    reply = train(msg, ctx)

    # Assert: a typed refusal (request), no content, nothing trained (no privacy state written)
    assert reply.has_error() and reply.error.code == int(Refusal.REQUEST)
    assert "bypasses SecAgg+" in reply.error.reason and not (tmp_path / "run").exists()


@pytest.mark.parametrize("flat, words", [
    ({"robust": "median"}, "robust 'median' with secagg"),
    ({"dp": "client"}, "dp client with secagg"),
    ({"strategy": "fedadam"}, "strategy 'fedadam' with secagg"),
    ({"clients": 2}, "secagg needs at least 3 clients per round"),
    ({"secagg_threshold": 0.0}, "secagg_threshold must be a fraction in (0, 1], got 0.0"),
    ({"secagg_clip": -1}, "secagg_clip must be > 0, got -1.0"),
])
def test_incompatible_options_are_refused_in_one_line(flat: dict[str, Any], words: str) -> None:
    # Prepare
    from fedflm.errors import ConfigError

    # Execute / Assert
    with pytest.raises(ConfigError) as err:
        RunConfig.from_flat({"clients": 5, "secagg": True, **flat})
    assert words in str(err.value) and "\n" not in str(err.value)


def test_quantisation_range_keeps_the_sum_below_the_modulus() -> None:
    for n in (3, 4, 10, 15, 16, 1000, 4095):
        q = quantisation_range(n)
        assert n * q < 2**32 <= 2 * n * q and q >= 2**20
