"""``fedflm simulate --task causal-lm`` end to end on a tiny random Llama (Flower's Simulation Engine),
and the task's config."""

from __future__ import annotations

import html
import json
import tomllib

import pytest

from fedflm.causal.config import CausalRunConfig
from fedflm.config import DPConfig
from fedflm.cli.main import main
from fedflm.errors import ConfigError
from one_actor import ONE_ACTOR


@pytest.mark.slow  # starts Ray: the real ServerApp and ClientApp in Flower's Simulation Engine
@pytest.mark.federation
def test_flower_dp_federation_writes_run_dir_ledgers_and_lowers_perplexity(tiny_llama_dir, tmp_path, capsys):
    # Prepare: --run-id pins the owners' noise (their seeds mix seed, run id and round; the default id has a random
    # suffix; rebuilt in one process over three ids: perplexity after / before 0.772-0.786); one ClientApp actor
    out = tmp_path / "run"
    argv = ["simulate", "--task", "causal-lm", "--dataset", "synthetic:130", "--model", str(tiny_llama_dir),
            "--clients", "2", "--rounds", "2", "--local-steps", "8", "--batch-size", "16", "--lr", "0.01",
            "--max-length", "48", "--epsilon", "8", "--prompts", "1", "--seed", "3", "--out", str(out),
            "--run-id", "tiny-causal", "--client-cpus", str(ONE_ACTOR.client_cpus)]
    # Execute
    code = main(argv)
    # Assert
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    clients = [json.loads(line) for line in (out / "client_metrics.jsonl").read_text().splitlines()]
    assert [r["round"] for r in rows] == [0, 1, 2]
    assert summary["perplexity_after"] < summary["perplexity_before"] == rows[0]["perplexity"]
    assert 7.0 < summary["epsilon_max"] <= 8.0  # calibrated to the target (coarse: rounded up to 0.01)
    assert sorted((c["round"], c["partition_id"], c["status"]) for c in clients) == [
        (1, 0, "ok"), (1, 1, "ok"), (2, 0, "ok"), (2, 1, "ok")]
    assert not any("train_loss" in c or "num_examples" in c for c in clients)  # nothing exact under DP
    ledgers = sorted(p.parent.name for p in (out / "privacy_state").rglob("ledger.jsonl"))
    assert ledgers == ["client-0", "client-1"]
    for owner in ledgers:  # the copy the owner published is its ledger, fsync'd before its update left
        assert (out / "ledgers" / f"{owner}.jsonl").read_text() == \
            (out / "privacy_state" / owner / "ledger.jsonl").read_text()
    assert (out / "adapter" / "adapter_config.json").is_file() and not (out / "INCOMPLETE").exists()
    assert len(summary["generations"]) == 1 and summary["records_per_owner"] == [59, 58]
    again = CausalRunConfig.from_flat(tomllib.loads((out / "config.toml").read_text()))
    assert again.privacy.run_id and again.clients == 2 and again.privacy.epsilon == 8.0
    assert "DP-SGD privacy plan" in capsys.readouterr().out
    page = (out / "report.html").read_text()  # the CLI's report (a failure to draw it is only logged)
    assert "Held-out perplexity" in page or "held-out perplexity per round" in page
    assert html.escape(summary["generations"][0]["prompt"], quote=True) in page


@pytest.mark.parametrize("cfg", [
    CausalRunConfig(),
    CausalRunConfig(target_modules=("q_proj", "v_proj"), privacy=DPConfig(dp="none", epsilon=None, run_id="r-1")),
])
def test_flat_form_round_trips(cfg):
    # Execute
    again = CausalRunConfig.from_flat(cfg.to_run_config())
    # Assert
    assert again == cfg


def test_classification_flag_is_refused_by_name(tmp_path, capsys):
    # Execute
    code = main(["simulate", "--task", "causal-lm", "--partition", "iid", "--out", str(tmp_path)])
    # Assert
    assert code != 0
    assert "not available with --task causal-lm: --partition" in capsys.readouterr().err


@pytest.mark.parametrize("values, message", [
    ({"dp": "client"}, "dp must be sample or none"),
    ({"delta": 2}, "delta must be in \\(0, 1\\), got 2"),  # DPConfig's own validation
    ({"task": "classify"}, "task must be causal-lm here"),
    ({"dataset": "synthetic:1"}, "synthetic:N needs N >= 2"),
    ({"max_sequences": 0}, "max_sequences must be >= 1"),
    ({"lora_rank": 4}, "not a --task causal-lm setting: lora_rank"),
])
def test_bad_settings_name_the_value(values, message):
    # Execute / Assert
    with pytest.raises(ConfigError, match=message):
        CausalRunConfig.from_flat(values)
