"""Empirical audit on a tiny model: power without DP, soundness with DP."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from datasets import Dataset

from fedflm.audit.empirical.canaries import make_canaries
from fedflm.audit.empirical.audit import EmpiricalConfig, run_empirical_audit
from fedflm.audit.empirical.training import PlainTrainer, recomputed_epsilon
from fedflm.config import ModelConfig, RunConfig
from fedflm.errors import ConfigError
from fedflm.models.lora import load_tokenizer

# 128 canaries on 8 real rows, 80 local epochs: measured over canary seeds 1-8 (one machine) the no-DP bound
# spans 1.08-2.02 and the membership AUC 0.83-0.94. With 64 canaries on 16 rows and 40 epochs the bound spanned
# 0.32-1.69 across seeds, and another machine's float rounding alone moved seed 1 from 1.69 to 0.71 (CI failed).
AUDIT = EmpiricalConfig(canaries=128, seed=1)


def _cfg(model_dir: Path, **over: object) -> RunConfig:
    # A client with 8 real rows and ~64 canaries, 80 local epochs of LoRA + head: enough to memorise
    # without DP (the random tiny encoder's frozen features carry no canary signal for a head alone).
    flat = {"train_mode": "lora", "dataset": "sst2", "clients": 4, "rounds": 1, "samples_per_client": 8, "partition": "iid",
            "model": str(model_dir), "device": "cpu", "local_epochs": 80, "batch_size": 16, "lr": 1e-2,
            "max_length": 32, "dp": "none"}
    flat.update(over)
    return RunConfig.from_flat(flat)


def test_without_dp_the_canaries_are_detected(tiny_model_dir: Path) -> None:
    # Execute
    res = run_empirical_audit(_cfg(tiny_model_dir), AUDIT)
    # Assert: clearly above 0 (lowest of 8 canary seeds measured: 1.08) and a membership score well above
    # chance (AUC 0.5; lowest measured 0.83), and no claim to violate
    assert res.bound.epsilon_lower_bound > 0.6, res.describe()
    assert res.auc > 0.7, res.describe()
    assert math.isinf(res.claimed_epsilon) and not res.violated
    assert 0 < res.canaries_included < 128
    assert res.train_examples == 8 + res.canaries_included


def test_with_dp_at_small_epsilon_the_bound_stays_below_the_claim(tiny_model_dir: Path) -> None:
    # Execute
    res = run_empirical_audit(_cfg(tiny_model_dir, dp="sample", epsilon=1.0), AUDIT)
    # Assert
    sigma, q, steps = res.history[0]
    assert sigma > 1 and 0 < q <= 1 and steps > 0
    assert 0.9 <= res.claimed_epsilon <= 1.0
    assert res.recomputed_epsilon == pytest.approx(res.claimed_epsilon, rel=1e-9)
    assert res.ledger_findings == ()
    assert res.bound.epsilon_lower_bound <= res.claimed_epsilon, res.describe()
    assert not res.violated
    assert res.to_json()["bound"]["confidence"] == 0.95


class _NoiselessTrainer(PlainTrainer):
    """A broken DP path: trains without clipping or noise but claims sigma=60 (a correct-looking ledger)."""

    def train_round(self, module, loader, rnd, device):
        _, _, steps = super().train_round(module, loader, rnd, device)
        return (60.0, self.cfg.train.batch_size / len(loader.dataset), steps)

    def claimed_epsilon(self, history):
        return recomputed_epsilon(self.cfg, history)


def test_a_broken_dp_path_is_caught(tiny_model_dir: Path) -> None:
    # Prepare
    cfg = _cfg(tiny_model_dir, dp="sample", epsilon=1.0)
    # Execute
    res = run_empirical_audit(cfg, AUDIT, trainer=_NoiselessTrainer(cfg))
    # Assert: the ledger would say epsilon < 0.5, the measurement (no-DP bound >= 1.08 over 8 seeds) says otherwise
    assert res.claimed_epsilon < 0.5
    assert res.violated, res.describe()
    assert "VIOLATED" in res.describe()


def test_random_label_canaries_are_held_out_and_flipped(tiny_model_dir: Path) -> None:
    # Prepare
    pool = Dataset.from_dict({"text": [f"row {i}" for i in range(40)], "label": [i % 3 for i in range(40)]})
    tok = load_tokenizer(ModelConfig(model=str(tiny_model_dir)))
    # Execute
    canaries, rest = make_canaries("random-label", 20, tokenizer=tok, pool=pool, num_labels=3, seed=3)
    # Assert
    truth = dict(zip(pool["text"], pool["label"]))
    assert len(rest) == 20 and not set(rest["text"]) & set(canaries.texts)
    assert all(truth[t] != y for t, y in zip(canaries.texts, canaries.labels))
    assert len(canaries.training_rows()) == sum(canaries.included)


def test_unique_token_canaries_are_distinct_and_coin_flips_fair(tiny_model_dir: Path) -> None:
    # Prepare
    tok = load_tokenizer(ModelConfig(model=str(tiny_model_dir)))
    empty = Dataset.from_dict({"text": [], "label": []})
    # Execute
    canaries, _ = make_canaries("unique-token", 2000, tokenizer=tok, pool=empty, num_labels=2, seed=5)
    # Assert: 2000 fair coins: within 4 standard deviations of 1000
    assert len(set(canaries.texts)) == 2000
    assert abs(sum(canaries.included) - 1000) < 4 * math.sqrt(500)
    assert set(canaries.labels) == {0, 1}


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"canaries": 1}, "canaries must be >= 2, got 1"),
    ({"kind": "loud"}, "canary kind must be one of unique-token, far-token, random-label, got 'loud'"),
    ({"confidence": 1.0}, "confidence must be in (0, 1), got 1.0"),
    ({"rounds": 0}, "rounds must be >= 1, got 0"),
    ({"guess": "left"}, "guess must be one of both, out, in, got 'left'"),
])
def test_config_errors_name_the_value(kwargs: dict, message: str) -> None:
    # Execute / Assert
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        EmpiricalConfig(**kwargs)


def test_client_level_dp_is_refused(tiny_model_dir: Path) -> None:
    # Execute / Assert
    with pytest.raises(ConfigError, match="supports dp=sample or dp=none"):
        run_empirical_audit(_cfg(tiny_model_dir, dp="client"), AUDIT)
