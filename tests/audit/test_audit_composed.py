"""The composed per-step bound: closed forms and soundness on the exact mechanism."""

from __future__ import annotations

import math

import numpy as np
import pytest
from dp_accounting import GaussianDpEvent, PoissonSampledDpEvent, SelfComposedDpEvent, pld

from fedflm.audit.bounds.composed import binary_composition_epsilon, composed_lower_bound


@pytest.mark.parametrize(("p1", "p0", "delta"), [(0.5, 0.05, 1e-5), (0.9, 0.2, 1e-3), (0.3, 0.01, 0.1)])
def test_one_step_is_the_likelihood_ratio(p1: float, p0: float, delta: float) -> None:
    # Prepare: one use of the channel: delta(eps) = p1 - e^eps p0, so eps = log((p1 - delta) / p0)
    expected = math.log((p1 - delta) / p0)
    # Execute / Assert
    assert binary_composition_epsilon(p1, p0, 1, delta) == pytest.approx(expected, rel=1e-5)


def test_randomized_response_composes_to_at_most_k_eps() -> None:
    # Prepare: eps-DP randomized response composed k times is k*eps-DP (tight at the all-ones outcome)
    eps, k = 0.7, 5
    p1 = math.exp(eps) / (1 + math.exp(eps))
    # Execute
    value = binary_composition_epsilon(p1, 1 - p1, k, 1e-12)
    # Assert
    assert value == pytest.approx(k * eps, rel=1e-4)


def test_no_signal_gives_zero() -> None:
    # Execute / Assert
    assert binary_composition_epsilon(0.1, 0.1, 50, 1e-5) == 0.0
    assert binary_composition_epsilon(0.05, 0.1, 50, 1e-5) == 0.0


@pytest.mark.parametrize("seed", range(8))
def test_bound_stays_below_the_true_epsilon_of_the_exact_mechanism(seed: int) -> None:
    # Prepare: the subsampled Gaussian itself, simulated (sigma 1, q 0.2, 30 steps), and its tight epsilon
    sigma, q, steps, delta, m = 1.0, 0.2, 30, 1e-5, 4000
    rng = np.random.default_rng(seed)
    inc = rng.random(m) < 0.5
    y = (rng.random((m, steps)) < q) * inc[:, None] + sigma * rng.standard_normal((m, steps))
    acc = pld.PLDAccountant()
    acc.compose(SelfComposedDpEvent(PoissonSampledDpEvent(q, GaussianDpEvent(sigma)), steps))
    true_eps = acc.get_epsilon(delta)
    # Execute
    res = composed_lower_bound(y[inc], y[~inc], steps, [0.5 + c * sigma for c in (1, 2, 3)], delta=delta)
    # Assert: sound, and not vacuous
    assert 0.3 * true_eps < res.epsilon_lower_bound <= true_eps, res.describe()
