"""End to end on loopback: 1 SuperLink + 3 SuperNodes as separate processes,
TLS + SuperNode authentication, owners' encrypted stores, sample-level DP."""

from __future__ import annotations

import json

import pytest

from deploy_support import NODES, run_config  # tests/deploy/conftest.py
from fedflm.data.keys import read_key_file
from fedflm.deploy.checkpoint import load_checkpoint
from fedflm.privacy import ledger

pytestmark = pytest.mark.slow


def test_three_nodes_two_rounds_over_tls(processes, tiny_model_dir, tmp_path):
    # Prepare
    out = tmp_path / "run"
    cfg = run_config(tiny_model_dir, out, dp="sample", epsilon=8.0)
    run = processes.server(cfg)
    for name in NODES:
        processes.client(run, name)

    # Execute
    run.submit()
    status = run.wait(timeout=300)

    # Assert
    assert status == "complete", (run.work / "run.log").read_text()[-3000:]
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["round"] for r in rows] == [0, 1, 2]
    assert all(0.0 <= r["accuracy"] <= 1.0 for r in rows)
    assert [r["clients_ok"] for r in rows[1:]] == [3, 3]
    assert rows[-1]["epsilon_max"] > 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "complete" and summary["rounds"] == 2
    assert (out / "adapter").is_dir() and not (out / "INCOMPLETE").exists()
    for name in NODES:  # each owner's ledger lives on the owner's side, 2 rounds recorded
        entries = ledger.verify(processes.owner(name).state_dir / name / "ledger.jsonl")
        assert [e["round"] for e in entries] == [1, 2]
        assert entries[-1]["owner_id"] == name
    ckpt = load_checkpoint(out, read_key_file(processes.certs / "checkpoint.key"))
    assert ckpt.round == 2 and [r["round"] for r in ckpt.rows] == [0, 1, 2]
