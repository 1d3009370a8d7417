"""The owner's side of one round, shared by every task of the ClientApp (``clients/app.py``: classify;
``clients/task_round.py``: causal-lm and recommend).

Who the owner is (:func:`owner_settings`), its ledger and budget (:func:`owner_privacy`), the
checks that need its ledger under its lock (:func:`round_guard`: replay and round refusals, the
plan's noise floor), its seeds (:func:`round_seed`), and a typed refusal (:func:`refusal`: nothing
trained, nothing sent, the ledger unchanged), the task a deployed store holds
(:func:`require_store_task`) and the owner's console line of a trained round (:func:`announce_round`).
Each task checks the server's request against the owner's policy (:func:`fedflm.owner.policy.check_request`),
applies the owner's settings (:func:`~fedflm.owner.policy.effective_config`) and trains through
:func:`fedflm.privacy.federation.train_private` (ledger durable before the reply).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import warnings
from dataclasses import dataclass
from typing import Any, Callable

from flwr.app import Context, Error, Message

from fedflm.config import RunConfig
from fedflm.deploy.node_data import is_deployed, owner_partition_id
from fedflm.owner.console import announce
from fedflm.owner.plan_notice import plan_notice
from fedflm.errors import PolicyRefused
from fedflm.owner.policy import check_plan_noise, check_round
from fedflm.owner.task_store import store_task
from fedflm.owner.refusal import Refusal
from fedflm.owner.settings import DP_MODES, OwnerPolicy, OwnerSettings
from fedflm.privacy.dp import SecureModeOffWarning
from fedflm.privacy.federation import PrivacyOutcome, state_root
from fedflm.privacy.state import OwnerPrivacy
from fedflm.protect.keys import read_key_file

log = logging.getLogger("fedflm.client")


@dataclass(frozen=True)
class NodeRound:
    """One message at one node: who the owner is, what it trains on, and what the server asked."""

    settings: OwnerSettings
    cfg: RunConfig  # the server's request, with the owner's privacy settings applied
    server_round: int
    partition_id: int


def simulated_settings(cfg: RunConfig, node_config: dict[str, Any], pid: int) -> OwnerSettings:
    """A simulated owner: the operator simulates itself, so its policy is the run's own."""
    policy = OwnerPolicy(dp_modes=DP_MODES, max_epsilon=cfg.privacy.max_epsilon, delta=cfg.privacy.delta,
                         accountant=cfg.privacy.accountant, max_rounds=cfg.fed.rounds, min_noise_multiplier=0.0,
                         publish_ledger=True, share_leakage_count=True,
                         accept_sampling_amplification=cfg.privacy.amplify_by_sampling)
    seed = None if cfg.privacy.secure_mode else cfg.fed.seed * 1000 + pid
    return OwnerSettings(owner_id=str(node_config.get("owner-id") or f"client-{pid}"),
                         state_dir=state_root(cfg, {}), secure_mode=cfg.privacy.secure_mode, seed=seed,
                         policy=policy)


def owner_settings(context: Context, cfg: RunConfig) -> tuple[OwnerSettings, int]:
    """This owner's settings and partition id (a broken node config is the owner's to fix: it raises)."""
    if is_deployed(context.node_config):
        settings = OwnerSettings.from_node_config(context.node_config)
        return settings, owner_partition_id({"owner-id": settings.owner_id})
    # simulation: the CLI and the run summary announce insecure settings once
    warnings.filterwarnings("ignore", category=SecureModeOffWarning)
    pid = int(context.node_config["partition-id"])
    return simulated_settings(cfg, context.node_config, pid), pid


def refusal(msg: Message, node: NodeRound | None, code: int, text: str) -> Message:
    """Nothing trained, nothing sent: a typed refusal the server records; the owner's console says why."""
    if node is not None and node.settings.deployed:
        announce(node.settings.owner_dir, f"REFUSED run {node.cfg.privacy.ledger_run_id!r} round "
                                          f"{node.server_round} ({Refusal(code).name}): {text}")
    log.warning("refused (%s): %s", Refusal(code).name, text)
    return Message(Error(code=int(code), reason=f"{Refusal(code).name.lower()}: {text}"[:500]), reply_to=msg)


def round_seed(settings: OwnerSettings, run_id: str, server_round: int) -> int | None:
    """secure_mode off: a seed of the owner's (its own seed, mixed with the run and round so that
    no two rounds repeat a mask); None in secure mode. Never a server-chosen seed."""
    if settings.secure_mode:
        return None
    if settings.seed is None:
        return secrets.randbits(63)
    h = hashlib.sha256(f"{settings.seed}|{run_id}|{server_round}".encode()).digest()
    return int.from_bytes(h[:8], "big") >> 1


def owner_privacy(node: NodeRound) -> OwnerPrivacy:
    """The owner's budget; a deployed owner's ledger is MAC'd with its key (HKDF-separated)."""
    s, dp = node.settings, node.cfg.privacy
    key = read_key_file(str(s.key_file)).secret if s.deployed else None
    return OwnerPrivacy(s.owner_dir, s.owner_id, dp.delta, dp.accountant, dp.max_epsilon, key=key)


def round_guard(node: NodeRound) -> Callable[[list[dict[str, Any]], Any], None]:
    """Checks that need the owner's ledger and plan, run under its lock before training."""
    def guard(entries: list[dict[str, Any]], plan: Any) -> None:
        check_round(node.settings.policy, node.cfg.privacy.ledger_run_id, node.server_round, entries)
        check_plan_noise(node.settings.policy, plan.noise_multiplier)
    return guard


def announce_round(node: NodeRound, n: int, privacy: PrivacyOutcome | None) -> None:
    """A deployed owner's console line for a trained round (its DP plan on the run's first round)."""
    s = node.settings
    if not s.deployed:
        return
    run_id = node.cfg.privacy.ledger_run_id
    if privacy is None:
        announce(s.owner_dir, f"run {run_id!r} round {node.server_round}: trained with dp={node.cfg.privacy.dp} "
                              "(the owner's opt-in; no DP-SGD at this node)")
        return
    if privacy.first_of_run and privacy.plan is not None:
        announce(s.owner_dir, plan_notice(privacy.plan, n, run_id, s.policy.max_epsilon))
    cap = f" (cap {s.policy.max_epsilon:g})" if s.policy.max_epsilon is not None else ""
    announce(s.owner_dir, f"run {run_id!r} round {node.server_round}: trained; epsilon now {privacy.epsilon:.4f}{cap}")


def require_store_task(settings: OwnerSettings, task: str) -> None:
    """A deployed node serves only the task its store was prepared for (``fedflm data prepare --task``):
    any other request is refused before anything is decrypted beyond the manifest (nothing trained, nothing
    sent, the ledger unchanged)."""
    held = store_task(str(settings.store), read_key_file(str(settings.key_file)))
    if held != task:
        raise PolicyRefused(Refusal.TASK, f"the run asks for task {task}; this node's store holds {held} data "
                                          f"(prepared with `fedflm data prepare --task {held}`)")
