"""End to end: the real ServerApp + ClientApp in Flower's Simulation Engine (Ray)."""

from __future__ import annotations

import json

import pytest

import fedflm
from one_actor import ONE_ACTOR


@pytest.fixture(scope="module")
def tiny_run(sim_run_nodp):
    """3 clients, IID, 96 examples each, 2 rounds, no DP (tests/conftest.py, once per session)."""
    return sim_run_nodp


def test_tiny_simulation_writes_complete_run_directory(tiny_run):
    # Prepare
    run = tiny_run.run_dir

    # Execute
    summary = json.loads((run / "summary.json").read_text())
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    clients = json.loads((run / "clients.json").read_text())

    # Assert
    assert not (run / "INCOMPLETE").exists()
    assert summary["status"] == "complete"
    assert [r["round"] for r in rows] == [0, 1, 2]
    for key in ("accuracy", "macro_f1", "macro_precision", "macro_recall", "roc_auc", "loss"):
        assert all(0.0 <= r[key] < 10 for r in rows), key
    assert rows[1]["clients_ok"] == 3 and rows[2]["clients_failed"] == 0
    matrix = summary["confusion_matrix"]  # the final global model on the 200 held-out examples
    assert sum(map(sum, matrix)) == 200
    assert rows[2]["accuracy"] == pytest.approx((matrix[0][0] + matrix[1][1]) / 200)
    assert [c["num_examples"] for c in clients["clients"]] == [96, 96, 96]
    assert (run / "config.toml").read_text().count("[privacy]") == 1
    assert summary["bytes_per_client_per_round"] > 0
    assert rows[2]["bytes_up"] == 3 * summary["bytes_per_client_per_round"]


def test_tiny_simulation_train_loss_decreases(tiny_run):
    # Prepare (a tiny *random* BERT: it fits its training data but need not generalise,
    # so the global loss is checked on the real MiniLM below)
    rows = tiny_run.metrics

    # Execute
    train_losses = [r["train_loss"] for r in rows[1:]]

    # Assert
    assert train_losses[1] < train_losses[0]


def test_client_records_per_round(tiny_run):
    # Execute
    lines = (tiny_run.run_dir / "client_metrics.jsonl").read_text().splitlines()
    rows = [json.loads(x) for x in lines]

    # Assert
    assert len(rows) == 6
    assert sorted((r["round"], r["partition_id"]) for r in rows) == [
        (1, 0), (1, 1), (1, 2), (2, 0), (2, 1), (2, 2)]
    assert all(r["status"] == "ok" and r["num_examples"] == 96 for r in rows)
    assert not any("text" in r for r in rows)  # aggregate numbers only


def test_adapter_loads_with_peft(tiny_run, tiny_model_dir):
    # Prepare
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification

    base = AutoModelForSequenceClassification.from_pretrained(str(tiny_model_dir), num_labels=2)

    # Execute
    model = PeftModel.from_pretrained(base, str(tiny_run.run_dir / "adapter"))
    labels = json.loads((tiny_run.run_dir / "adapter" / "labels.json").read_text())

    # Assert
    assert labels["label_names"] == ["negative", "positive"]
    assert any("lora_A" in n for n, _ in model.named_parameters())


@pytest.mark.slow
def test_packaged_minilm_learns_sst2(tmp_path):
    # Prepare: the real packaged MiniLM on a few hundred SST-2 rows, 2 clients
    cfg = {"dataset": "sst2", "clients": 2, "rounds": 1, "partition": "iid",
           "samples_per_client": 200, "eval_samples": 200, "local_epochs": 2, "batch_size": 16,
           "out": str(tmp_path / "minilm"), "seed": 3, "dp": "none"}

    # Execute (both clients in one ClientApp actor: one load of the real model, not two)
    res = fedflm.simulate(cfg, resources=ONE_ACTOR)

    # Assert: the global model beats the untrained one on the held-out set
    r0, r1 = res.metrics[0], res.metrics[1]
    assert r1["loss"] < r0["loss"]
    assert r1["accuracy"] > 0.6
