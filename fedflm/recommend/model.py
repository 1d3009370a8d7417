"""The recommender: a bi-encoder on the classifier's frozen pooled sentence vectors.

The LM (any encoder or decoder fedflm classifies with) reads a user's history text and a
candidate item's text *separately*, with the classifier's own pooling
(:class:`fedflm.models.classifier.PooledClassifier.embed`, :mod:`fedflm.models.pooling`), and
two small towers map the two sentence vectors into one space:

    score(user, item) = <U h_user, V h_item> + w . h_item

(``w . h_item``: an item prior -- popularity as the item's text predicts it). Only ``U``, ``V`` and
``w`` train (head mode on frozen features), and only they travel.

**Why a bi-encoder, not a cross-encoder**: an item's vector does not depend on the user, so the
catalogue is encoded once and scoring a user against N candidates is one LM pass for the
history plus N dot products (a cross-encoder needs N LM passes per user). Under DP-SGD the
frozen encoder also means every user's texts are encoded once per owner, not once per step,
and the privatised gradient is that of a few thousand head values, not of the encoder.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from fedflm.config import ModelConfig
from fedflm.models.classifier import PooledClassifier
from fedflm.models.pooling import resolve_pooling
from fedflm.models.registry import resolve_model_path
from fedflm.recommend.config import TOWER_INITS

__all__ = ["TwoTower", "encode_texts", "load_encoder"]


class TwoTower(nn.Module):
    """``forward(features)`` with ``features = [h_user, h_item]`` (``[batch, 2 * width]``) -> scores ``[batch]``.

    One positional input, so that Opacus' ``ew`` and ``hooks`` modes both compute per-row gradients."""

    def __init__(self, width: int, embed_dim: int, seed: int, init: str = "random") -> None:
        super().__init__()
        if init not in TOWER_INITS:
            raise ValueError(f"tower init must be one of {', '.join(TOWER_INITS)}, got {init!r}")
        gen = torch.Generator().manual_seed(seed)
        self.width = width
        self.user = nn.Linear(width, embed_dim, bias=False)
        self.item = nn.Linear(width, embed_dim, bias=False)
        self.prior = nn.Linear(width, 1)
        with torch.no_grad():  # seeded, not PyTorch's global generator
            if init == "shared":  # U = V = Q, Q^T Q ~ I: the score starts as the encoder's similarity h_u . h_i
                q = torch.randn((embed_dim, width), generator=gen) / embed_dim ** 0.5
                self.user.weight.copy_(q)
                self.item.weight.copy_(q)
            else:
                for layer in (self.user, self.item):
                    layer.weight.copy_(torch.randn(layer.weight.shape, generator=gen) / width ** 0.5)
            self.prior.weight.zero_()
            self.prior.bias.zero_()

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        user, item = features[:, :self.width], features[:, self.width:]
        return (self.user(user) * self.item(item)).sum(-1) + self.prior(item).squeeze(-1)


def load_encoder(model: str, pooling: str) -> tuple[PooledClassifier, Any]:
    """The frozen encoder with the classifier's pooling (``pooling`` as ``--pooling`` reads), and its tokenizer."""
    from fedflm.models.lora import config_model_type, load_tokenizer

    path = resolve_model_path(model)
    spec = resolve_pooling(pooling, path, config_model_type(path))
    encoder = PooledClassifier.from_pretrained(path, 1, spec).eval()
    encoder.requires_grad_(False)
    return encoder, load_tokenizer(ModelConfig(model=model, pooling=pooling))


@torch.no_grad()
def encode_texts(encoder: PooledClassifier, tok: Any, texts: list[str], max_length: int,
                 batch_size: int = 64) -> dict[str, torch.Tensor]:
    """text -> its pooled sentence vector (each distinct text encoded once; padding on the right)."""
    tok.padding_side = "right"  # pool()'s "last" mode reads the last real token
    unique = list(dict.fromkeys(texts))
    out: dict[str, torch.Tensor] = {}
    for start in range(0, len(unique), batch_size):
        chunk = unique[start:start + batch_size]
        enc = tok(chunk, truncation=True, max_length=max_length, padding=True, return_tensors="pt")
        vectors = encoder.embed(enc["input_ids"], enc["attention_mask"]).float()
        out.update(zip(chunk, vectors))
    return out
