"""The class names' sentence vectors (issue 15's zero-shot prior for the prototype head)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from flwr.app import ArrayRecord

from fedflm.config import ModelConfig, RunConfig
from fedflm.fl.arrays import from_record, to_record
from fedflm.models.lora import build_model, get_adapter_state, head_linear, load_tokenizer, pooled_classifier
from fedflm.models.name_prior import label_text, name_vectors
from fedflm.privacy.prototypes import prototype_head

LABELS = ("card_arrival", "lost-or-stolen card", "exchangeRate")


@pytest.mark.parametrize(("name", "text"), [("card_arrival", "card arrival"), ("Refund_not_showing_up", "Refund not showing up"),
                                             ("lost--or_stolen", "lost or stolen"), ("exchangeRate", "exchange Rate"),
                                             ("positive", "positive")])
def test_a_class_name_reads_as_words(name: str, text: str) -> None:
    # Execute / Assert
    assert label_text(name) == text


def test_name_vectors_are_the_encoders_own_vector_of_each_name(tiny_model_dir: Path) -> None:
    # Prepare
    cfg = ModelConfig(model=str(tiny_model_dir))
    clf, tok = pooled_classifier(build_model(cfg, LABELS, seed=0)), load_tokenizer(cfg)
    clf.train()

    # Execute: all names in one padded batch
    got = name_vectors(clf, tok, LABELS, max_length=16)

    # Assert: each row equals that name embedded alone (no padding), in eval mode; the mode is restored
    clf.eval()
    for i, name in enumerate(LABELS):
        enc = tok(label_text(name), return_tensors="pt")
        with torch.no_grad():
            alone = clf.embed(enc["input_ids"], enc["attention_mask"])[0]
        assert torch.allclose(got[i], alone, atol=1e-5)
    assert got.shape == (len(LABELS), head_linear_width(clf))
    clf.train()
    assert clf.training


def head_linear_width(clf) -> int:
    return int(clf.classifier.in_features if hasattr(clf.classifier, "in_features")
               else clf.classifier.original_module.in_features)


def test_the_servers_prototype_round_mixes_the_names_into_the_head(tiny_model_dir: Path) -> None:
    # Prepare: the aggregate of round 1 carries class sums in the head's weight
    from server.app import _prototype_head

    cfg = RunConfig.from_flat({"model": str(tiny_model_dir), "train_mode": "head", "name_prior": 1.0,
                               "proto_scale": 10.0, "max_length": 16})
    model = build_model(cfg.model, LABELS, seed=0)
    state = get_adapter_state(model)
    key = next(k for k in state if k.endswith("weight") and state[k].shape[0] == len(LABELS))
    sums = np.random.default_rng(0).normal(size=state[key].shape).astype(np.float32)
    state[key] = sums

    # Execute
    out = from_record(_prototype_head(cfg, model, LABELS)(1, to_record(state)))
    untouched = _prototype_head(cfg, model, LABELS)(2, ArrayRecord())

    # Assert: the head is prototype_head(sums, scale, names, 1.0) (the names from the same encoder)
    names = name_vectors(pooled_classifier(model), load_tokenizer(cfg.model), LABELS, 16)
    want = prototype_head(torch.from_numpy(sums), 10.0, names, 1.0)["weight"]
    assert torch.allclose(torch.from_numpy(np.asarray(out[key])), want, atol=1e-5)
    assert not torch.allclose(want, prototype_head(torch.from_numpy(sums), 10.0)["weight"], atol=1e-3)
    assert len(untouched) == 0
    assert head_linear(model).weight.shape == want.shape
