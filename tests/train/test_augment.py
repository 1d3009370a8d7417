"""issue 22: --augment edit[:COPIES]. A record and its edited copies are one privacy unit under
DP-SGD: their gradients are averaged before per-sample clipping, and the sampler (hence q and the
accountant) counts records, never rows."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.utils.data import DataLoader

from fedflm.config import RunConfig, TrainConfig
from fedflm.errors import ConfigError
from fedflm.options import parse_augment
from fedflm.privacy.dp import PrivateOptimizer, make_private, release
from fedflm.train.augment import AugmentCollator, augment_loader, edit_tokens
from fedflm.train.batching import PadCollator
from fedflm.train.local import train_local
from tiny_token_model import TinyTokenModel, per_row_grads, summed_clipped

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

CLIP = 0.01  # small enough that every unit's gradient is clipped


def _records(n: int = 6) -> list[tuple[list[int], int]]:
    rng = np.random.default_rng(1)
    return [([1, *rng.integers(3, 30, size=6).tolist(), 2], i % 2) for i in range(n)]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(3, 99), min_size=0, max_size=20), st.integers(0, 10_000))
def test_edits_keep_the_ends_and_only_drop_or_move_inner_tokens(inner, seed):
    # Prepare
    ids = [1, *inner, 2]

    # Execute
    out = edit_tokens(ids, np.random.default_rng(seed))

    # Assert: [CLS]/[SEP] in place, no new token, at least one inner token left when there was one
    assert out[0] == 1 and out[-1] == 2 and len(out) <= len(ids)
    assert all(out[1:-1].count(t) <= inner.count(t) for t in set(out[1:-1]))
    assert len(out) >= min(len(ids), 3)


def test_the_collator_expands_records_and_names_their_unit():
    # Prepare
    collate = AugmentCollator(PadCollator(0), copies=2, seed=0)

    # Execute
    batch = collate(_records(3))

    # Assert: each record, then its two copies; groups name the record; labels follow
    assert batch["groups"].tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert batch["labels"].tolist() == [0, 0, 0, 1, 1, 1, 0, 0, 0]
    assert batch["input_ids"].shape[0] == 9


def _private(model: nn.Module, records: list, copies: int):
    loader = augment_loader(DataLoader(records, batch_size=2, collate_fn=PadCollator(0)), f"edit:{copies}", 0)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    return make_private(model, opt, loader, noise_multiplier=1.0, max_grad_norm=CLIP, grad_sample_mode="hooks",
                        noise_seed=0)


def test_augmented_copies_share_one_clipped_gradient():
    # Prepare: two records with two edited copies each
    model = TinyTokenModel()
    batch = AugmentCollator(PadCollator(0), copies=2, seed=3)(_records(2))
    rows = per_row_grads(model, batch)
    direct = sum(torch.stack(rows[3 * g:3 * g + 3]).mean(0) * min(1.0, CLIP / float(
        torch.stack(rows[3 * g:3 * g + 3]).mean(0).norm())) for g in range(2))
    private_model, opt, _ = _private(model, _records(), copies=2)

    one = {k: v[:3] for k, v in batch.items()}  # the first record and its copies alone

    # Execute
    grouped = summed_clipped(private_model, opt, batch, batch["groups"])
    one_unit = summed_clipped(private_model, opt, one, one["groups"])
    one_rows = summed_clipped(private_model, opt, one, None)
    release(private_model)

    # Assert: sum over records of clip(mean of the record's rows); a record adds at most C, where
    # clipping each row apart would let it add up to 3 C
    assert torch.allclose(grouped, direct, atol=1e-6)
    assert float(one_unit.norm()) <= CLIP + 1e-6 and float(one_rows.norm()) > 2 * CLIP


def test_the_accountants_unit_is_the_record():
    # Prepare: 6 records, batch 2, 3 copies each
    model = TinyTokenModel()

    # Execute
    private_model, opt, loader = _private(model, _records(6), copies=3)
    batches = list(loader)
    release(private_model)

    # Assert: q = batch / records; the Poisson sampler draws records, each expanded to 4 rows
    assert opt.sample_rate == pytest.approx(2 / 6) and len(loader.dataset) == 6
    assert len(batches) == 3
    for b in batches:
        drawn = len(torch.unique(b["groups"]))
        assert len(b["labels"]) == 4 * drawn


def test_train_local_hands_the_units_to_dp_sgd(monkeypatch):
    # Prepare: spy on the grouping step of the real optimizer
    seen = []
    real = PrivateOptimizer._average_groups
    monkeypatch.setattr(PrivateOptimizer, "_average_groups", lambda self, g: (seen.append(len(g)), real(self, g))[1])
    model, records = TinyTokenModel(), _records(8)
    before = model.lin.weight.detach().clone()
    loader = augment_loader(DataLoader(records, batch_size=4, collate_fn=PadCollator(0)), "edit:1", 0)
    cfg = TrainConfig(local_steps=3, batch_size=4, lr=0.1, augment="edit:1", feature_cache=False)

    # Execute
    result = train_local(model, loader, cfg, torch.device("cpu"), lambda m, o, dl: make_private(
        m, o, dl, noise_multiplier=0.5, max_grad_norm=1.0, grad_sample_mode="hooks", noise_seed=0))

    # Assert: every non-empty step grouped 2 rows per record; the model changed
    assert result.steps == 3 and seen and all(n % 2 == 0 for n in seen)
    assert not torch.equal(before, model.lin.weight)


def test_augment_is_validated():
    # Execute / Assert
    assert parse_augment("none") == 0 and parse_augment("edit") == 1 and parse_augment("edit:3") == 3
    for bad in ("edit:0", "edit:1.5", "edit:9", "swap"):
        with pytest.raises(ConfigError, match="augment"):
            parse_augment(bad)
    with pytest.raises(ConfigError, match="--feature-cache false"):
        TrainConfig(augment="edit:2")
    with pytest.raises(ConfigError, match="clipped per record"):
        RunConfig(train=TrainConfig(augment="edit", feature_cache=False, loss="weighted"))
    with pytest.raises(ConfigError, match="needs token-id batches"):
        augment_loader(DataLoader([(torch.zeros(3), 0)], batch_size=1), "edit", 0)
