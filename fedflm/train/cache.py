"""Frozen-feature cache: run the frozen part of the model once per owner per run.

When the encoder is frozen (head mode, the head phase of lp-ft) each example's pooled
sentence vector never changes; when LoRA sits on the top ``lora_layers`` layers only, the
layers below never change either. Recomputing them every step is most of the cost of a
DP round on CPU. :class:`FrozenCache` computes them once (``torch.no_grad``, eval mode)
and hands out loaders of cached tensors plus the small trainable ``tail`` module that
continues from them. The cache lives in the worker's memory only, never on disk.

Same numbers as the uncached path with dropout off (tests/train/test_cache.py checks loss
and gradients). With dropout on, they differ in one way: the uncached path drops units in
the frozen layers too (they run in train mode), the cached path computes the frozen part
once without dropout; dropout in the trainable tail (and LoRA dropout) is unchanged.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from fedflm.models.classifier import PooledClassifier
from fedflm.models.pooling import PoolingSpec, pool
from fedflm.train.batching import PadCollator, TokenizedDataset, eval_loader

#: model types whose encoder is ``embeddings`` + ``encoder.layer[i](hidden, mask)`` (BERT family).
LAYER_CACHE_TYPES = {"bert", "roberta", "xlm-roberta", "electra"}


class HeadTail(nn.Module):
    """The head alone, on cached sentence vectors."""

    def __init__(self, classifier: nn.Module) -> None:
        super().__init__()
        self.classifier = classifier

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.classifier(features)


class LayersTail(nn.Module):
    """The top transformer layers (with their LoRA), pooling and head, on cached hidden states."""

    def __init__(self, clf: PooledClassifier, start: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(list(clf.encoder.encoder.layer)[start:])
        self.classifier = clf.classifier
        self.pooling: PoolingSpec = clf.pooling
        self.config = clf.config

    def embed(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        from transformers.masking_utils import create_bidirectional_mask

        mask = create_bidirectional_mask(config=self.config, inputs_embeds=hidden, attention_mask=attention_mask)
        for layer in self.layers:
            out = layer(hidden, mask)
            hidden = out[0] if isinstance(out, tuple) else out
        return pool(hidden, attention_mask, self.pooling)

    def forward(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.embed(hidden, attention_mask))


class CachedRows(Dataset):
    """Cached per-row tensors (sentence vectors or hidden states) with their labels."""

    def __init__(self, rows: Sequence[torch.Tensor], labels: Sequence[int]) -> None:
        self.rows, self.labels = rows, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.rows[i], self.labels[i]


class FeatureCollator:
    """Stacks cached sentence vectors; an empty list gives an empty batch (Poisson sampling)."""

    def __init__(self, width: int) -> None:
        self.width = width

    def __call__(self, rows):
        feats = torch.stack([r for r, _ in rows]) if rows else torch.zeros((0, self.width))
        return {"features": feats, "labels": torch.as_tensor([y for _, y in rows], dtype=torch.long)}


class HiddenCollator:
    """Pads cached per-row hidden states ``[len, dim]`` to the batch's longest row."""

    def __init__(self, width: int) -> None:
        self.width = width

    def __call__(self, rows):
        seq = max((r.shape[0] for r, _ in rows), default=1)
        hidden = torch.zeros((len(rows), seq, self.width))
        mask = torch.zeros((len(rows), seq), dtype=torch.long)
        for i, (r, _) in enumerate(rows):
            hidden[i, : r.shape[0]] = r
            mask[i, : r.shape[0]] = 1
        return {"hidden": hidden, "attention_mask": mask,
                "labels": torch.as_tensor([y for _, y in rows], dtype=torch.long)}


def layer_cache_supported(clf: PooledClassifier, lora_layers: int) -> bool:
    """True when the layers below the top ``lora_layers`` can be cached for this architecture."""
    return (lora_layers > 0 and clf.config.model_type in LAYER_CACHE_TYPES
            and lora_layers < clf.config.num_hidden_layers)


@torch.no_grad()
def run_frozen(clf: PooledClassifier, data: TokenizedDataset, device: torch.device, below: int | None,
                batch_size: int = 128) -> list[torch.Tensor]:
    """Per row: the pooled vector (``below`` None) or the hidden state entering layer ``below``."""
    was_training = clf.training
    clf.eval()  # the frozen part without dropout
    out: list[torch.Tensor | None] = [None] * len(data)
    loader = eval_loader(data, batch_size)
    order = iter(loader.batch_sampler)
    try:
        for batch, idx in zip(loader, order):
            ids, mask = batch["input_ids"].to(device), batch["attention_mask"].to(device)
            if below is None:
                vecs = clf.embed(ids, mask).cpu()
                for j, i in enumerate(idx):
                    out[i] = vecs[j].clone()
            else:
                states = clf.encoder(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states
                h = states[below].cpu()
                lengths = mask.sum(1).tolist()
                for j, i in enumerate(idx):
                    out[i] = h[j, : int(lengths[j])].clone()
    finally:
        clf.train(was_training)
    return out  # type: ignore[return-value]


class FrozenCache:
    """One owner's cached frozen outputs (memory only) and the loaders built on them."""

    def __init__(self, clf: PooledClassifier, data: TokenizedDataset, device: torch.device) -> None:
        self.clf, self.data, self.device = clf, data, device
        self.width = int(clf.classifier.in_features if hasattr(clf.classifier, "in_features")
                         else clf.classifier.original_module.in_features)
        self._features: list[torch.Tensor] | None = None
        self._features_key: object = None
        self._hidden: dict[int, list[torch.Tensor]] = {}

    def _lora_key(self) -> object:
        """What the cached sentence vectors depend on: the LoRA weights, unless every B is zero.

        LoRA with B = 0 is the identity, whatever A holds; FedAvg's float rounding moves A a
        little every round (the weighted mean of equal tensors) while B = 0 stays exactly zero,
        so a head-only run computes its vectors once."""
        lora = [(n, p.detach()) for n, p in self.clf.named_parameters() if "lora_" in n]
        if all(not bool(p.any()) for n, p in lora if "lora_B" in n):
            return "identity"
        return tuple(float(p.double().sum()) for _, p in lora)

    def _vectors(self) -> list[torch.Tensor]:
        key = self._lora_key()
        if self._features is None or key != self._features_key:
            self._features, self._features_key = run_frozen(self.clf, self.data, self.device, None), key
        return self._features

    def vectors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``([rows, hidden] sentence vectors, [rows] labels)`` of the owner's data (DP prototypes)."""
        return torch.stack(self._vectors()), torch.as_tensor(list(self.data.labels), dtype=torch.long)

    def head(self, batch_size: int, seed: int) -> tuple[nn.Module, DataLoader]:
        """Trainable head + shuffled loader of cached sentence vectors (frozen encoder)."""
        ds = CachedRows(self._vectors(), self.data.labels)
        gen = torch.Generator().manual_seed(seed)
        return HeadTail(self.clf.classifier), DataLoader(ds, batch_size=batch_size, shuffle=True, generator=gen,
                                                         collate_fn=FeatureCollator(self.width))

    def layers(self, lora_layers: int, batch_size: int, seed: int) -> tuple[nn.Module, DataLoader]:
        """Trainable top layers + head, and a loader of the cached hidden states below them."""
        start = self.clf.config.num_hidden_layers - lora_layers
        if start not in self._hidden:
            self._hidden[start] = run_frozen(self.clf, self.data, self.device, start)
        ds = CachedRows(self._hidden[start], self.data.labels)
        gen = torch.Generator().manual_seed(seed)
        return LayersTail(self.clf, start), DataLoader(ds, batch_size=batch_size, shuffle=True, generator=gen,
                                                       collate_fn=HiddenCollator(self.width))
