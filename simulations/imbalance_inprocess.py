"""The head-mode DP federation of ``fedflm simulate``, in one process without Flower (issue 22's evaluation).

For a machine too loaded to run Ray: the same pieces as the ClientApp and ServerApp (partitions,
frozen-feature cache, ``round_module``, the owner's DP-SGD plan, ``make_private``, ``train_local``
with the round's learning rate, uniform FedAvg of the adapter as under DP, ``evaluate``), the
frozen features computed once and shared by the compared losses. No ledger is written: each
owner's epsilon is its plan's (calibrated so that the last round reaches the target).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import torch

from fedflm.config import RunConfig
from fedflm.fl.client_data import federated_data, lazy_partitions
from fedflm.models.lora import build_model, get_adapter_state, load_tokenizer, pooled_classifier, set_adapter_state
from fedflm.privacy.dp import make_private, release
from fedflm.privacy.federation import owner_plan
from fedflm.train.batching import TokenizedDataset
from fedflm.train.cache import FrozenCache
from fedflm.train.local import train_local
from fedflm.train.plan import evaluate_model, round_module
from fedflm.train.schedule import round_lr

CPU = torch.device("cpu")


class Federation:
    """Model, owners' cached features and the server's, built once for several runs."""

    def __init__(self, base: RunConfig) -> None:
        self.base = base
        data = federated_data(base.data, base.fed.seed)
        self.names = data.label_names
        self.model = build_model(base.model, self.names, base.fed.seed)
        self.initial = get_adapter_state(self.model)
        tok = load_tokenizer(base.model)
        parts = lazy_partitions(base.data, base.fed.clients, base.fed.seed)
        cut = base.data.long_text  # with sliding windows the caches hold every window (fedflm/train/documents.py)
        self.owners = [TokenizedDataset(parts.load(i), tok, base.data.max_length, cut) for i in range(base.fed.clients)]
        clf = pooled_classifier(self.model)
        self.caches = [FrozenCache(clf, d.model_rows(), CPU) for d in self.owners]
        self.eval_data = TokenizedDataset(data.eval, tok, base.data.max_length, cut)
        self.eval_cache = FrozenCache(clf, self.eval_data.model_rows(), CPU)

    def _client(self, cfg: RunConfig, global_state: Any, pid: int, rnd: int) -> Any:
        set_adapter_state(self.model, global_state)
        seed = cfg.fed.round_seed(rnd, pid)
        module, loader, _ = round_module(self.model, self.owners[pid], cfg, rnd, seed, self.caches[pid])
        plan = owner_plan(cfg.privacy, cfg.train, cfg.fed.rounds, len(loader.dataset))
        made: dict[str, Any] = {}

        def privatize(model, opt, data_loader):
            made["m"], opt, data_loader = make_private(model, opt, data_loader, noise_multiplier=plan.noise_multiplier,
                                                       max_grad_norm=cfg.privacy.max_grad_norm,
                                                       noise_seed=seed * 7 + 1)
            return made["m"], opt, data_loader

        train_cfg = replace(cfg.train, lr=round_lr(cfg.train, cfg.fed.rounds, rnd))
        try:
            train_local(module, loader, train_cfg, CPU, privatize)
        finally:
            release(made["m"])
        return get_adapter_state(self.model), plan.final_epsilon

    def run(self, cfg: RunConfig) -> tuple[dict[str, float], np.ndarray, float]:
        """(final test metrics, confusion matrix, largest planned epsilon) of one federation."""
        state, eps = self.initial, 0.0
        for rnd in range(1, cfg.fed.rounds + 1):
            replies = [self._client(cfg, state, pid, rnd) for pid in range(cfg.fed.clients)]
            eps = max(e for _, e in replies)
            state = {k: np.mean([r[k] for r, _ in replies], axis=0) for k in state}  # uniform under DP
        set_adapter_state(self.model, state)
        res = evaluate_model(self.model, self.eval_data, cfg, self.eval_cache, CPU, len(self.names))
        return res.metrics, res.confusion, eps
