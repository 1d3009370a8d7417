"""The empirical audit trains as a node does: cached frozen features give the same canary scores.

With dropout off, a head round on cached sentence vectors computes what the full model computes
(tests/train/test_cache.py checks one step's loss and gradients). Under DP-SGD with a fixed seed,
Poisson sampling and noise draw from one generator seeded alike on both paths, so whole audits
agree. Without DP the two paths order their batches differently (length-grouped token batches,
shuffled cached rows): equal only when one batch holds every row, as below.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from datasets import Dataset

from fedflm.audit.empirical.audit import EmpiricalConfig, run_empirical_audit
from fedflm.audit.empirical.training import PlainTrainer, cache_of_vectors, train_like_a_node
from fedflm.config import RunConfig
from fedflm.errors import ConfigError
from fedflm.models.lora import build_model, head_linear, load_tokenizer
from fedflm.privacy.prototypes import prototype_head
from fedflm.train.batching import TokenizedDataset


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
    # The bound ranks the scores. Two canaries may lie closer than the paths differ (seed 3 without DP: a pair 6.6e-6
    # apart, paths 8.8e-6 apart), so another CPU may swap them and move a correct-guess count by one: the bounds
    # agree in what they rest on and, within that swap, in value
    b, u = cached.bound, uncached.bound
    assert (b.m, b.candidates, b.confidence, b.delta) == (u.m, u.candidates, u.confidence, u.delta) and b.m == 16
    assert b.epsilon_lower_bound == pytest.approx(u.epsilon_lower_bound, abs=0.1)


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


def test_a_cache_of_chosen_vectors_is_what_the_node_path_trains_on(tiny_model_dir: Path) -> None:
    # Prepare: five rows whose sentence vectors are chosen unit vectors, not the encoder's
    cfg = _cfg(tiny_model_dir, dp="none")  # 2 rounds: round 1 is the prototype round
    model = build_model(cfg.model, ("negative", "positive"), 0)
    labels = [0, 1, 0, 1, 1]
    rows = TokenizedDataset(Dataset.from_dict({"text": ["x"] * 5, "label": labels}), load_tokenizer(cfg.model), 8)
    width = head_linear(model).in_features
    vecs = torch.nn.functional.normalize(torch.randn(5, width, generator=torch.Generator().manual_seed(0)), dim=1)
    cache = cache_of_vectors(model, rows, torch.device("cpu"), list(vecs))
    # Execute: round 1 of a prototype run without DP
    history = train_like_a_node(cfg, model, rows, 1, PlainTrainer(cfg), torch.device("cpu"), cache=cache)
    # Assert: the prototype head is built from the chosen vectors' class sums
    sums = torch.stack([vecs[[0, 2]].sum(0), vecs[[1, 3, 4]].sum(0)])
    assert history == [(0.0, 1.0, 1)]
    torch.testing.assert_close(head_linear(model).weight, prototype_head(sums, cfg.train.proto_scale)["weight"])
    with pytest.raises(ConfigError, match="4 vectors for 5 rows"):
        cache_of_vectors(model, rows, torch.device("cpu"), list(vecs[:4]))
