"""Do the batches the DP step drew look Poisson-sampled?

The accounting assumes Poisson sampling: at every step, every example
independently with probability ``q``. The white-box audit drives the loader
and sees every batch, so it tests two consequences, each against its exact
distribution under Poisson sampling, simulated, two-sided:

* **batch sizes**: a batch from ``N`` examples has Binomial(N, q) size;
  ``sum_t (B_t - N q)^2 / (N q (1 - q))`` over the steps. A fixed batch size,
  as with shuffling, makes it far too small; a wrong rate far too large.
* **appearances per example**: over ``T`` steps each of the ``N`` examples
  appears Binomial(T, q) times, independently; ``sum_i (c_i - T q)^2 /
  (T q (1 - q))`` over the examples. Epoch-structured sampling (each example
  once per pass, even with Binomial-sized batches, which the first statistic
  cannot see) makes it far too small; examples drawn at unequal rates make it
  too large. The counts' histogram is multinomial over the Binomial(T, q)
  probabilities, so the simulation costs ``T`` numbers per replicate, not ``N``.

The check passes when both p-values are at least ``alpha / 2`` (Bonferroni).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

REPLICATES = 4000


@dataclass(frozen=True)
class SamplerCheck:
    """The two statistics, their p-values under Poisson sampling, and the level of the check."""

    statistic: float
    size_p_value: float
    alpha: float
    steps: int
    mean_size: float
    expected_mean_size: float
    count_statistic: float = 0.0
    count_p_value: float = 1.0

    @property
    def p_value(self) -> float:
        """Bonferroni over the two statistics: the check passes when this is at least ``alpha``."""
        return min(1.0, 2 * min(self.size_p_value, self.count_p_value))

    @property
    def passed(self) -> bool:
        return self.p_value >= self.alpha

    def describe(self) -> str:
        verdict = "consistent with Poisson sampling" if self.passed else "NOT Poisson sampling"
        return (f"sampler: {self.steps} batches, mean size {self.mean_size:.2f} (Poisson: {self.expected_mean_size:.2f}), "
                f"batch-size p-value {self.size_p_value:.2g}, appearances-per-example p-value "
                f"{self.count_p_value:.2g} (level {self.alpha:g} for both together): {verdict}")


@dataclass(frozen=True)
class BatchDraws:
    """One block of steps: ``n`` examples, rate ``q``, the batch sizes and each example's appearance count."""

    n: int
    q: float
    sizes: np.ndarray
    counts: np.ndarray


def _two_sided(observed: float, simulated: np.ndarray) -> float:
    low = (1 + np.sum(simulated <= observed)) / (len(simulated) + 1)
    high = (1 + np.sum(simulated >= observed)) / (len(simulated) + 1)
    return float(min(1.0, 2 * min(low, high)))


def _size_statistic(sizes: np.ndarray, n: np.ndarray, q: np.ndarray) -> np.ndarray:
    return (((sizes - n * q) ** 2) / (n * q * (1 - q))).sum(axis=-1)


def _size_p_value(used: list[BatchDraws], rng: np.random.Generator) -> tuple[float, float]:
    sizes = np.concatenate([d.sizes for d in used])
    n = np.concatenate([np.full(len(d.sizes), d.n) for d in used])
    q = np.concatenate([np.full(len(d.sizes), d.q) for d in used])
    observed = float(_size_statistic(sizes, n, q))
    simulated = _size_statistic(rng.binomial(n.astype(np.int64), q, size=(REPLICATES, len(sizes))), n, q)
    return observed, _two_sided(observed, simulated)


def _count_p_value(used: list[BatchDraws], rng: np.random.Generator) -> tuple[float, float]:
    observed, simulated = 0.0, np.zeros(REPLICATES)
    for d in used:
        t = len(d.sizes)
        c = np.arange(t + 1)
        weight = (c - t * d.q) ** 2 / (t * d.q * (1 - d.q))  # each example's term, by its count
        observed += float(weight[np.asarray(d.counts, dtype=np.int64)].sum())
        pmf = stats.binom.pmf(c, t, d.q)
        simulated += rng.multinomial(d.n, pmf / pmf.sum(), size=REPLICATES) @ weight
    return observed, _two_sided(observed, simulated)


def poisson_batch_check(draws: Sequence[BatchDraws], alpha: float, rng: np.random.Generator) -> SamplerCheck:
    """Both statistics over ``draws`` (blocks with ``q == 1`` or no steps are skipped)."""
    used = [d for d in draws if d.q < 1 and len(d.sizes)]
    if not used:
        return SamplerCheck(0.0, 1.0, alpha, 0, 0.0, 0.0)
    for d in used:
        if len(d.counts) != d.n:
            raise ValueError(f"need one appearance count per example: {len(d.counts)} counts for n={d.n}")
    size_stat, size_p = _size_p_value(used, rng)
    count_stat, count_p = _count_p_value(used, rng)
    sizes = np.concatenate([d.sizes for d in used])
    expected = float(np.concatenate([np.full(len(d.sizes), d.n * d.q) for d in used]).mean())
    return SamplerCheck(size_stat, size_p, alpha, len(sizes), float(sizes.mean()), expected, count_stat, count_p)
