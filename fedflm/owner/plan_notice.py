"""What the owner's console says about its DP plan for a run.

:func:`plan_notice` renders the owner's plan (noise, sampling, steps, epsilon
after each round, the cap) the first time a run reaches the node, with a
warning when the remaining budget forces noise so large that a round cannot
learn: with expected batch ``B = q n`` and clipping norm ``C``, DP-SGD adds
noise of standard deviation ``sigma C / B`` to every coordinate of the
averaged gradient, whose norm is at most ``C``. When ``sigma / B`` exceeds
:data:`NOISE_TO_SIGNAL_LIMIT` the noise on each coordinate is larger than the
largest possible gradient: the round moves the adapter almost at random while
still spending budget.
"""

from __future__ import annotations

from fedflm.privacy.calibration import NoisePlan

__all__ = ["NOISE_TO_SIGNAL_LIMIT", "noise_to_signal", "plan_notice"]

NOISE_TO_SIGNAL_LIMIT = 1.0


def noise_to_signal(plan: NoisePlan, num_examples: int) -> float:
    """sigma / expected batch size: per-coordinate noise std over the clipping norm."""
    return plan.noise_multiplier / max(plan.sample_rate * num_examples, 1e-12)


def plan_notice(plan: NoisePlan, num_examples: int, run_id: str, cap: float | None) -> str:
    """The plan as the owner's console prints it, with the warning when it cannot learn."""
    lines = [f"run {run_id!r}: this owner's DP-SGD plan (computed at the node, under its own policy)",
             *plan.render().splitlines()[1:]]
    if cap is not None:
        lines.append(f"  owner's cap      epsilon <= {cap:g}; rounds past it are refused")
    ratio = noise_to_signal(plan, num_examples)
    if ratio > NOISE_TO_SIGNAL_LIMIT:
        lines.append(f"WARNING: the remaining budget forces noise multiplier {plan.noise_multiplier:.3g} on an expected "
                     f"batch of {plan.sample_rate * num_examples:.1f}: noise/signal {ratio:.2g} > "
                     f"{NOISE_TO_SIGNAL_LIMIT:g}, so these rounds cannot learn; they still spend budget. Refuse the "
                     "run, or ask for fewer rounds or larger batches.")
    return "\n".join(lines)
