"""The sampler check: batch sizes and appearances per example against Poisson sampling."""

from __future__ import annotations

import numpy as np
import pytest

from fedflm.audit.mechanism.sampler import BatchDraws, poisson_batch_check

N, Q, T = 400, 0.05, 60


def _poisson(rng: np.random.Generator, rates: np.ndarray | float = Q) -> BatchDraws:
    mask = rng.random((T, N)) < rates
    return BatchDraws(N, Q, mask.sum(1), mask.sum(0))


def _epoch_chunks(rng: np.random.Generator) -> BatchDraws:
    """Binomial(N, q) batch sizes cut from shuffled passes: each example once per pass."""
    sizes = rng.binomial(N, Q, size=T)
    order = np.concatenate([rng.permutation(N) for _ in range(int(sizes.sum()) // N + 1)])
    return BatchDraws(N, Q, sizes, np.bincount(order[: sizes.sum()], minlength=N))


def _fixed_size(rng: np.random.Generator) -> BatchDraws:
    sizes = np.full(T, round(N * Q))
    order = np.concatenate([rng.permutation(N) for _ in range(int(sizes.sum()) // N + 1)])
    return BatchDraws(N, Q, sizes, np.bincount(order[: sizes.sum()], minlength=N))


def test_poisson_sampling_passes_at_the_stated_rate() -> None:
    # Prepare
    rng = np.random.default_rng(0)
    trials, alpha = 25, 0.2
    # Execute
    checks = [poisson_batch_check([_poisson(rng)], alpha, rng) for _ in range(trials)]
    # Assert: false alarms at most alpha (plus 3 binomial sd); the p-values are spread, not stuck
    alarms = sum(not c.passed for c in checks)
    assert alarms <= alpha * trials + 3 * np.sqrt(alpha * (1 - alpha) * trials)
    assert np.median([c.p_value for c in checks]) > 0.2


def test_epoch_structured_batches_fail_on_appearances_only() -> None:
    # Prepare
    rng = np.random.default_rng(1)
    # Execute
    check = poisson_batch_check([_epoch_chunks(rng)], 0.005, rng)
    # Assert: the sizes look Poisson; each example's count (3 per 3 passes) does not
    assert check.size_p_value > 0.005
    assert check.count_p_value < 0.001 and not check.passed
    assert "NOT Poisson sampling" in check.describe()


def test_fixed_size_batches_fail() -> None:
    # Prepare
    rng = np.random.default_rng(2)
    # Execute
    check = poisson_batch_check([_fixed_size(rng)], 0.005, rng)
    # Assert
    assert check.size_p_value < 0.001 and check.count_p_value < 0.001 and not check.passed


def test_unequal_rates_fail_on_appearances() -> None:
    # Prepare: half the examples drawn at 1.5 q, half at 0.5 q (the batch size stays Binomial-like)
    rng = np.random.default_rng(3)
    rates = np.where(np.arange(N) < N // 2, 1.5 * Q, 0.5 * Q)
    # Execute
    check = poisson_batch_check([_poisson(rng, rates)], 0.005, rng)
    # Assert: counts spread far more than Binomial(T, q)
    assert check.count_statistic > N and check.count_p_value < 0.001 and not check.passed


def test_one_count_per_example_is_required() -> None:
    # Prepare
    draws = BatchDraws(N, Q, np.full(T, 20), np.zeros(N - 1, dtype=int))
    # Execute / Assert
    with pytest.raises(ValueError, match="one appearance count per example"):
        poisson_batch_check([draws], 0.005, np.random.default_rng(0))
