"""The frozen-feature cache gives the same loss and gradients as the uncached path (dropout off)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from datasets import Dataset

from fedflm.config import ModelConfig
from fedflm.models.lora import build_model, get_adapter_state, load_tokenizer, pooled_classifier, set_adapter_state, set_phase
from fedflm.train.batching import TokenizedDataset
from fedflm.train.cache import FrozenCache, layer_cache_supported
from fedflm.train.local import logits_of

CPU = torch.device("cpu")
LABELS = ("negative", "positive")


@pytest.fixture(scope="module")
def tokenized(tiny_model_dir: Path, sst2_sample: list[tuple[str, int]]) -> TokenizedDataset:
    rows = sst2_sample[:40]
    ds = Dataset.from_dict({"text": [t for t, _ in rows], "label": [y for _, y in rows]})
    return TokenizedDataset(ds, load_tokenizer(ModelConfig(model=str(tiny_model_dir))), 32)


def _model(tiny_model_dir: Path, lora_layers: int, pooling: str):
    model = build_model(ModelConfig(model=str(tiny_model_dir), lora_layers=lora_layers, pooling=pooling),
                        LABELS, seed=0)
    gen = torch.Generator().manual_seed(1)  # move away from B = 0 / zero head so gradients are generic
    set_adapter_state(model, {k: torch.randn(v.shape, generator=gen).numpy() * 0.2
                              for k, v in get_adapter_state(model).items()})
    return model.eval()  # dropout off on both paths


def _loss_and_grads(module: torch.nn.Module, model: torch.nn.Module, batch: dict) -> tuple[float, dict]:
    model.zero_grad(set_to_none=True)
    loss = torch.nn.functional.cross_entropy(logits_of(module, batch), batch["labels"])
    loss.backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}
    return float(loss.detach()), grads


def _token_batch(data: TokenizedDataset, rows: list[int]) -> dict:
    from fedflm.train.batching import PadCollator
    return PadCollator(data.pad_id)([data[i] for i in rows])


def _cached_batch(loader, rows: list[int]) -> dict:
    return loader.collate_fn([loader.dataset[i] for i in rows])


@pytest.mark.parametrize("pooling", ["mean", "cls"])
def test_head_on_cached_features_matches_the_full_model(tiny_model_dir: Path, tokenized, pooling: str) -> None:
    # Prepare: head phase (encoder frozen)
    model = _model(tiny_model_dir, 0, pooling)
    set_phase(model, "head")
    rows = list(range(0, 40, 3))
    cache = FrozenCache(pooled_classifier(model), tokenized, CPU)

    # Execute
    loss_full, grads_full = _loss_and_grads(model, model, _token_batch(tokenized, rows))
    tail, loader = cache.head(batch_size=8, seed=0)
    loss_cached, grads_cached = _loss_and_grads(tail.eval(), model, _cached_batch(loader, rows))

    # Assert: only the head is trained, with the same loss and gradients
    assert set(grads_full) == set(grads_cached) and all("classifier" in n for n in grads_full)
    assert loss_cached == pytest.approx(loss_full, rel=1e-5)
    for name, g in grads_full.items():
        torch.testing.assert_close(grads_cached[name], g, rtol=1e-4, atol=1e-6)


def test_top_layers_on_cached_hidden_states_match_the_full_model(tiny_model_dir: Path, tokenized) -> None:
    # Prepare: LoRA on the top layer of two; the layer below is frozen and cached
    model = _model(tiny_model_dir, 1, "mean")
    set_phase(model, "lora")
    rows = list(range(1, 40, 4))
    cache = FrozenCache(pooled_classifier(model), tokenized, CPU)
    assert layer_cache_supported(pooled_classifier(model), 1)

    # Execute
    loss_full, grads_full = _loss_and_grads(model, model, _token_batch(tokenized, rows))
    tail, loader = cache.layers(1, batch_size=8, seed=0)
    loss_cached, grads_cached = _loss_and_grads(tail.eval(), model, _cached_batch(loader, rows))

    # Assert: same loss, same gradients on every LoRA tensor and the head
    assert sum("lora_" in n for n in grads_full) == 4
    assert set(grads_full) == set(grads_cached)
    assert loss_cached == pytest.approx(loss_full, rel=1e-5)
    for name, g in grads_full.items():
        torch.testing.assert_close(grads_cached[name], g, rtol=1e-4, atol=1e-6)


def test_cached_features_follow_a_change_of_the_lora_weights(tiny_model_dir: Path, tokenized) -> None:
    # Prepare
    model = _model(tiny_model_dir, 1, "mean")
    cache = FrozenCache(pooled_classifier(model), tokenized, CPU)
    before = cache.head(8, 0)[1].dataset[0][0].clone()

    # Execute: the server sends new LoRA weights (an lp-ft run after its head phase)
    state = get_adapter_state(model)
    set_adapter_state(model, {k: (v * 2 if "lora_B" in k else v) for k, v in state.items()})
    after = cache.head(8, 0)[1].dataset[0][0]

    # Assert
    assert not torch.allclose(before, after)
