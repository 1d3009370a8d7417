"""Do the batches the DP step drew look Poisson-sampled?

The accounting assumes Poisson sampling: every example independently with
probability ``q``, so a batch from ``N`` examples has Binomial(N, q) size.
The white-box audit drives the loader and sees every batch's size. The
statistic ``sum_t (B_t - N q)^2 / (N q (1 - q))`` is compared, two-sided,
with its distribution under Poisson sampling, simulated (a fixed batch size,
as with shuffling, makes it far too small; a wrong rate far too large).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

REPLICATES = 4000


@dataclass(frozen=True)
class SamplerCheck:
    """The statistic, its p-value under Poisson sampling, and the level it is tested at."""

    statistic: float
    p_value: float
    alpha: float
    steps: int
    mean_size: float
    expected_mean_size: float

    @property
    def passed(self) -> bool:
        return self.p_value >= self.alpha

    def describe(self) -> str:
        verdict = "consistent with Poisson sampling" if self.passed else "NOT Poisson sampling"
        return (f"sampler: {self.steps} batches, mean size {self.mean_size:.2f} (Poisson: {self.expected_mean_size:.2f}), "
                f"dispersion p-value {self.p_value:.2g} (level {self.alpha:g}): {verdict}")


def _statistic(sizes: np.ndarray, n: np.ndarray, q: np.ndarray) -> np.ndarray:
    return (((sizes - n * q) ** 2) / (n * q * (1 - q))).sum(axis=-1)


def poisson_batch_check(batches: Sequence[tuple[int, float, np.ndarray]], alpha: float,
                        rng: np.random.Generator) -> SamplerCheck:
    """``batches``: ``(N, q, sizes)`` per block of steps; blocks with ``q == 1`` are skipped."""
    used = [(n, q, np.asarray(s)) for n, q, s in batches if q < 1 and len(s)]
    sizes = np.concatenate([s for _, _, s in used]) if used else np.zeros(0)
    n = np.concatenate([np.full(len(s), n) for n, _, s in used]) if used else np.zeros(0)
    q = np.concatenate([np.full(len(s), q) for _, q, s in used]) if used else np.zeros(0)
    if not len(sizes):
        return SamplerCheck(0.0, 1.0, alpha, 0, 0.0, 0.0)
    observed = float(_statistic(sizes, n, q))
    simulated = _statistic(rng.binomial(n.astype(np.int64), q, size=(REPLICATES, len(sizes))), n, q)
    low = (1 + np.sum(simulated <= observed)) / (REPLICATES + 1)
    high = (1 + np.sum(simulated >= observed)) / (REPLICATES + 1)
    return SamplerCheck(observed, float(min(1.0, 2 * min(low, high))), alpha, len(sizes), float(sizes.mean()),
                        float((n * q).mean()))
