"""issue 21: SecAgg+ rounds under the deployment rules (fedflm/deploy/secagg_rounds.py), over an in-process grid
with Flower's real SecAgg+ workflow and mod: a resumed run numbers its rounds from the checkpoint and sends the
resume overrides; a round SecAgg+ cannot unmask leaves the global model unchanged and counts as skipped; too few
connected nodes skip a round, and too many skipped rounds end the run cleanly."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from flwr.app import ConfigRecord, Context, Error, Message, MetricRecord, RecordDict

from fedflm.bench.local_grid import LocalGrid
from fedflm.config import RunConfig
from fedflm.deploy.rounds import QuorumLost
from fedflm.deploy.secagg_rounds import SecAggDeploymentRounds
from fedflm.fl.arrays import from_record, to_record
from fedflm.fl.secagg import SecAggFedAvg, quantisation_range
from fedflm.fl.secagg_client import secagg_mod

N = 3
INITIAL = {"lora_B": np.full((4, 2), 0.5, np.float32), "head.bias": np.zeros(2, np.float32)}


@pytest.fixture(autouse=True)
def _server_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    from flwr.supercore.task_identity import TaskIdentity
    monkeypatch.setattr(TaskIdentity, "_run_id", 7)  # set by Flower in a ServerApp process
    monkeypatch.setattr(TaskIdentity, "_node_id", 0)
    monkeypatch.setattr(TaskIdentity, "_task_id", 0)


def _owner(pid: int, seen: list[dict[str, Any]], fail_round: int | None = None):
    """An owner behind fedflm's SecAgg+ mod: adds (pid + 1) / 100 to every value; fails in ``fail_round`` (an
    error after key sharing, as a crashed training process answers; not a policy refusal)."""
    def train(msg: Message, ctx: Context) -> Message:
        config = dict(msg.content["config"])
        seen.append({"pid": pid, "round": config["server-round"], "run-id": config.get("run-id"),
                     "rounds": config.get("rounds")})
        if config["server-round"] == fail_round:
            return Message(Error(code=500, reason="RuntimeError: training crashed"), reply_to=msg)
        state = {k: v + np.float32((pid + 1) / 100) for k, v in from_record(msg.content["arrays"]).items()}
        return Message(RecordDict({"arrays": to_record(state), "metrics": MetricRecord({"dp-unit-weight": 1})}),
                       reply_to=msg)
    return lambda msg, ctx: secagg_mod(msg, ctx, train)


def _rounds(fail_round: int | None = None, threshold: float = 0.67, min_clients: int = N, **kw: Any):
    cfg = RunConfig.from_flat({"clients": N, "secagg": True, "dp": "sample", "secagg_threshold": threshold})
    seen: list[dict[str, Any]] = []
    grid = LocalGrid({100 + i: _owner(i, seen, fail_round if i == 0 else None) for i in range(N)})
    inner = SecAggFedAvg(cfg, fraction_train=1.0, min_train_nodes=N, min_available_nodes=N)
    rounds = SecAggDeploymentRounds(inner, min_clients=min_clients, wait_s=0.0, poll_s=0.0,
                                    **{"max_skipped": 3, **kw})
    return rounds, grid, seen, 2 * cfg.agg.secagg_clip / quantisation_range(N)


def _start(rounds: SecAggDeploymentRounds, grid: LocalGrid, num_rounds: int):
    evaluated: list[tuple[int, dict[str, np.ndarray]]] = []
    result = rounds.start(grid, to_record(INITIAL), num_rounds=num_rounds, train_config=ConfigRecord({"seed": 1}),
                          evaluate_fn=lambda r, a: evaluated.append((r, from_record(a))))
    return from_record(result.arrays), evaluated


def test_a_resumed_run_numbers_rounds_from_the_checkpoint_and_sends_the_resume_overrides() -> None:
    # Prepare: resumed after round 2 of 4 (segment 1)
    rounds, grid, seen, level = _rounds(offset=2, client_overrides={"run-id": "run.r1", "rounds": 2})

    # Execute
    final, evaluated = _start(rounds, grid, num_rounds=2)

    # Assert: the owners trained rounds 3 and 4 of the resumed segment; each round adds the mean change 0.02
    assert sorted({(s["round"], s["run-id"], s["rounds"]) for s in seen}) == [(3, "run.r1", 2), (4, "run.r1", 2)]
    assert [r for r, _ in evaluated] == [0, 1, 2]  # the session's evaluate_fn adds the offset
    for k, v in INITIAL.items():
        np.testing.assert_allclose(final[k], v + 2 * 0.02, rtol=0, atol=2 * level + 1e-7)
    assert rounds.inner.last_round["round"] == 4 and rounds.rounds_skipped == [] and rounds.skipped == 0


def test_a_round_secagg_cannot_unmask_is_skipped_and_the_next_round_aggregates() -> None:
    # Prepare: threshold 1.0 (every owner must answer); owner 0 fails in round 1 only
    rounds, grid, _, level = _rounds(fail_round=1, threshold=1.0)

    # Execute
    final, evaluated = _start(rounds, grid, num_rounds=2)

    # Assert: round 1 left the global model as it was; round 2 added the mean change of all three
    after_round_1 = evaluated[1][1]
    assert all(np.array_equal(after_round_1[k], v) for k, v in INITIAL.items())
    for k, v in INITIAL.items():
        np.testing.assert_allclose(final[k], v + 0.02, rtol=0, atol=level + 1e-7)
    assert rounds.rounds_skipped == [1] and rounds.skipped == 0


def test_too_few_connected_nodes_skip_rounds_until_the_run_ends_cleanly() -> None:
    # Prepare: 4 nodes needed, 3 connected; one skipped round allowed
    rounds, grid, seen, _ = _rounds(min_clients=N + 1, max_skipped=1)

    # Execute / Assert: nothing is sent; the second skipped round ends the run
    with pytest.raises(QuorumLost, match="for 2 rounds in a row"):
        _start(rounds, grid, num_rounds=3)
    assert seen == [] and rounds.rounds_skipped == [1, 2]
