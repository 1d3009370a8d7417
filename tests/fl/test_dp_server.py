"""Tests for fedflm.fl.dp_server (run ids, refusals as data, ledger copies)."""

from __future__ import annotations

from pathlib import Path

import pytest
from flwr.app import ConfigRecord, Error, Message, Metadata, MetricRecord, RecordDict

from fedflm.config import RunConfig
from fedflm.fl.dp_server import (BudgetStop, enough_clients_or_stop, ensure_run_id, epsilon_max, ledger_copies,
                                 write_ledgers)
from fedflm.fl.rundir import RunDir


def test_run_id_is_unique_and_kept_when_given(tmp_path: Path) -> None:
    # Prepare
    cfg = RunConfig.from_flat({"out": str(tmp_path / "my run")})

    # Execute
    a, b = ensure_run_id(cfg), ensure_run_id(cfg)
    given = ensure_run_id(RunConfig.from_flat({"run_id": "study-7"}))

    # Assert
    assert a.privacy.run_id.startswith("my-run-") and a.privacy.run_id != b.privacy.run_id
    assert given.privacy.run_id == "study-7"


def test_refusals_are_data_while_enough_clients_remain() -> None:
    # Prepare
    rows = [{"status": "ok"}, {"status": "ok"}, {"status": "refused"}]

    # Execute / Assert: two trained, min two -> continue
    assert enough_clients_or_stop(3, rows, 2) == 2
    with pytest.raises(BudgetStop, match="round 3: 1 client\\(s\\) refused .* only 2 trained, fewer than min_clients=3"):
        enough_clients_or_stop(3, rows, 3)


def test_failures_without_refusals_do_not_stop_the_run() -> None:
    # Prepare: one client failed (not a budget refusal), so only one trained, below min_clients=2
    rows = [{"status": "failed"}, {"status": "ok"}]

    # Execute
    trained = enough_clients_or_stop(1, rows, 2)

    # Assert: the round goes on with the one update (failures are the quorum logic's business)
    assert trained == 1


def test_epsilon_max_is_over_clients_that_trained() -> None:
    # Prepare
    rows = [{"status": "ok", "epsilon": 1.5}, {"status": "ok", "epsilon": 2.5}, {"status": "refused"}]

    # Execute / Assert
    assert epsilon_max(rows) == 2.5
    assert epsilon_max([{"status": "ok"}]) is None


def _meta(node: int) -> Metadata:
    return Metadata(run_id=1, message_id=f"m{node}", src_node_id=node, dst_node_id=0, reply_to_message_id="x",
                    group_id="1", created_at=0.0, ttl=60.0, message_type="train")


def _reply(owner: str, ledger: str, node: int = 1) -> Message:
    content = RecordDict({"metrics": MetricRecord({"num-examples": 1}),
                          "privacy": ConfigRecord({"owner-id": owner, "ledger": ledger})})
    return Message(content=content, metadata=_meta(node))


def test_ledger_copies_are_written_per_owner_and_odd_ids_are_ignored(tmp_path: Path) -> None:
    # Prepare
    replies = [_reply("client-0", '{"a":1}\n'), _reply("../escape", "x\n", node=2),
               Message(error=Error(code=403, reason="privacy budget"), metadata=_meta(3))]
    rundir = RunDir(tmp_path)

    # Execute
    copies = ledger_copies(replies)
    write_ledgers(rundir, copies)

    # Assert
    assert copies == {"client-0": '{"a":1}\n'}
    assert sorted(p.name for p in (tmp_path / "ledgers").iterdir()) == ["client-0.jsonl"]


def _update(node: int, value: float) -> Message:
    import numpy as np

    from fedflm.fl.arrays import to_record
    content = RecordDict({"arrays": to_record({"w": np.full(4, value, dtype=np.float32)}),
                          "metrics": MetricRecord({"num-examples": 10 * node, "dp-unit-weight": 1})})
    return Message(content=content, metadata=_meta(node))


def _client_level(tmp_path: Path, num_sampled: int = 2, **flat: object):
    import numpy as np

    from fedflm.fl.arrays import to_record
    from fedflm.fl.dp_server import ClientLevelDP
    from fedflm.fl.strategy import RecordingFedAvg
    cfg = ensure_run_id(RunConfig.from_flat({"dp": "client", "clients": 4, "rounds": 5, "epsilon": 6.0,
                                             "max_grad_norm": 0.1, "out": str(tmp_path / "run"),
                                             "privacy_state": str(tmp_path / "run" / "privacy_state"), **flat}))
    inner = RecordingFedAvg(min_train_nodes=2, min_available_nodes=2, weighted_by_key="dp-unit-weight")
    dp = ClientLevelDP(inner, cfg, num_sampled=num_sampled)
    dp.current_arrays = to_record({"w": np.zeros(4, dtype=np.float32)})
    return dp


def test_client_level_round_is_clipped_noised_and_recorded(tmp_path: Path) -> None:
    # Prepare
    from fedflm.privacy.client_level import client_level_epsilon
    from fedflm.privacy.ledger import verify
    dp = _client_level(tmp_path)

    # Execute
    arrays, _ = dp.aggregate_train(1, [_update(1, 5.0), _update(2, 5.0)])

    # Assert: calibrated for the whole run, one ledger entry, epsilon of one round
    assert dp.fraction == 0.5
    assert 5.94 <= client_level_epsilon(dp.noise_multiplier, 0.5, 5, 1e-5) <= 6.0
    entry = verify(tmp_path / "run" / "privacy_state" / "all-clients" / "ledger.jsonl", recompute=True)[0]
    assert entry["mechanism"] == "client-gaussian" and entry["steps"] == 1 and entry["sample_rate"] == 0.5
    assert dp.epsilon == entry["epsilon"] == client_level_epsilon(dp.noise_multiplier, 0.5, 1, 1e-5)
    # each update (norm 10) was clipped to 0.1 before averaging; noise std = z * 0.1 / 2 per value
    w = arrays["w"].numpy()
    assert abs(float(w.mean()) - 0.05) < 6 * dp.noise_multiplier * 0.1 / 2 / 2


def test_client_level_round_past_the_cap_is_not_started(tmp_path: Path) -> None:
    # Prepare
    dp = _client_level(tmp_path, max_epsilon=0.01)

    # Execute / Assert
    with pytest.raises(BudgetStop, match="round 1: .*above its cap 0.01"):
        dp.configure_train(1, dp.current_arrays, ConfigRecord(), grid=None)


def test_refusals_are_recorded_by_their_typed_code_not_their_text() -> None:
    # Prepare
    from fedflm.fl.dp_server import error_row
    from fedflm.owner.refusal import Refusal

    policy = Message(error=Error(code=int(Refusal.DP_MODE), reason="anything"), metadata=_meta(1))
    crash = Message(error=Error(code=0, reason="privacy budget mentioned in a crash"), metadata=_meta(2))

    # Execute
    rows = [error_row(4, policy), error_row(4, crash)]

    # Assert
    assert (rows[0]["status"], rows[0]["refusal"]) == ("refused", "dp_mode")
    assert rows[1]["status"] == "failed" and "refusal" not in rows[1]


def test_privacy_fields_keep_only_well_formed_heads() -> None:
    from fedflm.fl.dp_server import privacy_fields

    good = Message(RecordDict({"privacy": ConfigRecord({"owner-id": "a", "ledger-head": "ab" * 32})}),
                   metadata=_meta(1))
    bad = Message(RecordDict({"privacy": ConfigRecord({"owner-id": "../x", "ledger-head": "zz"})}),
                  metadata=_meta(2))
    assert privacy_fields(good) == {"owner_id": "a", "ledger_head": "ab" * 32}
    assert privacy_fields(bad) == {}


def test_client_level_dp_with_2_of_5_sampled_clients_failing(tmp_path: Path) -> None:
    # Prepare: 5 clients, all sampled (q = 1); 2 fail, 3 send a small update (norm 0.25 < C, not clipped)
    import numpy as np

    from fedflm.fl.arrays import to_record
    from fedflm.privacy.client_level import client_level_epsilon
    from fedflm.privacy.ledger import verify

    dp = _client_level(tmp_path, num_sampled=5, clients=5, noise_multiplier=2.0, epsilon="", max_grad_norm=0.5)
    assert dp.fraction == 1.0
    zeros = {"w": np.zeros(60_000, dtype=np.float32)}
    dp.current_arrays = to_record(zeros)
    small = {"w": np.full(60_000, 1e-3, dtype=np.float32)}
    same = [Message(RecordDict({"arrays": to_record(small), "metrics": MetricRecord({"dp-unit-weight": 1})}),
                    metadata=_meta(n)) for n in (1, 2, 3)]
    lost = [Message(error=Error(code=0, reason="node lost"), metadata=_meta(n)) for n in (4, 5)]

    # Execute
    arrays, _ = dp.aggregate_train(1, same + lost)

    # Assert: the noise follows the 3 updates that arrived (std 2 * 0.5 / 3), not the 5 sampled (/ 5)
    w = arrays["w"].numpy().astype(np.float64)
    assert abs(float(np.std(w)) - 2.0 * 0.5 / 3) < 0.02 * (2.0 * 0.5 / 3)
    assert abs(float(np.mean(w)) - 1e-3) < 5 * (2.0 * 0.5 / 3) / np.sqrt(w.size)
    assert dp.denominators == [3]
    # ...and the epsilon reported is a direct computation of what happened: one release at q = 1
    entries = verify(tmp_path / "run" / "privacy_state" / "all-clients" / "ledger.jsonl", recompute=True)
    assert len(entries) == 1 and dp.epsilon == client_level_epsilon(2.0, 1.0, 1, 1e-5)


def test_client_level_round_without_any_update_releases_nothing(tmp_path: Path) -> None:
    # Prepare
    dp = _client_level(tmp_path)

    # Execute
    arrays, _ = dp.aggregate_train(1, [Message(error=Error(code=0, reason="x"), metadata=_meta(1))])

    # Assert
    assert arrays is None and dp.epsilon is None and dp.denominators == []


def test_clients_are_poisson_sampled_at_the_accounted_rate() -> None:
    # Prepare / Execute
    from fedflm.fl.dp_server import poisson_subset

    sizes = [len(poisson_subset(list(range(100)), 0.3)) for _ in range(200)]

    # Assert: binomial(100, 0.3) per round -> mean 30, the sizes vary (not a fixed-size draw)
    assert abs(sum(sizes) / len(sizes) - 30) < 1.5 and len(set(sizes)) > 5
    assert poisson_subset([1, 2, 3], 1.0) == [1, 2, 3]
