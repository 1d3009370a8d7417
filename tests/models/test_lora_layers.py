"""``lora_layers``: LoRA on the top N transformer layers only."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from fedflm.config import ConfigError, ModelConfig
from fedflm.errors import ModelError
from fedflm.models.lora import build_model, get_adapter_state

LABELS = ("negative", "positive")


def _batch(model) -> dict[str, torch.Tensor]:
    ids = torch.randint(5, model.config.vocab_size, (4, 7))
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": torch.tensor([0, 1, 0, 1])}


def test_top_layer_only_gets_lora(tiny_model_dir: Path) -> None:
    # Prepare: the tiny BERT has 2 layers
    cfg = ModelConfig(model=str(tiny_model_dir), lora_layers=1)

    # Execute
    state = get_adapter_state(build_model(cfg, LABELS, seed=0))

    # Assert: LoRA A/B for query and value of layer 1 only, plus the head
    lora = [k for k in state if "lora_" in k]
    assert len(lora) == 4 and all(".layer.1." in k for k in lora)
    assert sum(".classifier." in k for k in state) == 2


def test_backward_stops_below_the_lowest_adapted_layer(tiny_model_dir: Path) -> None:
    # Prepare: record which layers' outputs take part in the backward pass
    model = build_model(ModelConfig(model=str(tiny_model_dir), lora_layers=1), LABELS, seed=0)
    needs_grad: dict[int, bool] = {}
    layers = model.base_model.model.encoder.encoder.layer
    for i, layer in enumerate(layers):
        layer.register_forward_hook(lambda _m, _i, out, i=i: needs_grad.__setitem__(i, out[0].requires_grad))

    # Execute
    model(**_batch(model)).loss.backward()

    # Assert: layer 0 runs without autograd, layer 1 (adapted) with it
    assert needs_grad == {0: False, 1: True}


def test_zero_means_every_layer(tiny_model_dir: Path) -> None:
    # Execute
    state = get_adapter_state(build_model(ModelConfig(model=str(tiny_model_dir)), LABELS, seed=0))

    # Assert
    assert {k.split(".layer.")[1][0] for k in state if "lora_" in k} == {"0", "1"}


def test_more_layers_than_the_model_has_is_refused(tiny_model_dir: Path) -> None:
    # Execute / Assert
    with pytest.raises(ModelError, match="lora_layers=3 but the model has only 2 layers"):
        build_model(ModelConfig(model=str(tiny_model_dir), lora_layers=3), LABELS, seed=0)


def test_negative_is_refused_on_construction() -> None:
    with pytest.raises(ConfigError, match="lora_layers must be >= 0.*got -1"):
        ModelConfig(lora_layers=-1)
