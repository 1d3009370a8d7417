"""Adapter state in and out of a LoRA model: only trainable tensors, exact round trips, refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from peft import PeftModel

from fedflm.config import ModelConfig
from fedflm.errors import ModelError
from fedflm.models.lora import (adapter_nbytes, build_model, get_adapter_state, head_linear, head_weight_key,
                                model_nbytes, set_adapter_state)

LABELS = ("negative", "positive")


@pytest.fixture()
def model(tiny_model_dir: Path) -> PeftModel:
    return build_model(ModelConfig(model=str(tiny_model_dir)), LABELS, seed=0)


def perturbed(state: dict[str, np.ndarray], seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {k: (v + rng.normal(0, 0.5, v.shape)).astype(v.dtype) for k, v in state.items()}


def frozen_snapshot(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in model.named_parameters() if not p.requires_grad}


def test_state_holds_exactly_the_trainable_tensors(model: PeftModel) -> None:
    # Prepare
    trainable = [p for p in model.parameters() if p.requires_grad]
    frozen = [p for p in model.parameters() if not p.requires_grad]

    # Execute
    state = get_adapter_state(model)

    # Assert: LoRA A/B (2 layers x query, value) + classifier weight and bias, nothing else
    assert len(state) == len(trainable) == 10
    assert sum(v.size for v in state.values()) == sum(p.numel() for p in trainable)
    assert all(("lora_A" in k or "lora_B" in k or ".classifier." in k) for k in state)
    assert sum(".classifier." in k for k in state) == 2
    assert not any(k for k in state if "embeddings" in k or k.endswith("query.weight"))
    assert frozen and all(isinstance(v, np.ndarray) for v in state.values())


def test_adapter_is_much_smaller_than_the_model(model: PeftModel) -> None:
    # Prepare
    state = get_adapter_state(model)

    # Execute
    ratio = adapter_nbytes(state) / model_nbytes(model)

    # Assert: raw float32 bytes of the travelling tensors, a small share of the whole model
    assert adapter_nbytes(state) == 4 * sum(v.size for v in state.values())
    assert ratio < 0.06


def test_set_then_get_round_trips_names_shapes_and_values(model: PeftModel) -> None:
    # Prepare
    before = get_adapter_state(model)
    new = perturbed(before, seed=1)
    frozen = frozen_snapshot(model)

    # Execute
    set_adapter_state(model, new)
    after = get_adapter_state(model)

    # Assert
    assert list(after) == list(before)
    assert all(after[k].shape == before[k].shape and after[k].dtype == np.float32 for k in after)
    assert all(np.array_equal(after[k], new[k]) for k in after)
    assert all(torch.equal(p, frozen[n]) for n, p in model.named_parameters() if n in frozen)


def test_state_moves_a_model_onto_another(tiny_model_dir: Path) -> None:
    # Prepare: two models with different LoRA/head initialisations
    cfg = ModelConfig(model=str(tiny_model_dir))
    source, target = build_model(cfg, LABELS, seed=1), build_model(cfg, LABELS, seed=2)
    set_adapter_state(source, perturbed(get_adapter_state(source), seed=3))
    ids = torch.tensor([[2, 40, 41, 42, 3], [2, 50, 3, 0, 0]])
    mask = (ids != 0).long()
    source.eval(), target.eval()

    # Execute
    set_adapter_state(target, get_adapter_state(source))

    # Assert: identical outputs, so nothing outside the state differs between the two
    with torch.no_grad():
        out_s = source(input_ids=ids, attention_mask=mask).logits
        out_t = target(input_ids=ids, attention_mask=mask).logits
    assert torch.equal(out_s, out_t)


def test_mismatched_shape_is_refused_and_named(model: PeftModel) -> None:
    # Prepare
    state = get_adapter_state(model)
    key = next(k for k in state if "lora_A" in k)
    state[key] = np.zeros((4, 32), dtype=np.float32)

    # Execute
    with pytest.raises(ModelError) as info:
        set_adapter_state(model, state)

    # Assert
    assert key in str(info.value) and "(4, 32)" in str(info.value)


def test_missing_key_is_refused(model: PeftModel) -> None:
    # Prepare
    state = get_adapter_state(model)
    key = next(k for k in state if ".classifier." in k)
    del state[key]

    # Execute
    with pytest.raises(ModelError) as info:
        set_adapter_state(model, state)

    # Assert
    assert "missing" in str(info.value) and key in str(info.value)


def test_unexpected_key_is_refused(model: PeftModel) -> None:
    # Prepare: a frozen base tensor must never be accepted as part of an update
    state = get_adapter_state(model)
    state["base_model.model.bert.embeddings.word_embeddings.weight"] = np.zeros((3, 32), np.float32)
    before = get_adapter_state(model)

    # Execute
    with pytest.raises(ModelError) as info:
        set_adapter_state(model, state)

    # Assert: refused before anything was written
    assert "unexpected" in str(info.value) and "word_embeddings" in str(info.value)
    assert all(np.array_equal(v, before[k]) for k, v in get_adapter_state(model).items())


def test_missing_model_directory_is_a_model_error(tmp_path: Path) -> None:
    # Prepare
    cfg = ModelConfig(model=str(tmp_path / "no-such-model"))

    # Execute
    with pytest.raises(ModelError) as info:
        build_model(cfg, LABELS, seed=0)

    # Assert
    assert "no-such-model" in str(info.value) and "not found" in str(info.value)


def test_head_weight_key_names_the_head_weight_in_the_state(model: PeftModel) -> None:
    # Prepare: issue 21's prototype screen reads the class sums under this key
    state = get_adapter_state(model)

    # Execute
    key = head_weight_key(model)

    # Assert
    np.testing.assert_array_equal(state[key], head_linear(model).weight.detach().numpy())
    assert state[key].shape == (len(LABELS), head_linear(model).in_features)
