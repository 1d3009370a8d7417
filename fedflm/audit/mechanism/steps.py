"""The owner's DP-SGD steps on canary-only batches, observed as the server would see them.

The step under test is ``fedflm.privacy.dp.make_private`` -- the Opacus
wiring the node runs: its Poisson sampler (the CSPRNG one in secure mode),
per-example clipping, noise (CSPRNG in secure mode) and scaling. The audit
hands it the owner's model, an SGD optimizer with learning rate 1 over the
trainable tensors (so that the update is exactly the privatized gradient; the
owner's own optimizer is post-processing of it) and a loader over ``N``
example slots with the owner's batch size, so that the sample rate is the
owner's ``q`` exactly.

No example of the owner is read: the first slots hold the canaries, the
others are examples with a zero gradient. That is allowed by the analysis:
DP must hold for every data set, in particular one whose other gradients are
zero, which is also the auditor's best case. The per-example gradients are
written where Opacus' grad-sample hooks put them (``p.grad_sample``), so the
hooks' own per-example gradient computation is not exercised here (the
privacy tests compare it with a micro-batch reference).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from fedflm.audit.mechanism.config import Block
from fedflm.audit.mechanism.canaries import DiracCanaries, grad_samples, read_coordinates
from fedflm.errors import ConfigError, PrivacyError
from fedflm.privacy.dp import make_private, release

Privatize = Callable[..., tuple[nn.Module, Any, DataLoader]]  # the signature of make_private


@dataclass(frozen=True)
class BlockObservation:
    """``y[i, t]``: canary i's coordinate of step t's update, in units of C; batches drawn.

    ``batch_sizes[t]``: step t's batch size; ``appearances[j]``: how many of the steps drew slot j.
    """

    block: Block
    y: np.ndarray
    batch_sizes: np.ndarray
    slots: int
    appearances: np.ndarray


class _Slots(Dataset):
    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> int:
        return i


def _indices(items: list[int]) -> torch.Tensor:
    return torch.tensor(items, dtype=torch.long)


def slots_for(q: float, batch_size: int, m: int) -> tuple[int, int]:
    """``(N, b)`` with ``b / N == q`` exactly and ``N >= m``: the owner's ``(n, batch)`` scaled by an integer."""
    n = round(batch_size / q)
    if n < 1 or min(1.0, batch_size / n) != q:
        raise ConfigError(f"sample rate {q!r} is not batch_size / n for batch_size {batch_size}; "
                          f"is the run's batch_size the one the owner trained with?")
    k = max(1, math.ceil(m / n))
    return k * n, k * batch_size


def run_block(model: nn.Module, block: Block, canaries: DiracCanaries, *, max_grad_norm: float, batch_size: int,
              secure_mode: bool, privatize: Privatize = make_private,
              noise_seed: int | None = None) -> BlockObservation:
    """``block.steps`` steps of the owner's DP-SGD with ``canaries`` in the first slots (noise and batches
    seeded by ``noise_seed`` when given; never in secure mode)."""
    params = [p for p in model.parameters() if p.requires_grad]
    shapes = [p.shape for p in params]
    n_slots, b = slots_for(block.q, batch_size, len(canaries))
    loader = DataLoader(_Slots(n_slots), batch_size=b, shuffle=True, collate_fn=_indices)
    opt = torch.optim.SGD(params, lr=1.0)
    private_model, private_opt, private_loader = privatize(
        model, opt, loader, noise_multiplier=block.sigma, max_grad_norm=max_grad_norm, secure_mode=secure_mode,
        **({} if noise_seed is None else {"noise_seed": noise_seed}))
    try:
        if private_opt.sample_rate != block.q:
            raise PrivacyError(f"the DP step samples at rate {private_opt.sample_rate}, the ledger records {block.q}")
        y, sizes, counts = _steps(params, shapes, private_opt, private_loader, canaries, block.steps, max_grad_norm,
                                  n_slots)
    finally:
        release(private_model)
    return BlockObservation(block, y, sizes, n_slots, counts)


def _batches(loader: DataLoader):
    while True:
        yield from loader


def _steps(params: list[torch.Tensor], shapes: list[torch.Size], opt: Any, loader: DataLoader,
           canaries: DiracCanaries, steps: int, clip: float, n_slots: int) -> tuple[np.ndarray, ...]:
    m = len(canaries)
    y = np.empty((m, steps), dtype=np.float32)
    sizes = np.empty(steps, dtype=np.int64)
    counts = np.zeros(n_slots, dtype=np.int64)
    batches = _batches(loader)
    for t in range(steps):
        idx = next(batches).numpy()
        sizes[t] = len(idx)
        np.add.at(counts, idx, 1)
        members = idx[idx < m]
        members = members[canaries.included[members]]
        before = read_coordinates(canaries, params)
        for p, g in zip(params, grad_samples(canaries, members, shapes, clip, params[0].dtype)):
            p.grad_sample = g
        opt.step()
        opt.zero_grad(set_to_none=True)
        y[:, t] = (before - read_coordinates(canaries, params)) * opt.expected_batch_size / clip
    return y, sizes, counts
