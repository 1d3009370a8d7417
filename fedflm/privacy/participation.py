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

No amplification by client sampling is claimed: each trained round is charged in full, and no flag
offers it, for two reasons (issue 24 asked for one "only where the sampling is secret from the
adversary the owner fears"):

1. The sampling is not secret from anyone who can see the config. The ServerApp seeds Python's
   ``random`` with the run's ``--seed`` and Flower's FedAvg samples with it, so who trains in which
   round is a function of the run config; the server, which samples and receives the updates, always
   knows it. Amplification would need a sampler whose coins are fresh, unpredictable and never
   published, and an adversary who sees only the final model (or the released aggregates).
2. Even then the textbook bound does not transfer to fedflm's unit, one record of an owner trained
   with local DP-SGD. Amplification by subsampling (Balle, Barthe & Gaboardi 2018) needs "the owner
   is not sampled" to be close to "the owner is sampled without the record"; here it is "the round
   has none of the owner's data at all", which differs from the neighbour by the owner's whole update
   and carries no record-level bound. What holds without secrecy is the mixture bound
   ``eps'(a) = log(1 - p + p * exp((a - 1) * eps(a))) / (a - 1)`` per round for every round, sampled or
   not: an ex-ante guarantee (averaged over who is sampled) that mostly shrinks delta, not epsilon,
   and that the owner's ledger, which sees only the rounds it trained, cannot record.
   Client-level DP (``--dp client``) is where sampling does amplify: the server's Poisson sampling with a
   secure RNG, accounted as the Poisson-subsampled Gaussian (``fedflm.privacy.client_level``), against
   users of the final model.
"""

from __future__ import annotations

from scipy.stats import binom

from fedflm.config import RunConfig
from fedflm.errors import ConfigError, PrivacyBudgetExceeded
from fedflm.privacy.calibration import NoisePlan
from fedflm.privacy.state import OwnerPrivacy

__all__ = ["COVERAGE", "check_within_target", "participation_note", "participation_rate",
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
