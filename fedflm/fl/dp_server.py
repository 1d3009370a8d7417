"""Server-side privacy: run ids, refusals as data, ledger copies, epsilon per
round, and client-level DP (Flower's server-side fixed-clipping wrapper plus
an accountant and a ledger, since the wrapper alone reports no epsilon).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterable

from flwr.app import ArrayRecord, ConfigRecord, Message
from flwr.serverapp import Grid
from flwr.serverapp.strategy import DifferentialPrivacyServerSideFixedClipping, Strategy

from fedflm.config import RunConfig
from fedflm.errors import FederationError
from fedflm.fl.rundir import RunDir
from fedflm.io import write_atomic
from fedflm.privacy.client_level import MECHANISM, calibrate_client_level
from fedflm.privacy.federation import state_root
from fedflm.privacy.state import OwnerPrivacy

__all__ = ["BudgetStop", "ClientLevelDP", "enough_clients_or_stop", "ensure_run_id", "epsilon_max",
           "ledger_copies", "write_ledgers"]

_OWNER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
FEDERATION_OWNER = "all-clients"  # client-level DP covers every client alike


class BudgetStop(FederationError):
    """The run ends early and cleanly: privacy budgets leave too few clients."""


def ensure_run_id(cfg: RunConfig) -> RunConfig:
    """Give the run a unique id for the owners' ledgers (kept if already set)."""
    if cfg.privacy.run_id:
        return cfg
    name = re.sub(r"[^A-Za-z0-9._-]", "-", Path(cfg.fed.out or "run").name)[:100] or "run"
    return replace(cfg, privacy=replace(cfg.privacy, run_id=f"{name}-{secrets.token_hex(4)}"))


def enough_clients_or_stop(server_round: int, clients: list[dict[str, Any]], min_clients: int) -> int:
    """Refusals are data: continue while enough clients trained, else stop cleanly.

    Returns the number of clients that trained this round.
    """
    refused = sum(1 for c in clients if c.get("status") == "refused")
    ok = sum(1 for c in clients if c.get("status") == "ok")
    if refused and ok < min_clients:
        raise BudgetStop(f"round {server_round}: {refused} client(s) refused (privacy budget exhausted) "
                         f"and only {ok} trained, fewer than min_clients={min_clients}; "
                         "stopping the run with the last global model")
    return ok


def ledger_copies(replies: Iterable[Message]) -> dict[str, str]:
    """Owner id -> ledger text from the replies that carry one."""
    out: dict[str, str] = {}
    for msg in replies:
        if msg.has_error() or "privacy" not in msg.content:
            continue
        rec: ConfigRecord = msg.content["privacy"]
        owner, text = str(rec.get("owner-id", "")), rec.get("ledger", "")
        if _OWNER_RE.match(owner) and isinstance(text, str):
            out[owner] = text
    return out


def write_ledgers(rundir: RunDir, ledgers: dict[str, str]) -> None:
    """RUN/ledgers/<owner>.jsonl (atomic replace)."""
    folder = rundir.path / "ledgers"
    folder.mkdir(exist_ok=True)
    for owner, text in ledgers.items():
        write_atomic(folder / f"{owner}.jsonl", text)


def epsilon_max(clients: list[dict[str, Any]]) -> float | None:
    """Max cumulative epsilon over the clients that trained this round."""
    eps = [float(c["epsilon"]) for c in clients if c.get("status") == "ok" and "epsilon" in c]
    return max(eps) if eps else None


class ClientLevelDP(DifferentialPrivacyServerSideFixedClipping):
    """Flower's client-level DP wrapper (server-side fixed clipping) with an
    accountant over rounds: sample rate = fraction of clients per round, noise
    multiplier as passed to the wrapper (calibrated from --epsilon unless
    --noise-multiplier is given). Every aggregation is recorded in the ledger
    of the owner ``all-clients``; a round that would pass --max-epsilon is not
    started (the run stops cleanly)."""

    def __init__(self, strategy: Strategy, cfg: RunConfig, num_sampled: int) -> None:
        dp = cfg.privacy
        self.fraction = min(1.0, num_sampled / cfg.fed.clients)
        sigma = dp.noise_multiplier
        if sigma is None:
            sigma = calibrate_client_level(dp.epsilon or 8.0, dp.delta, cfg.fed.rounds, self.fraction,
                                           dp.accountant).noise_multiplier
        super().__init__(strategy, sigma, dp.max_grad_norm, num_sampled)
        self.run_id = cfg.privacy.run_id or "run"
        self.owner = OwnerPrivacy(state_root(cfg, {}) / FEDERATION_OWNER, FEDERATION_OWNER, dp.delta,
                                  dp.accountant, dp.max_epsilon)
        self.epsilon: float | None = None

    def configure_train(self, server_round: int, arrays: ArrayRecord, config: ConfigRecord,
                        grid: Grid) -> Iterable[Message]:
        try:
            self.owner.check(self.noise_multiplier, self.fraction, 1)
        except Exception as exc:
            raise BudgetStop(f"round {server_round}: {exc}") from None
        return super().configure_train(server_round, arrays, config, grid)

    def aggregate_train(self, server_round: int, replies: Iterable[Message]):
        arrays, metrics = super().aggregate_train(server_round, replies)
        if arrays is not None:  # noise was added: one release of the mechanism
            self.epsilon = self.owner.record(self.run_id, server_round, self.noise_multiplier, self.fraction,
                                             1, self.clipping_norm, mechanism=MECHANISM)
        return arrays, metrics

    def ledgers(self) -> dict[str, str]:
        path = self.owner.ledger_path
        return {FEDERATION_OWNER: path.read_text()} if path.exists() else {}
