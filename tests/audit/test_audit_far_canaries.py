"""far-token canaries: chosen by the auditor alone (public strings, public encoder), reproducibly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from datasets import Dataset

from fedflm.audit.empirical.audit import public_encoder
from fedflm.audit.empirical.canaries import FAR_POOL_FACTOR, farthest_points, make_canaries
from fedflm.config import ModelConfig
from fedflm.errors import ConfigError
from fedflm.models.lora import build_model, load_tokenizer


class _OwnerData:
    """Stands where the owner's rows go; any read of it fails the test."""

    def __getattr__(self, name: str):
        raise AssertionError(f"far-token canaries read the owner's data ({name})")

    def __len__(self) -> int:
        raise AssertionError("far-token canaries read the owner's data (len)")

    def __getitem__(self, key):
        raise AssertionError("far-token canaries read the owner's data (getitem)")


@pytest.fixture(scope="module")
def encoder(tiny_model_dir: Path):
    cfg = ModelConfig(model=str(tiny_model_dir), device="cpu")
    tok = load_tokenizer(cfg)
    torch.manual_seed(0)
    model = build_model(cfg, ("negative", "positive"), 0)
    seen: list[str] = []
    encode = public_encoder(model, tok, 32, torch.device("cpu"))

    def recording(texts):
        seen.extend(texts)
        return encode(texts)
    return tok, recording, seen


def _mean_nearest_cos(v: np.ndarray, centre: np.ndarray) -> float:
    """Mean over rows of the largest cosine to another row, about ``centre``."""
    v = v - centre
    v = v / np.linalg.norm(v, axis=1, keepdims=True)
    g = v @ v.T
    np.fill_diagonal(g, -np.inf)
    return float(g.max(1).mean())


def test_same_seed_same_canaries_and_no_owner_row_is_read(encoder) -> None:
    # Prepare
    tok, encode, seen = encoder
    owner = _OwnerData()
    # Execute
    a, rest = make_canaries("far-token", 40, tokenizer=tok, pool=owner, num_labels=2, seed=7, encode=encode)
    b, _ = make_canaries("far-token", 40, tokenizer=tok, pool=owner, num_labels=2, seed=7, encode=encode)
    c, _ = make_canaries("far-token", 40, tokenizer=tok, pool=owner, num_labels=2, seed=8, encode=encode)
    # Assert: reproducible from the seed alone; the owner's rows pass through untouched (rest is the same
    # object, never read); the encoder saw only the auditor's candidate strings, 4 x m per call
    assert (a.texts, a.labels, a.included) == (b.texts, b.labels, b.included)
    assert a.texts != c.texts
    assert rest is owner
    assert len(seen) == 3 * FAR_POOL_FACTOR * 40 and set(a.texts) <= set(seen)
    assert len(set(a.texts)) == 40 and a.kind == "far-token"
    assert sorted(a.labels) == [0] * 20 + [1] * 20  # balanced


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_far_canaries_are_more_spread_than_random_ones(encoder, seed: int) -> None:
    # Prepare
    tok, encode, _ = encoder
    empty = Dataset.from_dict({"text": [], "label": []})
    # Execute
    far, _ = make_canaries("far-token", 50, tokenizer=tok, pool=empty, num_labels=2, seed=seed, encode=encode)
    rnd, _ = make_canaries("unique-token", 50, tokenizer=tok, pool=empty, num_labels=2, seed=seed)
    # Assert: the greedy selection lowers each canary's cosine to its nearest other canary (about the mean)
    # (tiny BERT, seeds 0/1/2: far 0.425/0.423/0.420 vs random 0.573/0.602/0.570; gap 0.15-0.18 vs 0.03)
    vf, vr = encode(far.texts), encode(rnd.texts)
    centre = np.concatenate([vf, vr]).mean(0)
    far_cos, rnd_cos = _mean_nearest_cos(vf, centre), _mean_nearest_cos(vr, centre)
    assert far_cos < rnd_cos - 0.03, (far_cos, rnd_cos)


def test_farthest_points_picks_spread_rows_deterministically() -> None:
    # Prepare: three directions, each repeated; the rows' mean is closest to none in particular
    v = np.array([[1.0, 0, 0], [0.99, 0.01, 0], [0, 1.0, 0], [0, 0.98, 0.02], [0, 0, 1.0], [0.01, 0, 0.99]])
    # Execute
    chosen = farthest_points(v, 3)
    # Assert: one row of each direction, the same on a second call
    assert sorted(int(np.argmax(np.abs(v[i]))) for i in chosen) == [0, 1, 2]
    assert farthest_points(v, 3) == chosen


def test_far_token_needs_the_encoder(encoder) -> None:
    tok, _, _ = encoder
    with pytest.raises(ConfigError, match="far-token canaries need the public encoder"):
        make_canaries("far-token", 10, tokenizer=tok, pool=_OwnerData(), num_labels=2, seed=0)


def test_far_canaries_with_out_guesses_through_the_audit_stay_below_a_dp_claim(no_dropout_model: Path) -> None:
    # Prepare: head mode with its prototype round (as the SST-2 recipe), DP-SGD at eps 1
    from fedflm.audit.empirical.audit import EmpiricalConfig, run_empirical_audit
    from fedflm.config import RunConfig

    cfg = RunConfig.from_flat({"dataset": "sst2", "clients": 4, "rounds": 2, "samples_per_client": 16,
                               "partition": "iid", "model": str(no_dropout_model), "device": "cpu",
                               "train_mode": "head", "proto_fraction": 0.5, "local_steps": 6, "batch_size": 8,
                               "lr": 0.05, "max_length": 32, "dp": "sample", "epsilon": 1.0})
    # Execute
    res = run_empirical_audit(cfg, EmpiricalConfig(canaries=40, kind="far-token", guess="out", seed=0))
    # Assert: only "out" guesses were made (4 one-sided candidates), and the bound stays below the claim
    # (seeds 0 / 1 / 2: bound 0 / 0 / 0 against claims 0.991 / 0.991 / 0.990; 2/2, 0/2, 2/2 guesses right)
    b = res.bound
    assert (b.k_pos, b.candidates, b.r) == (0, 4, b.k_neg) and b.m == 40
    assert res.canary_kind == "far-token" and res.to_json()["guess"] == "out"
    assert 0.9 <= res.claimed_epsilon <= 1.0
    assert b.epsilon_lower_bound <= res.claimed_epsilon and not res.violated, res.describe()
