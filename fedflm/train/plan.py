"""What one round trains, and on what: the phase's trainable module and its batches.

Used by the ClientApp (training) and the ServerApp (global evaluation). With the cache on,
a head round trains :class:`~fedflm.train.cache.HeadTail` on cached sentence vectors and a
LoRA round with ``lora_layers`` trains :class:`~fedflm.train.cache.LayersTail` on cached
hidden states; both share their tensors with ``model``, so ``get_adapter_state(model)``
returns what they learnt.
"""

from __future__ import annotations

import torch
from peft import PeftModel
from torch.utils.data import DataLoader

from fedflm.config import RunConfig
from fedflm.models.lora import pooled_classifier, set_phase
from fedflm.train.batching import TokenizedDataset, eval_loader, train_loader
from fedflm.train.cache import FrozenCache, layer_cache_supported
from fedflm.train.phases import phase_of_round


def round_module(model: PeftModel, data: TokenizedDataset, cfg: RunConfig, server_round: int, seed: int,
                 cache: FrozenCache | None) -> tuple[torch.nn.Module, DataLoader, str]:
    """(module to train, its training loader, phase) for ``server_round``."""
    phase = phase_of_round(cfg.train, cfg.fed.rounds, server_round)
    set_phase(model, phase)
    batch = cfg.train.batch_size
    if cache is not None and cfg.train.feature_cache:
        if phase == "head":
            return (*cache.head(batch, seed), phase)
        if layer_cache_supported(pooled_classifier(model), cfg.model.lora_layers):
            return (*cache.layers(cfg.model.lora_layers, batch, seed), phase)
    return model, train_loader(data, batch, seed=seed), phase


def eval_module(model: PeftModel, data: TokenizedDataset, cfg: RunConfig,
                cache: FrozenCache | None, batch: int = 128) -> tuple[torch.nn.Module, DataLoader]:
    """(module, loader) that evaluate the whole model, reusing the frozen part's cached output."""
    if cache is not None and cfg.train.feature_cache:
        if cfg.train.train_mode == "head":
            module, loader = cache.head(batch, 0)
            return module, DataLoader(loader.dataset, batch_size=batch, collate_fn=loader.collate_fn)
        if layer_cache_supported(pooled_classifier(model), cfg.model.lora_layers):
            module, loader = cache.layers(cfg.model.lora_layers, batch, 0)
            return module, DataLoader(loader.dataset, batch_size=batch, collate_fn=loader.collate_fn)
    return model, eval_loader(data, batch)


_CACHES: dict[tuple, FrozenCache] = {}
_MAX_CACHES = 16  # a simulation worker serves a few owners; deployment starts a process per round


def owner_cache(model: PeftModel, data: TokenizedDataset, device: torch.device, key: tuple) -> FrozenCache:
    """This worker's cache for one owner in one run (``key``), kept in memory only."""
    cache = _CACHES.get(key)
    if cache is None or cache.data is not data or cache.clf is not pooled_classifier(model):
        if len(_CACHES) >= _MAX_CACHES:
            _CACHES.pop(next(iter(_CACHES)))
        cache = _CACHES[key] = FrozenCache(pooled_classifier(model), data, device)
    return cache
