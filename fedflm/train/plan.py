"""What one round trains, and on what: the phase's trainable module and its batches.

Used by the ClientApp (training) and the ServerApp (global evaluation). With the cache on,
a head round trains :class:`~fedflm.train.cache.HeadTail` on cached sentence vectors and a
LoRA round with ``lora_layers`` trains :class:`~fedflm.train.cache.LayersTail` on cached
hidden states; both share their tensors with ``model``, so ``get_adapter_state(model)``
returns what they learnt. With ``--long-text sliding`` the encoder and the cache work on
windows and the loaders hand out documents (fedflm/train/documents.py).
"""

from __future__ import annotations

import torch
from peft import PeftModel
from torch.utils.data import DataLoader

from fedflm.config import RunConfig
from fedflm.models.lora import pooled_classifier, set_phase
from fedflm.train.batching import TokenizedDataset, eval_loader, train_loader
from fedflm.train.cache import FrozenCache, layer_cache_supported
from fedflm.train.documents import document_loader
from fedflm.train.local import EvalResult, evaluate
from fedflm.train.phases import phase_of_round


def round_module(model: PeftModel, data: TokenizedDataset, cfg: RunConfig, server_round: int, seed: int,
                 cache: FrozenCache | None) -> tuple[torch.nn.Module, DataLoader, str]:
    """(module to train, its training loader, phase) for ``server_round``; with sliding windows the
    loader's batches are ``batch_size`` documents, all their windows, with ``groups`` (documents.py)."""
    phase = phase_of_round(cfg.train, cfg.fed.rounds, server_round)
    set_phase(model, phase)
    batch, rows = cfg.train.batch_size, data.model_rows()
    module, loader = model, None
    if cache is not None and cfg.train.feature_cache:
        if phase == "head":
            module, loader = cache.head(batch, seed)
        elif layer_cache_supported(pooled_classifier(model), cfg.model.lora_layers):
            module, loader = cache.layers(cfg.model.lora_layers, batch, seed)
    if loader is None:
        loader = train_loader(rows, batch, seed=seed)
    return module, document_loader(loader, data, batch, seed), phase


def eval_module(model: PeftModel, data: TokenizedDataset, cfg: RunConfig,
                cache: FrozenCache | None, batch: int = 128) -> tuple[torch.nn.Module, DataLoader]:
    """(module, loader) that evaluate the whole model, reusing the frozen part's cached output
    (with sliding windows: documents in order, about ``batch`` windows per batch, with ``groups``)."""
    rows = data.model_rows()
    module, loader = model, None
    if cache is not None and cfg.train.feature_cache:
        if cfg.train.train_mode == "head":
            module, loader = cache.head(batch, 0)
        elif layer_cache_supported(pooled_classifier(model), cfg.model.lora_layers):
            module, loader = cache.layers(cfg.model.lora_layers, batch, 0)
        if loader is not None:
            loader = DataLoader(loader.dataset, batch_size=batch, collate_fn=loader.collate_fn)
    if loader is None:
        loader = eval_loader(rows, batch)
    docs = max(1, batch * len(data) // max(len(rows), 1))
    return module, document_loader(loader, data, docs, None)


def evaluate_model(model: PeftModel, data: TokenizedDataset, cfg: RunConfig, cache: FrozenCache | None,
                   device: torch.device, num_classes: int) -> EvalResult:
    """:func:`evaluate` of :func:`eval_module`, pooling each document's window logits with sliding windows."""
    module, loader = eval_module(model, data, cfg, cache)
    return evaluate(module, loader, device, num_classes, pool=data.sliding.pool if data.sliding else "mean")


_CACHES: dict[tuple, FrozenCache] = {}
_MAX_CACHES = 16  # a simulation worker serves a few owners; deployment starts a process per round


def owner_cache(model: PeftModel, data: TokenizedDataset, device: torch.device, key: tuple) -> FrozenCache:
    """This worker's cache for one owner in one run (``key``), kept in memory only."""
    cache, rows = _CACHES.get(key), data.model_rows()  # with sliding windows: every window of every record
    if cache is None or cache.data is not rows or cache.clf is not pooled_classifier(model):
        if len(_CACHES) >= _MAX_CACHES:
            _CACHES.pop(next(iter(_CACHES)))
        cache = _CACHES[key] = FrozenCache(pooled_classifier(model), rows, device)
    return cache
