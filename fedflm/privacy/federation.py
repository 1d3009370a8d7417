"""Sample-level DP for one data owner in a federated run (no Flower here).

* :func:`owner_plan` -- the owner's DP-SGD plan for the run: sample rate
  ``q = batch / n``, steps per round, and the noise multiplier, calibrated
  once for the whole run (so that the owner's epsilon after the LAST round is
  within 1 % below the target, privacy spent in earlier runs included) or
  given. Pure and deterministic: the CLI and every (fresh) client process
  compute the same plan from the same inputs.
* :func:`private_round` -- one round at the owner: refuse if the round
  would pass the owner's cap, train with DP-SGD, and record the round in the
  owner's ledger (fsync'd) before anything is returned to be sent.
* :func:`render_plans` -- the table the CLI prints before training.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from fedflm.config import DPConfig, RunConfig, TrainConfig
from fedflm.errors import PrivacyBudgetExceeded, PrivacyError
from fedflm.privacy.calibration import NoisePlan, calibrate, fixed_plan
from fedflm.privacy.dp import make_private, release
from fedflm.privacy.prototypes import PROTOTYPE_MECHANISM, PROTOTYPE_SAMPLE_RATE
from fedflm.privacy import ledger
from fedflm.privacy.participation import amplification_note, check_within_target, participation_note, plan_rounds
from fedflm.privacy.state import OwnerPrivacy

__all__ = ["PrivacyOutcome", "client_owner", "owner_plan", "plan_text", "prior_history", "private_prototypes", "private_round", "render_plans",
           "sample_rate", "state_root", "steps_per_round", "train_private"]

T = TypeVar("T")


def sample_rate(batch_size: int, num_examples: int) -> float:
    """Poisson sampling rate of DP-SGD: expected batch / dataset size."""
    if num_examples < 1:
        raise PrivacyError(f"a data owner needs at least one example for DP-SGD, got {num_examples}")
    return min(1.0, batch_size / num_examples)


def steps_per_round(train: TrainConfig, q: float) -> int:
    """Local steps of one round: ``local_steps``, else ``local_epochs / q`` (Opacus' epoch length)."""
    return train.local_steps if train.local_steps else train.local_epochs * int(1 / q)


def prototype_sigma(dp: DPConfig, train: TrainConfig, rounds: int) -> float | None:
    """Noise multiplier of the owner's prototype release (round 1), None when there is none.

    It spends ``proto_fraction`` of the target epsilon on its own; the DP-SGD rounds are then
    calibrated with it as prior history, so the owner's total stays <= the target."""
    from fedflm.privacy.prototypes import prototype_plan
    from fedflm.train.phases import prototype_round

    if dp.dp != "sample" or dp.epsilon is None or not prototype_round(train, dp.dp, rounds,
                                                                       dp.noise_multiplier is not None):
        return None
    return prototype_plan(dp.epsilon * train.proto_fraction, dp.delta, dp.accountant)


@lru_cache(maxsize=256)
def _plan_cached(dp: DPConfig, train: TrainConfig, rounds: int, num_examples: int,
                 prior: tuple[tuple[float, float, int], ...]) -> NoisePlan:
    sigma_p = prototype_sigma(dp, train, rounds)
    if sigma_p is not None:  # round 1 is the prototype release: DP-SGD in rounds 2..rounds
        prior, rounds = prior + ((sigma_p, PROTOTYPE_SAMPLE_RATE, 1),), rounds - 1
    q = sample_rate(train.batch_size, num_examples)
    steps = steps_per_round(train, q)
    common = dict(delta=dp.delta, rounds=rounds, steps_per_round=steps, sample_rate=q,
                  accountant=dp.accountant, prior=prior)
    if dp.noise_multiplier is not None:
        return fixed_plan(noise_multiplier=dp.noise_multiplier, **common)
    if dp.epsilon is None:
        raise PrivacyError("sample-level DP needs --epsilon or --noise-multiplier")
    return calibrate(target_epsilon=dp.epsilon, **common)  # PrivacyBudgetExceeded if already spent


def owner_plan(dp: DPConfig, train: TrainConfig, rounds: int, num_examples: int,
               prior: Sequence[Sequence[float]] = ()) -> NoisePlan:
    """The owner's DP-SGD plan for the run (``prior``: history from earlier runs). With a
    prototype round the plan covers rounds 2..``rounds`` and its prior includes the release."""
    return _plan_cached(dp, train, rounds, num_examples, tuple(tuple(p) for p in prior))  # type: ignore[arg-type]


def prior_history(owner: OwnerPrivacy, run_id: str) -> list[tuple[float, float, int]]:
    """The owner's history from runs other than ``run_id``."""
    return [(e["noise_multiplier"], e["sample_rate"], e["steps"])
            for e in owner.entries() if e["run_id"] != run_id]


def private_round(
    owner: OwnerPrivacy,
    plan: NoisePlan,
    *,
    run_id: str,
    server_round: int,
    max_grad_norm: float,
    train: Callable[[Callable[..., Any]], T],
    secure_mode: bool = False,
    noise_seed: int | None = None,
) -> tuple[T, float]:
    """Check the cap, train with DP-SGD, record; returns (train result, epsilon).

    ``train(privatize)`` runs the local training loop with ``privatize`` as
    the ``(model, optimizer, loader) -> private versions`` stage. Raises
    :class:`PrivacyBudgetExceeded` before training when the round would pass
    the owner's cap (nothing trained, nothing recorded).
    """
    with owner.session():
        owner.check(plan.noise_multiplier, plan.sample_rate, plan.steps_per_round)
        made: dict[str, Any] = {}

        def privatize(model: Any, optimizer: Any, loader: Any) -> tuple[Any, Any, Any]:
            made["model"], made["optimizer"], loader = make_private(
                model, optimizer, loader, noise_multiplier=plan.noise_multiplier,
                max_grad_norm=max_grad_norm, secure_mode=secure_mode,
                noise_seed=None if secure_mode else noise_seed)
            return made["model"], made["optimizer"], loader

        try:
            result = train(privatize)
        finally:
            if "model" in made:
                release(made["model"])
        opt = made.get("optimizer")
        if opt is None:
            raise PrivacyError("the training loop never called the DP-SGD privatize stage")
        if abs(opt.sample_rate - plan.sample_rate) > 1e-12:
            raise PrivacyError(f"sample rate {opt.sample_rate} differs from the plan's {plan.sample_rate}")
        eps = owner.record(run_id, server_round, plan.noise_multiplier, opt.sample_rate, opt.steps_taken,
                           max_grad_norm)
    return result, eps


def render_plans(plans: Mapping[str, NoisePlan]) -> str:
    """One line per owner: n-independent settings once, then q, steps, sigma, epsilon."""
    if not plans:
        return "no DP-SGD plan (no data owners)"
    first = next(iter(plans.values()))
    target = ("fixed noise multiplier" if first.target_epsilon is None
              else f"target epsilon <= {first.target_epsilon:g} per owner at the end of the run")
    lines = [f"DP-SGD privacy plan: {target}, delta = {first.delta:g}, {first.accountant.upper()} "
             f"accountant, Poisson sampling",
             f"  {'owner':<14}{'q':>9}{'steps/round':>13}{'sigma':>9}{'eps r1':>9}{'eps final':>11}"]
    groups: dict[tuple, list[str]] = {}  # owners with the same plan share one line (1,000 owners, few sizes)
    for owner, p in plans.items():
        key = (p.sample_rate, p.steps_per_round, p.noise_multiplier, p.epsilon_per_round[0], p.final_epsilon)
        groups.setdefault(key, []).append(owner)
    for (q, steps, sigma, eps1, eps_final), owners in groups.items():
        name = owners[0] if len(owners) == 1 else f"{len(owners)} owners"
        lines.append(f"  {name:<14}{q:>9.4f}{steps:>13}{sigma:>9.4f}{eps1:>9.3f}{eps_final:>11.3f}")
    return "\n".join(lines)


_MANY_PLANS = 30  # more distinct owner sizes than this: the printed plan shows representative owners


def _representatives(sizes: Sequence[int]) -> set[int]:
    """Owners at the smallest, 10 %, median, 90 % and largest size (calibrating 1,000 owners of
    distinct sizes would take minutes; each owner calibrates its own plan anyway)."""
    order = sorted(range(len(sizes)), key=lambda i: sizes[i])
    return {order[round(f * (len(order) - 1))] for f in (0.0, 0.1, 0.5, 0.9, 1.0)}


@dataclass(frozen=True)
class PrivacyOutcome:
    """What a client may report about its privacy after a round (no data, no PII)."""

    owner_id: str
    epsilon: float
    ledger_head: str  # SHA-256 of the ledger's last line: commits to the whole chain
    ledger: str | None = None  # the whole ledger (JSONL), only when the owner publishes it
    plan: NoisePlan | None = None  # the owner's plan for this run (stays at the node)
    first_of_run: bool = False  # no round of this run was recorded before this one


DEFAULT_STATE_ROOT = Path("~/.fedflm/privacy")


def state_root(cfg: RunConfig, node_config: Mapping[str, Any]) -> Path:
    """Where the owners' privacy state lives: the node's own ``privacy-state``
    (deployment), else ``--privacy-state``, else ``~/.fedflm/privacy`` -- a
    place that outlives runs, so that epsilon is never reset by default.
    (``fedflm simulate`` sets ``--privacy-state`` to ``<run dir>/privacy_state``
    unless given: simulated owners start afresh in every simulation.)"""
    root = node_config.get("privacy-state") or cfg.privacy.privacy_state
    return Path(str(root)).expanduser() if root else DEFAULT_STATE_ROOT.expanduser()


def client_owner(cfg: RunConfig, node_config: Mapping[str, Any], partition_id: int) -> OwnerPrivacy:
    """The data owner behind a client: its id, state directory and cap.

    The cap is the owner's: a node's own ``max-epsilon`` wins over the run's."""
    owner_id = str(node_config.get("owner-id") or f"client-{partition_id}")
    cap = node_config.get("max-epsilon", cfg.privacy.max_epsilon)
    cap = None if cap in (None, "") else float(cap)
    return OwnerPrivacy(state_root(cfg, node_config) / owner_id, owner_id, cfg.privacy.delta,
                        cfg.privacy.accountant, cap)


#: ``guard(entries, plan)`` raises to refuse a round before anything is trained (owner policy).
Guard = Callable[[list[dict[str, Any]], NoisePlan], None]


def train_private(cfg: RunConfig, owner: OwnerPrivacy, num_examples: int, server_round: int,
                  train: Callable[[Callable[..., Any]], T], *, guard: Guard | None = None,
                  noise_seed: int | None = None, publish_ledger: bool = True) -> tuple[T, PrivacyOutcome]:
    """One DP-SGD round of ``owner`` under the run's plan; the ledger is
    fsync'd before this returns. Raises PrivacyBudgetExceeded (or what
    ``guard`` raises) to refuse: nothing trained, the ledger unchanged."""
    run_id = cfg.privacy.ledger_run_id
    with owner.session():
        entries = owner.entries()
        plan = owner_plan(cfg.privacy, cfg.train, plan_rounds(cfg), num_examples, prior_history(owner, run_id))
        if guard is not None:
            guard(entries, plan)
        if cfg.privacy.participation == "sampled":  # calibrated for fewer rounds than R: enforce the target
            check_within_target(owner, plan)
        result, eps = private_round(owner, plan, run_id=run_id, server_round=server_round,
                                    max_grad_norm=cfg.privacy.max_grad_norm, train=train,
                                    secure_mode=cfg.privacy.secure_mode, noise_seed=noise_seed)
        text = owner.ledger_path.read_text()
    first = not any(e["run_id"] == run_id for e in entries)
    return result, PrivacyOutcome(owner.owner_id, eps, ledger.head_of(text), text if publish_ledger else None,
                                  plan, first)


def private_prototypes(cfg: RunConfig, owner: OwnerPrivacy, num_examples: int, server_round: int,
                       release_sums: Callable[[float], T], *, guard: Guard | None = None,
                       publish_ledger: bool = True) -> tuple[T, PrivacyOutcome]:
    """The owner's one-shot prototype release (``release_sums(noise_multiplier)``), recorded in its
    ledger (mechanism ``gaussian-class-sums``, sample rate 1, one step; fsync'd) before this
    returns. Refuses like :func:`train_private`: nothing released, the ledger unchanged."""
    run_id = cfg.privacy.ledger_run_id
    sigma = prototype_sigma(cfg.privacy, cfg.train, cfg.fed.rounds)
    if sigma is None:
        raise PrivacyError("no prototype round in this run (proto_fraction 0, lora mode, or no sample-level DP)")
    with owner.session():
        entries = owner.entries()
        plan = owner_plan(cfg.privacy, cfg.train, cfg.fed.rounds, num_examples, prior_history(owner, run_id))
        if guard is not None:
            guard(entries, plan)
        owner.check(sigma, PROTOTYPE_SAMPLE_RATE, 1)
        sums = release_sums(sigma)
        eps = owner.record(run_id, server_round, sigma, PROTOTYPE_SAMPLE_RATE, 1, 1.0,
                           mechanism=PROTOTYPE_MECHANISM)
        text = owner.ledger_path.read_text()
    first = not any(e["run_id"] == run_id for e in entries)
    return sums, PrivacyOutcome(owner.owner_id, eps, ledger.head_of(text), text if publish_ledger else None,
                                plan, first)


def plan_text(cfg: RunConfig, num_examples: Sequence[int]) -> str:
    """The privacy plan the CLI prints before training (sample- or client-level)."""
    dp = cfg.privacy
    if dp.dp == "client":
        from fedflm.privacy.client_level import calibrate_client_level, client_level_epsilon

        q = min(1.0, cfg.fed.sampled_clients() / cfg.fed.clients)
        sigma = dp.noise_multiplier or calibrate_client_level(
            dp.epsilon or 8.0, dp.delta, cfg.fed.rounds, q, dp.accountant).noise_multiplier
        eps = [client_level_epsilon(sigma, q, r, dp.delta, dp.accountant) for r in range(1, cfg.fed.rounds + 1)]
        return (f"client-level DP plan: noise multiplier {sigma:.4f}, clipping norm {dp.max_grad_norm:g}, "
                f"{q:.3f} of clients per round (Poisson sampling), delta = {dp.delta:g}, "
                f"{dp.accountant.upper()} accountant\n"
                "  epsilon after each round: " + ", ".join(f"{e:.3f}" for e in eps))
    plans: dict[str, NoisePlan] = {}
    refused: list[str] = []
    many = len(set(num_examples)) > _MANY_PLANS
    shown = _representatives(num_examples) if many else set(range(len(num_examples)))
    for pid, n in enumerate(num_examples):
        prior: list[tuple[float, float, int]] = []
        if dp.privacy_state:  # owners that persist across runs may have spent already
            prior = prior_history(client_owner(cfg, {}, pid), dp.run_id or "")
        if pid not in shown and not prior:
            continue
        try:
            plans[f"client-{pid}"] = owner_plan(dp, cfg.train, plan_rounds(cfg), n, prior)
        except PrivacyBudgetExceeded:
            refused.append(f"client-{pid}")
    text = render_plans(plans) + "".join(f"\n{n}" for n in (participation_note(cfg), amplification_note(cfg)) if n)
    if many:
        text += (f"\n  {len(num_examples)} owners of {len(set(num_examples))} sizes: shown are the smallest, 10 %, "
                 "median, 90 % and largest owner (and any that spent before); each owner calibrates its own plan")
    if refused:
        text += f"\n  budget already spent, will refuse: {', '.join(refused)}"
    if dp.max_epsilon is not None:
        text += f"\n  owners' cap: clients refuse any round that would pass epsilon {dp.max_epsilon:g}"
    return text
