"""Calibrate the noise multiplier once for a whole federated training plan.

Given a target ``(epsilon, delta)`` and the planned ``rounds x steps_per_round``
DP-SGD steps at sample rate ``q``, find the noise multiplier ``sigma`` such
that the owner's cumulative epsilon after the *last* round satisfies

    target - tolerance * target <= epsilon_final <= target

(``tolerance`` defaults to 1 %). Any privacy already spent by the owner
(``prior``) is included, so the target is a bound on the owner's total.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from fedflm.errors import ConfigError, PrivacyBudgetExceeded
from fedflm.privacy.accounting import HistoryEntry, check_delta, epsilon

__all__ = ["NoisePlan", "calibrate", "fixed_plan"]

SIGMA_MIN = 1e-2
SIGMA_MAX = 1e6
_MAX_ITER = 200


@dataclass(frozen=True)
class NoisePlan:
    """The calibrated DP-SGD plan of one data owner for one run."""

    noise_multiplier: float
    sample_rate: float
    steps_per_round: int
    rounds: int
    delta: float
    accountant: str
    target_epsilon: float | None  # None: a fixed noise multiplier, not calibrated
    epsilon_per_round: tuple[float, ...]  # cumulative epsilon after round 1..rounds
    prior_epsilon: float = 0.0

    @property
    def final_epsilon(self) -> float:
        return self.epsilon_per_round[-1] if self.epsilon_per_round else self.prior_epsilon

    def history(self) -> list[HistoryEntry]:
        """The accountant history this plan adds (one entry per round)."""
        entry = HistoryEntry(self.noise_multiplier, self.sample_rate, self.steps_per_round)
        return [entry] * self.rounds

    def render(self) -> str:
        """Human-readable plan (the data owner's console prints it: fedflm.owner.plan_notice)."""
        target = ("fixed noise multiplier (no epsilon target)" if self.target_epsilon is None
                  else f"epsilon <= {self.target_epsilon:g}")
        lines = [
            "DP-SGD privacy plan (per data owner)",
            f"  target          {target} at delta = {self.delta:g} ({self.accountant.upper()} accountant)",
            f"  noise           sigma = {self.noise_multiplier:.4f} (noise multiplier)",
            f"  sampling        q = {self.sample_rate:.6g} (Poisson)",
            f"  steps           {self.steps_per_round} per round x {self.rounds} rounds"
            f" = {self.steps_per_round * self.rounds}",
        ]
        if self.prior_epsilon > 0:
            lines.append(f"  already spent   epsilon = {self.prior_epsilon:.4f}")
        lines.append("  round  cumulative epsilon")
        lines += [f"  {r:>5}  {e:.4f}" for r, e in enumerate(self.epsilon_per_round, start=1)]
        return "\n".join(lines)


def _validate(target_epsilon: float, rounds: int, steps_per_round: int, sample_rate: float, tolerance: float) -> None:
    if not (math.isfinite(target_epsilon) and target_epsilon > 0):
        raise ConfigError(f"target epsilon must be > 0, got {target_epsilon!r}")
    if rounds < 1:
        raise ConfigError(f"rounds must be >= 1, got {rounds!r}")
    if steps_per_round < 1:
        raise ConfigError(f"steps_per_round must be >= 1, got {steps_per_round!r}")
    if not (0.0 < sample_rate <= 1.0):
        raise ConfigError(f"sample_rate must be in (0, 1], got {sample_rate!r}")
    if not (0.0 < tolerance < 1.0):
        raise ConfigError(f"tolerance must be in (0, 1), got {tolerance!r}")


def _bracket(eps_at: Callable[[float], float], target: float) -> tuple[float, float]:
    """Return (lo, hi) with eps_at(lo) > target >= eps_at(hi)."""
    hi = 1.0
    while eps_at(hi) > target:
        hi *= 2.0
        if hi > SIGMA_MAX:
            raise ConfigError(f"target epsilon {target:g} is unreachable even with sigma = {SIGMA_MAX:g}")
    lo = hi / 2.0
    while eps_at(lo) <= target:
        lo /= 2.0
        if lo < SIGMA_MIN:
            raise ConfigError(
                f"target epsilon {target:g} is so loose that even sigma = {SIGMA_MIN:g} stays below it; "
                "lower the target or pass --noise-multiplier explicitly"
            )
    return lo, hi


def calibrate(
    *,
    target_epsilon: float,
    delta: float,
    rounds: int,
    steps_per_round: int,
    sample_rate: float,
    accountant: str = "rdp",
    prior: Sequence[Sequence[float]] = (),
    tolerance: float = 0.01,
) -> NoisePlan:
    """Find sigma so that the cumulative epsilon after the last round is in
    ``[target * (1 - tolerance), target]`` (bisection on sigma)."""
    _validate(target_epsilon, rounds, steps_per_round, sample_rate, tolerance)
    check_delta(delta)
    prior = [tuple(p) for p in prior]
    prior_eps = epsilon(prior, delta, accountant)
    if prior_eps >= target_epsilon:
        raise PrivacyBudgetExceeded(
            f"privacy budget exhausted: target epsilon {target_epsilon:g} is already spent "
            f"(epsilon so far {prior_eps:.4f})"
        )

    def eps_at(sigma: float) -> float:
        # One entry per round, exactly as the owner's ledger will record them,
        # so the bound holds for the epsilon the owner will actually report.
        return epsilon(prior + [(sigma, sample_rate, steps_per_round)] * rounds, delta, accountant)

    lo, hi = _bracket(eps_at, target_epsilon)
    floor = target_epsilon * (1.0 - tolerance)
    for _ in range(_MAX_ITER):
        if eps_at(hi) >= floor:
            break
        mid = math.sqrt(lo * hi)  # geometric bisection: sigma spans decades
        if eps_at(mid) > target_epsilon:
            lo = mid
        else:
            hi = mid
    else:  # pragma: no cover - continuity of epsilon(sigma) makes this unreachable
        raise ConfigError(f"could not calibrate sigma for epsilon {target_epsilon:g}")

    return _plan(hi, sample_rate, steps_per_round, rounds, delta, accountant, target_epsilon, prior, prior_eps)


def _plan(sigma: float, q: float, steps: int, rounds: int, delta: float, accountant: str,
          target: float | None, prior: list, prior_eps: float) -> NoisePlan:
    history = list(prior)
    per_round = []
    for _ in range(rounds):
        history.append((sigma, q, steps))
        per_round.append(epsilon(history, delta, accountant))
    return NoisePlan(noise_multiplier=sigma, sample_rate=q, steps_per_round=steps, rounds=rounds, delta=delta,
                     accountant=accountant, target_epsilon=target, epsilon_per_round=tuple(per_round),
                     prior_epsilon=prior_eps)


def fixed_plan(
    *,
    noise_multiplier: float,
    delta: float,
    rounds: int,
    steps_per_round: int,
    sample_rate: float,
    accountant: str = "rdp",
    prior: Sequence[Sequence[float]] = (),
) -> NoisePlan:
    """The plan of a run with a given noise multiplier (no calibration)."""
    _validate(1.0, rounds, steps_per_round, sample_rate, 0.01)
    if not (math.isfinite(noise_multiplier) and noise_multiplier > 0):
        raise ConfigError(f"noise_multiplier must be > 0, got {noise_multiplier!r}")
    check_delta(delta)
    prior = [tuple(p) for p in prior]
    return _plan(float(noise_multiplier), sample_rate, steps_per_round, rounds, delta, accountant, None,
                 prior, epsilon(prior, delta, accountant))


def phase_split(plan: NoisePlan, head_rounds: int, first_round: int = 1) -> str:
    """How one owner's calibrated budget divides between the head and LoRA phases of lp-ft.

    Both phases share the plan's noise multiplier: the calibration above ran over all
    ``plan.rounds`` rounds, so the owner's total after the last LoRA round is the target.
    ``first_round``: the run's round of the plan's first DP-SGD round (2 when round 1 is the
    prototype release, whose epsilon is the plan's prior); rounds are numbered as the run's.
    Epsilons are cumulative (the owner's total after that round).
    """
    last = plan.rounds + first_round - 1
    if not first_round - 1 <= head_rounds <= last:
        raise ConfigError(f"head_rounds must be in [{first_round - 1}, {last}], got {head_rounds}")
    if head_rounds in (0, last):
        phase = "head" if head_rounds else "LoRA + head"
        return f"  one phase ({phase}): epsilon {plan.final_epsilon:.3f} after round {last}"
    sgd_head = head_rounds - (first_round - 1)  # DP-SGD rounds of the head phase
    eps_head = plan.epsilon_per_round[sgd_head - 1] if sgd_head else plan.prior_epsilon
    head = "round 1" if head_rounds == 1 else f"rounds 1-{head_rounds}"
    lora = f"round {last}" if head_rounds + 1 == last else f"rounds {head_rounds + 1}-{last}"
    return (f"  head phase  {head}: epsilon {eps_head:.3f}\n"
            f"  LoRA phase  {lora}: epsilon {eps_head:.3f} -> "
            f"{plan.final_epsilon:.3f} (the owner's total, <= target)")
