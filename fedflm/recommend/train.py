"""One owner's local training of the two towers, and their scores for evaluation.

The objective is the mean over the batch's users of each user's mean binary cross-entropy over
their records. Under DP-SGD (``privatize``, the stage of
:func:`fedflm.privacy.federation.train_private`) Opacus computes one gradient per record and
``sample_groups`` averages them per user before clipping (fedflm/recommend/users.py).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import torch
from torch.nn import functional as F
from torch.utils.data import DataLoader

from fedflm.recommend.model import TwoTower
from fedflm.recommend.records import EvalCase
from fedflm.train.local import Privatizer, TrainResult

__all__ = ["OPTIMIZERS", "scorer", "train_towers", "user_mean_loss"]


def user_mean_loss(row_losses: torch.Tensor, groups: torch.Tensor) -> torch.Tensor:
    """Mean over users of each user's mean row loss."""
    _, inverse = torch.unique(groups, return_inverse=True)
    counts = torch.bincount(inverse).to(row_losses)
    return (row_losses / counts[inverse]).sum() / len(counts)


#: the towers' optimizers (``optimizer`` of the run config)
OPTIMIZERS = ("adam", "sgd")


def train_towers(model: torch.nn.Module, loader: DataLoader, steps: int, lr: float,
                 privatize: Privatizer | None = None, optimizer_name: str = "adam") -> TrainResult:
    """Train ``model``'s towers in place for ``steps`` steps (Adam or plain SGD); returns the mean user loss."""
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    if optimizer_name not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {optimizer_name!r}")
    optimizer: torch.optim.Optimizer = (torch.optim.Adam(params, lr=lr) if optimizer_name == "adam"
                                        else torch.optim.SGD(params, lr=lr))
    if privatize is not None:
        model, optimizer, loader = privatize(model, optimizer, loader)
    t0, total, users, done = time.perf_counter(), 0.0, 0, 0
    while done < steps:
        for batch in loader:
            if done == steps:
                break
            done += 1
            optimizer.zero_grad(set_to_none=True)
            if batch["labels"].numel() == 0:  # an empty Poisson batch is still a (pure-noise) step
                optimizer.step()
                continue
            rows = F.binary_cross_entropy_with_logits(model(batch["features"]), batch["labels"], reduction="none")
            loss = user_mean_loss(rows.detach(), batch["groups"])
            if privatize is None:
                user_mean_loss(rows, batch["groups"]).backward()
            else:  # Opacus' "mean" reduction: per-row gradients, averaged per user before clipping
                rows.mean().backward()
                optimizer.sample_groups = batch["groups"]  # type: ignore[attr-defined]
            optimizer.step()
            n = int(batch["groups"].max()) + 1
            total, users = total + float(loss) * n, users + n
    return TrainResult(loss=total / max(users, 1), steps=steps, examples=users, seconds=time.perf_counter() - t0)


def scorer(model: TwoTower, vectors: Mapping[str, torch.Tensor]):
    """``score(case)``: the model's score of each candidate against the case's history (for metrics.evaluate)."""
    def score(case: EvalCase) -> Sequence[float]:
        user = vectors[case.history]
        feats = torch.stack([torch.cat([user, vectors[c]]) for c in case.candidates])
        with torch.no_grad():
            return model.eval()(feats).tolist()
    return score
