"""Pooling that follows the model: sentence-transformers configs, conventions, mean pooling, reload."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from fedflm.config import ModelConfig
from fedflm.errors import ModelError
from fedflm.models.classifier import load_classifier
from fedflm.models.lora import build_model, get_adapter_state, pooled_classifier, save_adapter, set_adapter_state
from fedflm.models.pooling import PoolingSpec, pool, read_sentence_transformers, resolve_pooling

LABELS = ("a", "b", "c")


def write_st_config(model_dir: Path, mode: str = "mean", normalize: bool = True) -> None:
    """The two files sentence-transformers writes next to a checkpoint."""
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
    if normalize:
        modules.append({"idx": 2, "name": "2", "path": "2_Normalize",
                        "type": "sentence_transformers.models.Normalize"})
    (model_dir / "modules.json").write_text(json.dumps(modules))
    (model_dir / "1_Pooling").mkdir(exist_ok=True)
    (model_dir / "1_Pooling" / "config.json").write_text(json.dumps({
        "word_embedding_dimension": 32, "pooling_mode_cls_token": mode == "cls",
        "pooling_mode_mean_tokens": mode == "mean", "pooling_mode_max_tokens": mode == "max",
        "pooling_mode_mean_sqrt_len_tokens": False}))


@pytest.fixture()
def st_model_dir(tiny_model_dir: Path, tmp_path: Path) -> Path:
    out = tmp_path / "st-model"
    shutil.copytree(tiny_model_dir, out)
    write_st_config(out)
    return out


def test_pooling_is_read_from_a_sentence_transformers_config(tmp_path: Path) -> None:
    # Prepare
    write_st_config(tmp_path, mode="mean", normalize=True)

    # Execute
    spec = read_sentence_transformers(tmp_path)

    # Assert
    assert spec is not None and spec.mode == "mean" and spec.normalize
    assert resolve_pooling("auto", tmp_path, "bert") == spec


def test_cls_without_normalize_is_read_too(tmp_path: Path) -> None:
    # Prepare
    write_st_config(tmp_path, mode="cls", normalize=False)

    # Execute
    spec = resolve_pooling("auto", tmp_path, "bert")

    # Assert
    assert (spec.mode, spec.normalize) == ("cls", False)


@pytest.mark.parametrize(("model_type", "expected"), [("bert", "cls"), ("gpt2", "last"), ("llama", "last")])
def test_auto_without_a_config_follows_the_architecture(tmp_path: Path, model_type: str, expected: str) -> None:
    # Execute
    spec = resolve_pooling("auto", tmp_path, model_type)

    # Assert
    assert spec.mode == expected and not spec.normalize


def test_an_unknown_pooling_is_refused(tmp_path: Path) -> None:
    # Execute / Assert
    with pytest.raises(ModelError, match="pooling must be one of"):
        resolve_pooling("median", tmp_path, "bert")


def test_last_pooling_reads_the_last_real_token() -> None:
    # Prepare: right padding, rows of length 3 and 1
    hidden = torch.arange(2 * 4 * 2, dtype=torch.float32).reshape(2, 4, 2)
    mask = torch.tensor([[1, 1, 1, 0], [1, 0, 0, 0]])

    # Execute
    out = pool(hidden, mask, PoolingSpec("last"))

    # Assert
    assert torch.equal(out, torch.stack([hidden[0, 2], hidden[1, 0]]))


def test_mean_pooled_output_equals_a_direct_computation(st_model_dir: Path) -> None:
    # Prepare
    model = build_model(ModelConfig(model=str(st_model_dir)), LABELS, seed=0).eval()
    clf = pooled_classifier(model)
    ids = torch.randint(5, 100, (3, 6))
    mask = torch.tensor([[1] * 6, [1] * 4 + [0] * 2, [1] * 2 + [0] * 4])

    # Execute
    with torch.no_grad():
        got = clf.embed(ids, mask)
        hidden = clf.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
    # the direct computation, row by row over the real tokens only
    rows = [hidden[i, : int(mask[i].sum())].mean(0) for i in range(3)]
    expected = torch.stack([r / r.norm() for r in rows])

    # Assert
    assert clf.pooling.mode == "mean" and clf.pooling.normalize
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(got.norm(dim=1), torch.ones(3))


def test_head_starts_at_zero(st_model_dir: Path) -> None:
    # Execute
    state = get_adapter_state(build_model(ModelConfig(model=str(st_model_dir)), LABELS, seed=0))

    # Assert: every class equally likely before training
    head = [v for k, v in state.items() if ".classifier." in k]
    assert len(head) == 2 and all(float(abs(v).max()) == 0.0 for v in head)


def test_saved_adapter_loads_with_peft_and_gives_the_same_logits(st_model_dir: Path, tmp_path: Path) -> None:
    # Prepare: a model whose adapter is not at its initial value
    model = build_model(ModelConfig(model=str(st_model_dir)), LABELS, seed=0)
    gen = torch.Generator().manual_seed(3)
    set_adapter_state(model, {k: torch.randn(v.shape, generator=gen).numpy() * 0.1
                              for k, v in get_adapter_state(model).items()})
    save_adapter(model, tmp_path / "adapter", LABELS)
    ids, mask = torch.randint(5, 100, (2, 5)), torch.ones(2, 5, dtype=torch.long)

    # Execute
    loaded = load_classifier(tmp_path / "adapter", base_model=str(st_model_dir))

    # Assert
    with torch.no_grad():
        expected = model.eval()(input_ids=ids, attention_mask=mask).logits
        got = loaded(input_ids=ids, attention_mask=mask).logits
    torch.testing.assert_close(got, expected)
    assert pooled_classifier(loaded).pooling == pooled_classifier(model).pooling
