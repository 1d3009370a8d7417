"""Pure checks of a server's request against the owner's policy.

Every check raises :class:`PolicyRefused` with a typed :class:`Refusal` code
and a sentence naming the value and the owner's bound. The node runs them
before it trains, so a refused round trains nothing, sends nothing and leaves
the ledger unchanged. :func:`effective_config` is the run config as the
owner applies it: the owner's delta, accountant, cap and randomness replace
the server's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from fedflm.config import RunConfig
from fedflm.errors import PolicyRefused
from fedflm.owner.refusal import Refusal
from fedflm.owner.settings import OwnerPolicy, OwnerSettings

__all__ = ["check_examples", "check_plan_noise", "check_request", "check_round", "check_secagg", "delta_bound",
           "effective_config"]


def _refuse(code: Refusal, text: str) -> None:
    raise PolicyRefused(code, text)


def check_request(policy: OwnerPolicy, cfg: RunConfig, *, deployed: bool, masked: bool = False) -> None:
    """The run as the server asks for it: secure aggregation, mode, delta, accountant, rounds, noise, model,
    task. ``masked``: the request came through SecAgg+ (its reply leaves only masked; fedflm.fl.secagg_client)."""
    check_secagg(policy, cfg, masked=masked)
    dp = cfg.privacy
    if dp.dp not in policy.dp_modes:
        _refuse(Refusal.DP_MODE, f"the run asks for dp={dp.dp!r}; this owner accepts only "
                                 f"{', '.join(policy.dp_modes)} (dp none/client need the owner's opt-in)")
    if deployed and dp.dp != "none" and policy.max_epsilon is None:
        _refuse(Refusal.NO_CAP, "this node has no epsilon cap; it trains with DP only under a cap")
    if dp.delta > policy.delta:
        _refuse(Refusal.DELTA, f"the run asks for delta={dp.delta:g}, above the owner's bound {policy.delta:g}")
    if dp.accountant != policy.accountant:
        _refuse(Refusal.ACCOUNTANT, f"the run asks for the {dp.accountant!r} accountant; this owner "
                                    f"accounts with {policy.accountant!r}")
    if cfg.fed.rounds > policy.max_rounds:
        _refuse(Refusal.ROUNDS, f"the run announces {cfg.fed.rounds} rounds; this owner allows at most "
                                f"{policy.max_rounds} per run")
    if dp.dp != "none" and dp.noise_multiplier is not None and dp.noise_multiplier < policy.min_noise_multiplier:
        _refuse(Refusal.NOISE, f"the run asks for noise multiplier {dp.noise_multiplier:g}, below the owner's "
                               f"minimum {policy.min_noise_multiplier:g}")
    if policy.models and cfg.model.model not in policy.models:
        _refuse(Refusal.MODEL, f"model {cfg.model.model!r} is not one this owner accepts "
                               f"({', '.join(policy.models)})")
    if deployed and cfg.agg.attack != "none":  # issue 21: attacks are simulated, never run by an owner
        _refuse(Refusal.REQUEST, f"the run asks this node to attack ({cfg.agg.attack}): attack simulation "
                                 "is for simulated clients only")
    if policy.tasks and cfg.data.dataset not in policy.tasks:
        _refuse(Refusal.TASK, f"task {cfg.data.dataset!r} is not one this owner accepts ({', '.join(policy.tasks)})")


def check_secagg(policy: OwnerPolicy, cfg: RunConfig, *, masked: bool) -> None:
    """A plain (unmasked) train request is refused when the run itself asks for secure aggregation (a server
    cannot claim ``--secagg`` and skip it) and when the owner's policy requires it (``require-secagg``)."""
    if masked:
        return
    if cfg.agg.secagg:
        _refuse(Refusal.REQUEST, "the run asks for secure aggregation but this request bypasses SecAgg+: "
                                 "no plain update is sent")
    if policy.require_secagg:
        _refuse(Refusal.SECAGG, "this owner requires secure aggregation (policy require-secagg) and the run "
                                "asks for a plain update: nothing trained, nothing sent")


def delta_bound(policy: OwnerPolicy, num_examples: int) -> float:
    """The largest delta this owner accepts for ``num_examples`` rows: min(owner bound, 1/(10 n))."""
    return min(policy.delta, 1.0 / (10.0 * max(num_examples, 1)))


def check_examples(policy: OwnerPolicy, num_examples: int, dp_mode: str) -> None:
    """delta must stay at most 1/(10 n) for the owner's n (a delta near 1/n allows leaking a record)."""
    if dp_mode == "sample" and policy.delta > 1.0 / (10.0 * max(num_examples, 1)):
        _refuse(Refusal.DELTA, f"the owner's delta {policy.delta:g} is above 1/(10 n) = "
                               f"{1.0 / (10.0 * num_examples):.3g} for its n = {num_examples} rows; "
                               "lower --delta in the owner's policy")


def check_round(policy: OwnerPolicy, run_id: str, server_round: int, entries: Iterable[Mapping[str, Any]]) -> None:
    """Replays and rounds per run, from the owner's ledger."""
    if server_round < 1:
        _refuse(Refusal.REQUEST, f"server round must be >= 1, got {server_round}")
    done = [int(e["round"]) for e in entries if e["run_id"] == run_id]
    if done and server_round <= max(done):
        _refuse(Refusal.REPLAY, f"run {run_id!r} round {server_round} was already trained (last recorded round "
                                f"{max(done)}); refusing this message only, the ledger is unchanged")
    if len(done) >= policy.max_rounds:
        _refuse(Refusal.ROUNDS, f"run {run_id!r} already trained {len(done)} rounds; this owner allows at most "
                                f"{policy.max_rounds} per run")


def check_plan_noise(policy: OwnerPolicy, noise_multiplier: float) -> None:
    """The calibrated noise must not fall below the owner's minimum."""
    if noise_multiplier < policy.min_noise_multiplier:
        _refuse(Refusal.NOISE, f"the plan's noise multiplier {noise_multiplier:.4g} is below the owner's minimum "
                               f"{policy.min_noise_multiplier:g}")


def effective_config(cfg: RunConfig, settings: OwnerSettings) -> RunConfig:
    """The run config as this owner applies it: its delta, accountant, cap, state and secure mode;
    an epsilon target above the owner's cap is lowered to the cap."""
    dp, pol = cfg.privacy, settings.policy
    target = dp.epsilon
    if target is not None and pol.max_epsilon is not None:
        target = min(target, pol.max_epsilon)
    privacy = dataclasses.replace(dp, delta=pol.delta, accountant=pol.accountant, max_epsilon=pol.max_epsilon,
                                  epsilon=target, secure_mode=settings.secure_mode,
                                  privacy_state=str(settings.state_dir))
    return dataclasses.replace(cfg, privacy=privacy)
