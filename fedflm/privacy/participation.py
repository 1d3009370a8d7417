"""Partial participation: calibrate an owner's DP-SGD for the rounds it is sampled in (issue 24).

The owner's ledger has always charged only the rounds the owner actually trained (a round it
is not sampled in sends it no message, so nothing is recorded and nothing is spent). What
changes here is the *plan*: with ``--participation all`` (the default) the noise is calibrated
as if the owner trained in every one of the ``R`` rounds; with ``--participation sampled`` it
is calibrated for ``k`` participations, where ``k`` is the 99.9 % quantile of the number of
rounds the owner is sampled in.

Flower's FedAvg samples ``m`` of the ``N`` nodes uniformly without replacement in each round,
independently across rounds, so one owner's count of rounds is ``Binomial(R, p)`` with
``p = m / N``. Calibrating for ``k < R`` rounds lowers the noise per round; it stays SAFE
because the bound is enforced at the owner, not assumed: before a round, the owner projects
its epsilon with this round included (from its ledger, the same accountant) and refuses --
nothing trained, nothing sent, the ledger unchanged -- if that would pass the target
(:func:`check_within_target`). An owner sampled more often than ``k`` times (probability
<= 0.1 % per owner) simply refuses its extra rounds, and the server aggregates around it.

No amplification by client sampling is claimed here: each trained round is charged in full. Flower's
sampler is seeded with the run's ``--seed`` (the pattern is a function of the config, and the server
always knows it), and for one record of an owner trained with local DP-SGD the subsampling theorem
does not carry over (an unsampled owner contributes nothing, not "everything but the record"). The
opt-in ``--amplify-by-sampling`` (``fedflm.privacy.amplification``) replaces that sampler by secret
Poisson sampling and reports an additional, labelled ex-ante figure under a stated threat model (an
adversary who sees only the released models); the ledgers keep the figure computed here.
"""

from __future__ import annotations

from scipy.stats import binom

from fedflm.config import RunConfig
from fedflm.options import AMPLIFICATION_THREAT_MODEL
from fedflm.errors import ConfigError, PrivacyBudgetExceeded
from fedflm.privacy.calibration import NoisePlan
from fedflm.privacy.state import OwnerPrivacy

__all__ = ["COVERAGE", "amplification_note", "check_within_target", "participation_note", "participation_rate",
           "plan_rounds", "planned_participations"]

#: Probability that an owner is sampled no more often than the plan's participations.
COVERAGE = 0.999


def participation_rate(cfg: RunConfig) -> float:
    """Probability that one owner is sampled in one round: sampled clients / clients."""
    return min(1.0, cfg.fed.sampled_clients() / cfg.fed.clients)


def planned_participations(rounds: int, rate: float, coverage: float = COVERAGE) -> int:
    """Smallest ``k`` with ``P[Binomial(rounds, rate) <= k] >= coverage`` (at least 1, at most ``rounds``)."""
    if rounds < 1:
        raise ConfigError(f"rounds must be >= 1, got {rounds}")
    if not 0.0 < rate <= 1.0:
        raise ConfigError(f"participation rate must be in (0, 1], got {rate}")
    if not 0.0 < coverage < 1.0:
        raise ConfigError(f"coverage must be in (0, 1), got {coverage}")
    return int(min(rounds, max(1, binom.ppf(coverage, rounds, rate))))


def plan_rounds(cfg: RunConfig) -> int:
    """How many rounds an owner's DP-SGD plan is calibrated for under this run's participation."""
    if cfg.privacy.participation == "all":
        return cfg.fed.rounds
    return planned_participations(cfg.fed.rounds, participation_rate(cfg))


def check_within_target(owner: OwnerPrivacy, plan: NoisePlan) -> None:
    """Refuse a round that would take the owner past its plan's epsilon target (ledger included).

    Call it under the owner's session lock, before training. A plan with a fixed noise
    multiplier has no target: only the owner's cap (``max_epsilon``) bounds it."""
    if plan.target_epsilon is None:
        return
    projected = owner.projected(plan.noise_multiplier, plan.sample_rate, plan.steps_per_round)
    if projected > plan.target_epsilon:
        raise PrivacyBudgetExceeded(
            f"owner {owner.owner_id!r}: calibrated for {plan.rounds} sampled rounds; one more round would bring "
            f"epsilon to {projected:.4f}, above the target {plan.target_epsilon:g}; refusing to train")


def participation_note(cfg: RunConfig) -> str:
    """One line for the CLI's privacy plan (empty under ``--participation all``)."""
    if cfg.privacy.participation == "all" or cfg.privacy.dp != "sample":
        return ""
    p, k = participation_rate(cfg), plan_rounds(cfg)
    return (f"  partial participation: each owner is sampled with p = {p:.4g} per round, so in "
            f"Binomial({cfg.fed.rounds}, {p:.4g}) rounds; the plan covers k = {k} participations "
            f"(P[more] <= {1 - COVERAGE:.1%}); an owner refuses any round past its target")


def amplification_note(cfg: RunConfig) -> str:
    """The privacy plan's lines under ``--amplify-by-sampling`` (empty without it): the threat model, loudly."""
    if not cfg.privacy.amplify_by_sampling:
        return ""
    return (f"  AMPLIFICATION BY CLIENT SAMPLING (--amplify-by-sampling): each owner is sampled with p = "
            f"{participation_rate(cfg):.4g} per round by secret Poisson sampling (OS CSPRNG); after the run each owner "
            f"also gets an epsilon_amplified (every round charged; RUN/amplification.json).\n"
            f"  THREAT MODEL: that figure is {AMPLIFICATION_THREAT_MODEL}.")
