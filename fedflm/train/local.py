"""One client's local training and the server's evaluation loop (no Flower here)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch.utils.data import DataLoader

from fedflm.config import TrainConfig
from fedflm.train.long_text import pool_logits
from fedflm.train.losses import make_loss
from fedflm.train.metrics import classification_metrics, confusion_matrix
from fedflm.train.proximal import attach_proximal
from fedflm.train.schedule import set_step_lr

#: Optional stage that turns (model, optimizer, loader) into private versions (DP-SGD).
Privatizer = Callable[[torch.nn.Module, torch.optim.Optimizer, DataLoader],
                      tuple[torch.nn.Module, torch.optim.Optimizer, DataLoader]]


@dataclass(frozen=True)
class TrainResult:
    """What one local training pass reports (aggregate numbers only)."""

    loss: float
    steps: int
    examples: int
    seconds: float


@dataclass(frozen=True)
class EvalResult:
    """Global evaluation: metrics, loss and the confusion matrix."""

    metrics: dict[str, float]
    confusion: np.ndarray


def make_optimizer(model: torch.nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """AdamW over the trainable tensors only."""
    params = [p for p in model.parameters() if p.requires_grad]
    return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def logits_of(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Logits of a batch of token ids, cached sentence vectors or cached hidden states.

    The first input goes positionally (Opacus' ``ew`` wrapper needs it so)."""
    if "features" in batch:
        out = model(batch["features"])
    elif "hidden" in batch:
        out = model(batch["hidden"], attention_mask=batch["attention_mask"])
    else:
        out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    return out if isinstance(out, torch.Tensor) else out.logits


def _batches(loader: DataLoader, cfg: TrainConfig):
    """Yield batches for ``local_steps`` steps if set, else ``local_epochs`` epochs."""
    if cfg.local_steps:
        done = 0
        while done < cfg.local_steps:
            for batch in loader:
                yield batch
                done += 1
                if done >= cfg.local_steps:
                    return
    else:
        for _ in range(cfg.local_epochs):
            yield from loader


def _round_steps(loader: DataLoader, cfg: TrainConfig) -> int:
    return cfg.local_steps or cfg.local_epochs * len(loader)


def train_local(model: torch.nn.Module, loader: DataLoader, cfg: TrainConfig,
                device: torch.device, privatize: Privatizer | None = None,
                proximal_mu: float = 0.0) -> TrainResult:
    """Train the trainable tensors of ``model`` in place; returns mean train loss.

    The loss is ``cfg.loss`` (class weights from the labels of ``loader``'s dataset: the
    client's own rows); the learning rate is ``cfg.lr``, shaped over the round's steps by
    ``cfg.lr_within`` (the across-rounds schedule sets ``cfg.lr``: fedflm/train/schedule.py).
    ``proximal_mu`` > 0: FedProx's proximal term around the tensors' value on entry (proximal.py)."""
    model.to(device).train()
    loss_fn = make_loss(cfg.loss, cfg.label_smoothing, getattr(loader.dataset, "labels", ()))
    optimizer = make_optimizer(model, cfg)
    if proximal_mu > 0:  # on the inner optimizer: runs after DP-SGD's clipping and noise
        attach_proximal(optimizer, proximal_mu)
    if privatize is not None:
        model, optimizer, loader = privatize(model, optimizer, loader)
    t0, total, steps, examples = time.perf_counter(), 0.0, 0, 0
    planned = _round_steps(loader, cfg)
    after_clip = privatize is not None and hasattr(optimizer, "sample_weights")
    for batch in _batches(loader, cfg):
        set_step_lr(optimizer, cfg.lr, cfg.lr_within, steps, planned)
        if batch["labels"].numel() == 0:  # Poisson sampling can draw an empty batch
            optimizer.zero_grad(set_to_none=True)
            optimizer.step()
            steps += 1
            continue
        groups = batch.pop("groups", None)  # issue 22: augmented copies or windows of one record (augment.py, documents.py)
        batch = {k: v.to(device) for k, v in batch.items()}
        optimizer.zero_grad(set_to_none=True)
        logits = logits_of(model, batch)
        loss = loss_fn(logits, batch["labels"], after_clip=after_clip)
        loss.backward()
        if after_clip:  # class weights act on clipped gradients (fedflm/train/losses.py)
            optimizer.sample_weights = loss_fn.clip_weights(batch["labels"], logits.shape[-1])
        if groups is not None and privatize is not None:  # one record = one privacy unit: averaged, then clipped
            optimizer.sample_groups = groups
        optimizer.step()
        n = int(batch["labels"].numel())
        total, steps, examples = total + loss.detach().item() * n, steps + 1, examples + n
    return TrainResult(loss=total / max(examples, 1), steps=steps, examples=examples,
                       seconds=time.perf_counter() - t0)


def _pooled(logits: torch.Tensor, labels: torch.Tensor, groups: torch.Tensor | None,
            pool: str) -> tuple[torch.Tensor, torch.Tensor]:
    """One row per document (issue 22's sliding windows: ``groups``, the document of each row): its
    windows' logits pooled (mean or max) and its label; the rows as they are without ``groups``."""
    if groups is None:
        return logits, labels
    groups = groups.to(logits.device)
    _, inverse = torch.unique(groups, return_inverse=True)
    doc_labels = labels.new_zeros(int(inverse.max()) + 1 if len(inverse) else 0).scatter_(0, inverse, labels)
    return pool_logits(logits, groups, pool), doc_labels


@torch.no_grad()
def evaluate(model: torch.nn.Module, loader: DataLoader, device: torch.device,
             num_classes: int, pool: str = "mean") -> EvalResult:
    """Cross-entropy loss and classification metrics over ``loader`` (per document when its batches
    carry ``groups``: the window logits pooled by ``pool``, mean or max)."""
    model.to(device).eval()
    probs, labels, loss_sum = [], [], 0.0
    for batch in loader:
        groups = batch.pop("groups", None)
        batch = {k: v.to(device) for k, v in batch.items()}
        logits, y = _pooled(logits_of(model, batch), batch["labels"], groups, pool)
        loss_sum += float(torch.nn.functional.cross_entropy(logits.float(), y, reduction="sum"))
        probs.append(torch.softmax(logits.float(), dim=-1).cpu().numpy())
        labels.append(y.cpu().numpy())
    p, y = np.concatenate(probs), np.concatenate(labels)
    metrics = classification_metrics(y, p)
    metrics["loss"] = loss_sum / len(y)
    if math.isnan(metrics["roc_auc"]):
        metrics.pop("roc_auc")
    return EvalResult(metrics=metrics, confusion=confusion_matrix(y, p.argmax(1), num_classes))
