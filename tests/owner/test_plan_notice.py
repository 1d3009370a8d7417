"""The owner's console shows its DP plan and warns when the noise forced by the budget cannot learn."""

from __future__ import annotations

from fedflm.owner.plan_notice import NOISE_TO_SIGNAL_LIMIT, noise_to_signal, plan_notice
from fedflm.privacy.calibration import calibrate, fixed_plan


def test_a_plan_that_can_learn_has_no_warning():
    # Prepare: sigma 1 on an expected batch of 64 -> noise/signal 1/64
    plan = fixed_plan(noise_multiplier=1.0, delta=1e-5, rounds=3, steps_per_round=10, sample_rate=0.064)

    # Execute
    text = plan_notice(plan, 1000, "run-a", cap=8.0)

    # Assert
    assert noise_to_signal(plan, 1000) == 1.0 / 64
    assert "run 'run-a'" in text and "sigma = 1.0000" in text and "epsilon <= 8" in text
    assert "WARNING" not in text


def test_a_nearly_spent_budget_forces_noise_that_cannot_learn():
    # Prepare: 100 rows, batch 4, a target barely above what was spent: sigma far above the batch
    prior = [(0.8, 0.04, 400)]
    from fedflm.privacy.accounting import epsilon
    spent = epsilon(prior, 1e-5)
    plan = calibrate(target_epsilon=spent * 1.001, delta=1e-5, rounds=5, steps_per_round=25, sample_rate=0.04,
                     prior=prior)

    # Execute
    text = plan_notice(plan, 100, "run-b", cap=spent * 1.001)

    # Assert
    assert noise_to_signal(plan, 100) > NOISE_TO_SIGNAL_LIMIT
    assert "WARNING: the remaining budget forces noise multiplier" in text and "cannot learn" in text
