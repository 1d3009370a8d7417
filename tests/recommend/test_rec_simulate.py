"""``fedflm simulate --task recommend`` end to end on a tiny random BERT (Flower's Simulation Engine)."""

from __future__ import annotations

import json
import tomllib

import pytest

from fedflm.cli.main import main
from fedflm.errors import ConfigError
from fedflm.recommend.config import RecommendRunConfig
from one_actor import ONE_ACTOR


@pytest.mark.slow  # starts Ray: the real ServerApp and ClientApp in Flower's Simulation Engine
@pytest.mark.federation
def test_flower_dp_federation_writes_run_dir_and_ledgers_per_user(tiny_rec_model, tmp_path, capsys):
    # Prepare: 2 owners x 2 rounds, DP eps 8 with the user as the unit; --run-id pins the owners' noise seeds
    out = tmp_path / "run"
    argv = ["simulate", "--task", "recommend", "--dataset", "synthetic:150", "--model", str(tiny_rec_model),
            "--pooling", "mean", "--clients", "2", "--rounds", "2", "--local-steps", "30", "--batch-size", "8",
            "--lr", "0.01", "--max-length", "64", "--embed-dim", "16", "--eval-negatives", "30",
            "--epsilon", "8", "--seed", "0", "--out", str(out), "--run-id", "tiny-rec",
            "--client-cpus", str(ONE_ACTOR.client_cpus)]
    # Execute
    code = main(argv)
    # Assert
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    clients = [json.loads(line) for line in (out / "client_metrics.jsonl").read_text().splitlines()]
    assert [r["round"] for r in rows] == [0, 1, 2] and summary["eval_users"] == 30
    assert summary["before"]["auc"] == rows[0]["auc"] and summary["after"]["auc"] == rows[2]["auc"]
    assert 0.0 <= summary["popularity_baseline"]["auc"] <= 1.0 and summary["users_per_owner"] == [60, 60]
    assert 7.0 < summary["epsilon_max"] <= 8.0
    assert sorted((c["round"], c["partition_id"], c["status"]) for c in clients) == [
        (1, 0, "ok"), (1, 1, "ok"), (2, 0, "ok"), (2, 1, "ok")]
    assert not any("train_loss" in c or "num_examples" in c for c in clients)
    for owner in ("client-0", "client-1"):
        ledger = (out / "privacy_state" / owner / "ledger.jsonl").read_text()
        assert (out / "ledgers" / f"{owner}.jsonl").read_text() == ledger
        assert [json.loads(line)["sample_rate"] for line in ledger.splitlines()] == [pytest.approx(8 / 60)] * 2
    tensors = json.loads((out / "towers.json").read_text())["tensors"]
    assert sorted(tensors) == ["item.weight", "prior.bias", "prior.weight", "user.weight"]
    assert not (out / "INCOMPLETE").exists()
    again = RecommendRunConfig.from_flat(tomllib.loads((out / "config.toml").read_text()))
    assert again.privacy.run_id == "tiny-rec" and again.clients == 2 and again.embed_dim == 16
    assert "one user is one privacy unit" in capsys.readouterr().out


def test_flags_of_another_task_are_refused_by_name(capsys):
    code = main(["simulate", "--task", "recommend", "--prompts", "2"])
    assert code != 0 and "not available with --task recommend: --prompts" in capsys.readouterr().err


def test_bad_settings_are_one_clear_error():
    with pytest.raises(ConfigError, match="eval_negatives must be >= 1, got 0"):
        RecommendRunConfig(eval_negatives=0)
    with pytest.raises(ConfigError, match="not a --task recommend setting: prompts"):
        RecommendRunConfig.from_flat({"task": "recommend", "prompts": 2})
