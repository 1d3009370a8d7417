"""Tests for fedflm.privacy.client_level (epsilon of Flower's client-level DP wrappers)."""

from __future__ import annotations

import math

import pytest
from scipy.stats import norm

from fedflm.errors import ConfigError
from fedflm.privacy.accounting import epsilon
from fedflm.privacy.client_level import calibrate_client_level, client_level_epsilon


def _analytic_gaussian_delta(eps: float, mu: float) -> float:
    """Exact delta(eps) of a Gaussian mechanism with mu = sensitivity / std (Balle & Wang 2018)."""
    return norm.cdf(-eps / mu + mu / 2) - math.exp(eps) * norm.cdf(-eps / mu - mu / 2)


def test_full_participation_is_an_upper_bound_of_the_exact_gaussian() -> None:
    # Prepare: q = 1, R rounds of noise multiplier z == one Gaussian with mu = sqrt(R) / z
    z, rounds, delta = 2.0, 10, 1e-5

    # Execute
    eps = client_level_epsilon(z, 1.0, rounds, delta)

    # Assert: RDP is an upper bound, and not a loose one (within 15 % of the exact value)
    assert _analytic_gaussian_delta(eps, math.sqrt(rounds) / z) <= delta
    exact = eps
    while _analytic_gaussian_delta(exact * 0.99, math.sqrt(rounds) / z) <= delta:
        exact *= 0.99
    assert eps <= exact * 1.15


def test_sampling_fewer_clients_gives_a_smaller_epsilon() -> None:
    # Prepare / Execute
    full = client_level_epsilon(1.0, 1.0, 20, 1e-5)
    half = client_level_epsilon(1.0, 0.5, 20, 1e-5)

    # Assert
    assert half < full


def test_rounds_are_the_composition_count() -> None:
    # Prepare / Execute / Assert
    assert client_level_epsilon(1.5, 0.3, 7, 1e-5) == pytest.approx(epsilon([(1.5, 0.3, 7)], 1e-5))


def test_calibrated_noise_meets_the_target() -> None:
    # Prepare / Execute
    plan = calibrate_client_level(8.0, 1e-5, rounds=10, fraction=0.5)

    # Assert
    eps = client_level_epsilon(plan.noise_multiplier, 0.5, 10, 1e-5)
    assert 7.92 <= eps <= 8.0
    assert plan.steps_per_round == 1 and plan.rounds == 10


@pytest.mark.parametrize("fraction", [0.0, 1.5])
def test_invalid_fraction_is_refused(fraction: float) -> None:
    # Prepare / Execute / Assert
    with pytest.raises(ConfigError, match="fraction of clients sampled per round must be in"):
        client_level_epsilon(1.0, fraction, 3, 1e-5)
