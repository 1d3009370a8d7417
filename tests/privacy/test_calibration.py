"""Tests for fedflm.privacy.calibration (sigma for a whole federated plan)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fedflm.errors import ConfigError, PrivacyBudgetExceeded
from fedflm.privacy.accounting import epsilon
from fedflm.privacy.calibration import calibrate


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    target=st.floats(min_value=0.3, max_value=30.0),
    delta=st.sampled_from([1e-4, 1e-5, 1e-6, 1e-7]),
    rounds=st.integers(min_value=1, max_value=20),
    steps=st.integers(min_value=1, max_value=300),
    q=st.floats(min_value=1e-3, max_value=0.3),
)
def test_final_epsilon_lies_within_one_percent_below_target(
    target: float, delta: float, rounds: int, steps: int, q: float
) -> None:
    # Prepare / Execute
    plan = calibrate(
        target_epsilon=target, delta=delta, rounds=rounds, steps_per_round=steps, sample_rate=q
    )

    # Assert: re-derived independently from the plan's own history
    final = epsilon(plan.history(), delta, "rdp")
    assert target - 0.01 * target <= final <= target
    assert plan.final_epsilon == pytest.approx(final, rel=1e-12)


def test_prv_calibration_meets_the_bound() -> None:
    # Prepare / Execute
    plan = calibrate(
        target_epsilon=8.0, delta=1e-5, rounds=5, steps_per_round=50, sample_rate=0.02, accountant="prv"
    )

    # Assert
    final = epsilon(plan.history(), 1e-5, "prv")
    assert 7.92 <= final <= 8.0


def test_epsilon_per_round_is_increasing_and_ends_at_final() -> None:
    # Prepare / Execute
    plan = calibrate(target_epsilon=8.0, delta=1e-5, rounds=6, steps_per_round=40, sample_rate=0.05)

    # Assert
    eps = plan.epsilon_per_round
    assert len(eps) == 6
    assert all(a < b for a, b in zip(eps, eps[1:]))
    assert eps[-1] == plan.final_epsilon


def test_prior_spending_is_included_in_the_target() -> None:
    # Prepare: the owner already trained 3 rounds elsewhere
    prior = [(1.2, 0.05, 40)] * 3
    spent = epsilon(prior, 1e-5, "rdp")

    # Execute
    plan = calibrate(
        target_epsilon=8.0, delta=1e-5, rounds=4, steps_per_round=40, sample_rate=0.05, prior=prior
    )

    # Assert
    total = epsilon(prior + plan.history(), 1e-5, "rdp")
    assert plan.prior_epsilon == pytest.approx(spent)
    assert 7.92 <= total <= 8.0
    assert plan.epsilon_per_round[0] > spent


def test_target_already_spent_is_refused() -> None:
    # Prepare
    prior = [(0.5, 0.2, 500)]

    # Execute / Assert
    with pytest.raises(PrivacyBudgetExceeded, match="already spent"):
        calibrate(target_epsilon=1.0, delta=1e-5, rounds=1, steps_per_round=1, sample_rate=0.1, prior=prior)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"target_epsilon": 0.0}, "target epsilon must be > 0, got 0.0"),
        ({"rounds": 0}, "rounds must be >= 1, got 0"),
        ({"steps_per_round": 0}, "steps_per_round must be >= 1, got 0"),
        ({"sample_rate": 0.0}, "sample_rate must be in"),
        ({"delta": 1.0}, "delta must be in"),
        ({"accountant": "moments"}, "unknown accountant 'moments'"),
    ],
)
def test_invalid_plans_are_refused(kwargs: dict, match: str) -> None:
    # Prepare
    args = dict(target_epsilon=8.0, delta=1e-5, rounds=3, steps_per_round=10, sample_rate=0.01)
    args.update(kwargs)

    # Execute / Assert
    with pytest.raises(ConfigError, match=match):
        calibrate(**args)


def test_render_names_sigma_q_steps_and_every_round() -> None:
    # Prepare
    plan = calibrate(target_epsilon=8.0, delta=1e-5, rounds=3, steps_per_round=25, sample_rate=0.04)

    # Execute
    text = plan.render()

    # Assert
    assert f"sigma = {plan.noise_multiplier:.4f}" in text
    assert "q = 0.04" in text
    assert "25 per round x 3 rounds = 75" in text
    for r, e in enumerate(plan.epsilon_per_round, start=1):
        assert f"{r:>5}  {e:.4f}" in text
