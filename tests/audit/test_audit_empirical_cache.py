"""The empirical audit trains as a node does: cached frozen features give the same canary scores.

With dropout off, a head round on cached sentence vectors computes what the full model computes
(tests/train/test_cache.py checks one step's loss and gradients). Under DP-SGD with a fixed seed,
Poisson sampling and noise draw from one generator seeded alike on both paths, so whole audits
agree. Without DP the two paths order their batches differently (length-grouped token batches,
shuffled cached rows): equal only when one batch holds every row, as below.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from fedflm.audit.empirical.audit import EmpiricalConfig, run_empirical_audit
from fedflm.config import RunConfig


@pytest.fixture(scope="module")
def no_dropout_model(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny BERT with dropout off (the cached path runs the frozen part without dropout)."""
    out = tmp_path_factory.mktemp("tiny-bert-no-dropout")
    shutil.copytree(tiny_model_dir, out, dirs_exist_ok=True)
    config = json.loads((out / "config.json").read_text())
    config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    (out / "config.json").write_text(json.dumps(config))
    return out


def _cfg(model_dir: Path, **over: object) -> RunConfig:
    # Head mode with its prototype round: round 1 releases class sums, round 2 trains the head.
    flat = {"dataset": "sst2", "clients": 4, "rounds": 2, "samples_per_client": 16, "partition": "iid",
            "model": str(model_dir), "device": "cpu", "train_mode": "head", "proto_fraction": 0.5,
            "local_steps": 6, "batch_size": 8, "lr": 0.05, "max_length": 32, "lora_dropout": 0.0}
    flat.update(over)
    return RunConfig.from_flat(flat)


@pytest.mark.parametrize("over", [{"dp": "sample", "epsilon": 8.0, "rounds": 1, "local_steps": 3},
                                  {"dp": "none", "batch_size": 64}],
                         ids=["dp-sgd-round", "no-dp-prototype-then-full-batch"])
def test_cached_features_give_the_uncached_scores(no_dropout_model: Path, over: dict) -> None:
    # Prepare
    cfg = _cfg(no_dropout_model, **over)
    audit = EmpiricalConfig(canaries=16, seed=3)
    # Execute
    cached = run_empirical_audit(cfg, EmpiricalConfig(canaries=16, seed=3, feature_cache=True))
    uncached = run_empirical_audit(cfg, EmpiricalConfig(canaries=16, seed=3, feature_cache=False))
    # Assert: same rounds, claim and canary scores; the scores moved from the prototype head's
    assert cached.feature_cache and not uncached.feature_cache and audit.feature_cache is None
    assert cached.history == uncached.history and len(cached.history) == cfg.fed.rounds
    assert cached.claimed_epsilon == uncached.claimed_epsilon
    np.testing.assert_allclose(cached.scores, uncached.scores, rtol=1e-4, atol=1e-5)
    assert len(set(np.round(cached.scores, 6))) > 1
    assert cached.bound == uncached.bound


def test_head_mode_dp_audit_records_the_prototype_round_and_stays_below_the_claim(no_dropout_model: Path) -> None:
    for seed in (0, 1):
        # Execute
        res = run_empirical_audit(_cfg(no_dropout_model, dp="sample", epsilon=1.0), EmpiricalConfig(canaries=32, seed=seed))
        # Assert: round 1 is the Gaussian release of the class sums (q = 1, one step), round 2 DP-SGD
        (proto_sigma, proto_q, proto_steps), (sigma, q, steps) = res.history
        assert (proto_q, proto_steps) == (1.0, 1) and proto_sigma > 0
        assert sigma > 0 and 0 < q < 1 and steps == 6
        assert 0.9 <= res.claimed_epsilon <= 1.0
        assert res.recomputed_epsilon == pytest.approx(res.claimed_epsilon, rel=1e-9)
        assert res.ledger_findings == ()
        assert res.bound.epsilon_lower_bound <= res.claimed_epsilon and not res.violated, res.describe()
        assert math.isfinite(res.auc)
