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
    enough_clients_or_stop(3, rows, 2)
    with pytest.raises(BudgetStop, match="round 3: 1 client\\(s\\) refused .* only 2 trained, fewer than min_clients=3"):
        enough_clients_or_stop(3, rows, 3)


def test_failures_without_refusals_do_not_stop_the_run() -> None:
    # Prepare / Execute / Assert
    enough_clients_or_stop(1, [{"status": "failed"}, {"status": "ok"}], 2)


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
