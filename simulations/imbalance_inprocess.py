"""The head-mode federation of ``fedflm simulate``, in one process without Flower (issue 22's evaluation).

For a machine too loaded to run Ray: the same pieces as the ClientApp and ServerApp (partitions,
frozen-feature cache, the round-1 prototype release when the run has one (``--proto-fraction``,
the default: noisy per-class sums of the frozen sentence vectors, one per document with sliding
windows, made the head by ``prototype_head``), ``round_module``, the owner's DP-SGD plan,
``make_private``, ``train_local`` with the round's learning rate, uniform FedAvg of the adapter
under DP (weighted by examples without), ``evaluate``), the frozen features computed once and
shared by the compared settings. No ledger is written: each owner's epsilon is its plan's
(calibrated so that the last round reaches the target, the prototype release included).
Without DP (``dp none``) nothing is privatized and the prototype sums are exact.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import torch

from fedflm.config import RunConfig
from fedflm.fl.client_data import federated_data, lazy_partitions
from fedflm.models.lora import (build_model, get_adapter_state, head_linear, load_tokenizer, pooled_classifier,
                                set_adapter_state, set_head)
from fedflm.privacy.dp import make_private, release
from fedflm.privacy.federation import owner_plan, prototype_sigma
from fedflm.privacy.prototypes import noisy_class_sums, prototype_head
from fedflm.train.batching import TokenizedDataset
from fedflm.train.cache import FrozenCache
from fedflm.train.documents import document_vectors
from fedflm.train.local import train_local
from fedflm.train.phases import phase_of_round
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

    def _prototypes(self, cfg: RunConfig, pid: int) -> tuple[torch.Tensor, int]:
        """Round 1 of a prototype run at owner ``pid``: its (noisy under DP) per-class sums, its documents."""
        x, _ = self.caches[pid].vectors()
        data = self.owners[pid]
        x, y = document_vectors(x, data.documents()), torch.as_tensor(data.labels, dtype=torch.long)
        sigma = prototype_sigma(cfg.privacy, cfg.train, cfg.fed.rounds) if cfg.privacy.dp == "sample" else 0.0
        gen = torch.Generator().manual_seed(cfg.fed.round_seed(1, pid))
        return noisy_class_sums(x, y, len(self.names), float(sigma), gen), len(y)

    def _proto_head(self, cfg: RunConfig, global_state: Any) -> Any:
        """The server's round 1: the owners' sums averaged (uniformly under DP, per example without), then
        ``prototype_head``'s rows, bias 0 (as ``server/app.py``; no class-name prior)."""
        replies = [self._prototypes(cfg, pid) for pid in range(cfg.fed.clients)]
        if cfg.privacy.dp == "sample":
            mean = torch.stack([s for s, _ in replies]).mean(0)
        else:
            mean = torch.stack([s / max(n, 1) for s, n in replies]).mean(0)
        set_adapter_state(self.model, global_state)
        head = prototype_head(mean, cfg.train.proto_scale)
        set_head(self.model, head["weight"], head["bias"])
        return get_adapter_state(self.model)

    def _client(self, cfg: RunConfig, global_state: Any, pid: int, rnd: int) -> Any:
        set_adapter_state(self.model, global_state)
        seed = cfg.fed.round_seed(rnd, pid)
        module, loader, _ = round_module(self.model, self.owners[pid], cfg, rnd, seed, self.caches[pid])
        if cfg.privacy.dp != "sample":
            train_cfg = replace(cfg.train, lr=round_lr(cfg.train, cfg.fed.rounds, rnd))
            train_local(module, loader, train_cfg, CPU, None)
            return get_adapter_state(self.model), 0.0, len(loader.dataset)
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
        return get_adapter_state(self.model), plan.final_epsilon, len(loader.dataset)

    def run(self, cfg: RunConfig) -> tuple[dict[str, float], np.ndarray, float]:
        """(final test metrics, confusion matrix, largest planned epsilon) of one federation."""
        state, eps = self.initial, 0.0
        dp = cfg.privacy.dp
        for rnd in range(1, cfg.fed.rounds + 1):
            if phase_of_round(cfg.train, cfg.fed.rounds, rnd, dp, cfg.privacy.noise_multiplier is not None) == "proto":
                state = self._proto_head(cfg, state)
                continue
            replies = [self._client(cfg, state, pid, rnd) for pid in range(cfg.fed.clients)]
            eps = max(e for _, e, _ in replies)
            w = np.ones(len(replies)) if dp == "sample" else np.array([n for _, _, n in replies], dtype=float)
            state = {k: np.average([r[k] for r, _, _ in replies], axis=0, weights=w) for k in state}
        set_adapter_state(self.model, state)
        res = evaluate_model(self.model, self.eval_data, cfg, self.eval_cache, CPU, len(self.names))
        return res.metrics, res.confusion, eps
