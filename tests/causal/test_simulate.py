"""``fedflm simulate --task causal-lm`` end to end on a tiny random Llama (in-process federation)."""

from __future__ import annotations

import json

import pytest

from fedflm.causal.config import CausalRunConfig
from fedflm.cli.main import main
from fedflm.errors import ConfigError


def test_dp_federation_writes_run_dir_ledgers_and_lowers_perplexity(tiny_llama_dir, tmp_path, capsys):
    # Prepare
    out = tmp_path / "run"
    argv = ["simulate", "--task", "causal-lm", "--dataset", "synthetic:130", "--model", str(tiny_llama_dir),
            "--clients", "2", "--rounds", "2", "--local-steps", "8", "--batch-size", "16", "--lr", "0.01",
            "--max-length", "48", "--epsilon", "8", "--prompts", "1", "--seed", "3", "--out", str(out)]
    # Execute
    code = main(argv)
    # Assert
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["round"] for r in rows] == [0, 1, 2]
    assert summary["perplexity_after"] < summary["perplexity_before"]
    assert 0 < summary["epsilon_max"] <= 8.0 and summary["epsilon_max"] > 7.0  # calibrated to the target
    ledgers = sorted(p.name for p in (out / "privacy_state").rglob("*.jsonl"))
    assert len(ledgers) == 2
    assert (out / "adapter" / "adapter_config.json").is_file() and not (out / "INCOMPLETE").exists()
    assert len(summary["generations"]) == 1
    assert "DP-SGD privacy plan" in capsys.readouterr().out


def test_classification_flag_is_refused_by_name(tmp_path, capsys):
    # Execute
    code = main(["simulate", "--task", "causal-lm", "--partition", "iid", "--out", str(tmp_path)])
    # Assert
    assert code != 0
    assert "not available with --task causal-lm: --partition" in capsys.readouterr().err


@pytest.mark.parametrize("values, message", [
    ({"dp": "client"}, "dp must be sample or none"),
    ({"dataset": "synthetic:1"}, "synthetic:N needs N >= 2"),
    ({"max_sequences": 0}, "max_sequences must be >= 1"),
    ({"lora_rank": 4}, "not a --task causal-lm setting: lora_rank"),
])
def test_bad_settings_name_the_value(values, message):
    # Execute / Assert
    with pytest.raises(ConfigError, match=message):
        CausalRunConfig.from_flat(values)
