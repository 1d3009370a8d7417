"""Deliberately broken DP-SGD steps: TEST FIXTURES for the mechanism audit's power.

Each wraps the real ``fedflm.privacy.dp.make_private`` and breaks one thing
while the ledger would still record the correct settings. They exist only
here; the product has no option for any of them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from fedflm.privacy.dp import make_private


def noise_halved(model, optimizer, loader, *, noise_multiplier: float, **kw: Any):
    """Adds half the noise it claims."""
    return make_private(model, optimizer, loader, noise_multiplier=noise_multiplier / 2, **kw)


def shuffled(model, optimizer, loader, **kw: Any):
    """Fixed-size shuffled batches instead of Poisson sampling."""
    return make_private(model, optimizer, loader, poisson_sampling=False, **kw)


class _EpochChunks:
    """Batches of Binomial(n, q) size cut from shuffled passes: every example once per pass."""

    def __init__(self, n: int, q: float, seed: int = 0) -> None:
        self.n, self.q, self.rng = n, q, np.random.default_rng(seed)
        self.queue = np.zeros(0, dtype=np.int64)

    def __iter__(self):
        for _ in range(round(1 / self.q)):
            size = int(self.rng.binomial(self.n, self.q))
            while len(self.queue) < size:
                self.queue = np.concatenate([self.queue, self.rng.permutation(self.n)])
            batch, self.queue = self.queue[:size], self.queue[size:]
            yield torch.from_numpy(batch)


def epoch_shuffled_binomial_sizes(model, optimizer, loader, **kw: Any):
    """Shuffled passes cut into Poisson-looking (Binomial) batch sizes: only the membership is wrong."""
    private_model, opt, _ = make_private(model, optimizer, loader, **kw)
    return private_model, opt, _EpochChunks(len(loader.dataset), opt.sample_rate)


def one_tensor_unclipped(model, optimizer, loader, **kw: Any):
    """Clips every tensor but the first trainable one, which gets the raw per-example sum."""
    private_model, opt, private_loader = make_private(model, optimizer, loader, **kw)
    target, clip = opt.params[0], opt.clip_and_accumulate

    def broken_clip() -> None:
        raw = target.grad_sample
        clip()
        target.summed_grad = raw.sum(0) if len(raw) else torch.zeros_like(target)

    opt.clip_and_accumulate = broken_clip
    return private_model, opt, private_loader


BROKEN = {"noise halved": noise_halved, "one tensor unclipped": one_tensor_unclipped, "shuffling": shuffled,
          "epoch-shuffled, binomial sizes": epoch_shuffled_binomial_sizes}
