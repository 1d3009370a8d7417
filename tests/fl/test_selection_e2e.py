"""End to end (Ray simulation, tiny model): early stopping under DP-SGD stops, keeps the best round's
adapter and spends nothing for the rounds it did not run; undersampling's q reaches the ledger."""

from __future__ import annotations

import json

import pytest
from one_actor import ONE_ACTOR

pytestmark = [pytest.mark.slow, pytest.mark.federation]

ROUNDS, PATIENCE, BATCH = 5, 1, 16


@pytest.fixture(scope="module")
def stopped_run(tiny_model_dir, tmp_path_factory, shared_ray_cluster):
    """Round 1 trains at lr 0.3; the exponential schedule (x 1e-6 per round) freezes the later rounds,
    so the validation metric stops moving and patience runs out long before round 5."""
    import fedflm

    return fedflm.simulate({
        "dataset": "sst2", "model": str(tiny_model_dir), "clients": 2, "rounds": ROUNDS, "partition": "iid",
        "samples_per_client": 64, "eval_samples": 128, "val_fraction": 0.5, "patience": PATIENCE,
        "max_length": 32, "batch_size": BATCH, "lr": 0.3, "lr_schedule": "exponential:0.000001",
        "loss": "weighted", "resample": "undersample", "dp": "sample", "epsilon": 8.0, "proto_fraction": 0.0,
        "out": str(tmp_path_factory.mktemp("runs") / "early-stop"), "seed": 3}, resources=ONE_ACTOR)


def test_early_stop_keeps_the_best_round_and_reports_its_test_figures(stopped_run) -> None:
    # Prepare
    summary = json.loads((stopped_run.run_dir / "summary.json").read_text())
    rows = stopped_run.metrics
    sel = summary["selection"]

    # Execute
    best = max(rows, key=lambda r: (r["val_macro_f1"], -r["round"]))  # first round with the top value
    matrix = summary["confusion_matrix"]  # recomputed from the saved (selected) adapter

    # Assert: both owners trained in every round run; stopped PATIENCE rounds after the best;
    # final = the best round's test row
    assert all(r["clients_ok"] == 2 for r in rows[1:])
    assert summary["status"] == "complete" and sel["stopped_early"] is True
    assert sel["best_round"] == best["round"] and len(rows) - 1 == best["round"] + PATIENCE < ROUNDS
    assert summary["final"] == best and summary["last"] == rows[-1]
    assert sum(map(sum, matrix)) == 64  # the test half of the 128 held-out rows
    assert summary["final"]["accuracy"] == pytest.approx((matrix[0][0] + matrix[1][1]) / 64)


def test_rounds_not_run_spend_nothing_and_undersampling_sets_q(stopped_run) -> None:
    # Prepare
    summary = json.loads((stopped_run.run_dir / "summary.json").read_text())
    ran = summary["selection"]["rounds_run"]
    clients = json.loads((stopped_run.run_dir / "clients.json").read_text())["clients"]

    # Execute
    ledgers = {p.stem: [json.loads(x) for x in p.read_text().splitlines()]
               for p in (stopped_run.run_dir / "ledgers").glob("*.jsonl")}

    # Assert: one ledger entry per round run, none for the rounds not run; q = batch / kept rows
    assert summary["selection"]["rounds_not_run"] == ROUNDS - ran > 0
    assert len(ledgers) == 2
    for c in clients:
        entries = ledgers[f"client-{c['partition_id']}"]
        kept = 2 * min(c["label_counts"])
        assert [e["round"] for e in entries] == list(range(1, ran + 1))
        assert all(e["sample_rate"] == pytest.approx(BATCH / kept) for e in entries)
    spent = max(e["epsilon"] for v in ledgers.values() for e in v)
    assert spent <= summary["selection"]["epsilon_spent_max"] <= spent + 0.01  # rows round up to 2 decimals
