"""Server-side privacy: run ids, refusals as data, ledger copies, epsilon per
round, and client-level DP (Flower's server-side fixed-clipping wrapper plus
an accountant and a ledger, since the wrapper alone reports no epsilon).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterable, TypeVar

import numpy as np
import torch
from flwr.app import Array, ArrayRecord, ConfigRecord, Message
from flwr.serverapp import Grid
from flwr.serverapp.strategy import DifferentialPrivacyServerSideFixedClipping, Strategy

from fedflm.config import RunConfig
from fedflm.errors import FederationError
from fedflm.fl.rundir import RunDir
from fedflm.io import write_atomic
from fedflm.owner.refusal import refusal_name
from fedflm.privacy.client_level import MECHANISM, calibrate_client_level
from fedflm.privacy.federation import state_root
from fedflm.privacy.secure_rng import secure_gaussian, secure_uniform
from fedflm.privacy.state import OwnerPrivacy

__all__ = ["BudgetStop", "ClientLevelDP", "enough_clients_or_stop", "ensure_run_id", "epsilon_max", "error_row",
           "gaussian_noise", "ledger_copies", "poisson_subset", "privacy_fields", "write_ledgers"]

_OWNER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
FEDERATION_OWNER = "all-clients"
T = TypeVar("T")  # client-level DP covers every client alike


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
        raise BudgetStop(f"round {server_round}: {refused} client(s) refused (their owner's policy or privacy budget) "
                         f"and only {ok} trained, fewer than min_clients={min_clients}; "
                         "stopping the run with the last global model")
    return ok


def error_row(server_round: int, msg: Message) -> dict[str, Any]:
    """A failed reply as a client row: ``refused`` with the owner's typed code, else ``failed``."""
    name = refusal_name(msg.error.code)
    row = {"round": server_round, "node_id": msg.metadata.src_node_id,
           "status": "refused" if name else "failed", "reason": msg.error.reason[:300]}
    if name:
        row["refusal"] = name
    return row


def reply_row(server_round: int, msg: Message) -> dict[str, Any]:
    """A client row of a reply that trained: its node id, its ``metrics`` record, its privacy fields."""
    row: dict[str, Any] = {"round": server_round, "node_id": msg.metadata.src_node_id, "status": "ok"}
    row.update({k.replace("-", "_"): v for k, v in msg.content["metrics"].items()})
    row.update(privacy_fields(msg))
    return row


def privacy_fields(msg: Message) -> dict[str, str]:
    """owner_id and ledger_head of a reply's ``privacy`` record (well-formed values only)."""
    if "privacy" not in msg.content:
        return {}
    rec: ConfigRecord = msg.content["privacy"]
    out = {}
    owner, head = rec.get("owner-id", ""), rec.get("ledger-head", "")
    if isinstance(owner, str) and _OWNER_RE.match(owner):
        out["owner_id"] = owner
    if isinstance(head, str) and re.fullmatch(r"[0-9a-f]{64}", head):
        out["ledger_head"] = head
    return out


def ledger_copies(replies: Iterable[Message]) -> dict[str, str]:
    """Owner id -> ledger text from the replies that carry one (owners that publish their ledger)."""
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
    """Client-level DP (DP-FedAvg, McMahan et al. 2018) on Flower's server-side fixed-clipping
    wrapper, made to hold when clients drop:

    * **Poisson sampling of clients**: every connected node takes part in a round
      independently with probability ``q`` (drawn from the OS CSPRNG), so the
      accountant's subsampled-Gaussian analysis at rate ``q`` applies as stated.
      A sampled client that fails or times out only lowers its participation.
    * **noise scaled to the actual denominator**: the ``m`` updates that arrived
      are clipped to ``C``, averaged with equal weights (their sum divided by
      ``m``) and Gaussian noise of std ``sigma C / m`` is added -- the sum is
      always noised with std ``sigma C``, whatever ``m`` turns out to be. No
      update: nothing is released, nothing recorded.
    * **accounted as it happened**: each release is one ledger entry
      ``(sigma, q, 1)`` of the owner ``all-clients``; a round that would pass
      ``--max-epsilon`` is not started (the run stops cleanly).
    * noise from the OS CSPRNG in secure mode, else from a generator seeded by
      the OS -- never NumPy's global one.
    """

    def __init__(self, strategy: Strategy, cfg: RunConfig, num_sampled: int) -> None:
        dp = cfg.privacy
        self.fraction = min(1.0, num_sampled / cfg.fed.clients)
        sigma = dp.noise_multiplier
        if sigma is None:
            sigma = calibrate_client_level(dp.epsilon or 8.0, dp.delta, cfg.fed.rounds, self.fraction,
                                           dp.accountant).noise_multiplier
        super().__init__(strategy, sigma, dp.max_grad_norm, num_sampled)
        self.run_id = cfg.privacy.ledger_run_id
        self.secure_mode = dp.secure_mode
        self.owner = OwnerPrivacy(state_root(cfg, {}) / FEDERATION_OWNER, FEDERATION_OWNER, dp.delta,
                                  dp.accountant, dp.max_epsilon)
        self.epsilon: float | None = None
        self.denominators: list[int] = []  # updates averaged in each release

    def configure_train(self, server_round: int, arrays: ArrayRecord, config: ConfigRecord,
                        grid: Grid) -> Iterable[Message]:
        try:
            self.owner.check(self.noise_multiplier, self.fraction, 1)
        except Exception as exc:
            raise BudgetStop(f"round {server_round}: {exc}") from None
        self.current_arrays = arrays
        offered = list(self.strategy.configure_train(server_round, arrays, config, grid))
        chosen = poisson_subset(offered, self.fraction)
        if hasattr(self.strategy, "sampled"):
            self.strategy.sampled = len(chosen)  # failures are counted against who was really asked
        return chosen

    def aggregate_train(self, server_round: int, replies: Iterable[Message]):
        replies = list(replies)
        ok = [m for m in replies if not m.has_error()]
        for msg in ok:
            self._clip(msg)
            msg.content["metrics"]["dp-unit-weight"] = 1  # equal weights: the sum / m is what is noised
        arrays, metrics = self.strategy.aggregate_train(server_round, replies)
        if arrays is None or not ok:
            return None, metrics  # nothing released
        arrays = self._noised(arrays, len(ok))
        self.denominators.append(len(ok))
        self.epsilon = self.owner.record(self.run_id, server_round, self.noise_multiplier, self.fraction,
                                         1, self.clipping_norm, mechanism=MECHANISM)
        return arrays, metrics

    def _clip(self, msg: Message) -> None:
        """Replace the reply's arrays by global + clip(update, C) (an update of norm 0 stays 0)."""
        current = self.current_arrays.to_numpy_ndarrays()
        for name, record in msg.content.array_records.items():
            clipped = clip_update(record.to_numpy_ndarrays(), current, self.clipping_norm)
            msg.content[name] = ArrayRecord(dict(zip(record.keys(), (Array(v) for v in clipped), strict=True)))

    def _noised(self, arrays: ArrayRecord, denominator: int) -> ArrayRecord:
        std = self.noise_multiplier * self.clipping_norm / denominator
        out = {}
        for name, value in zip(arrays.keys(), arrays.to_numpy_ndarrays(), strict=True):
            out[name] = Array(np.asarray(value + gaussian_noise(value.shape, std, self.secure_mode), value.dtype))
        return ArrayRecord(out)

    def ledgers(self) -> dict[str, str]:
        path = self.owner.ledger_path
        return {FEDERATION_OWNER: path.read_text()} if path.exists() else {}


def clip_update(new: list[np.ndarray], old: list[np.ndarray], clipping_norm: float) -> list[np.ndarray]:
    """``old + update * min(1, C / ||update||)`` with the L2 norm over all tensors together."""
    update = [np.asarray(n, np.float64) - np.asarray(o, np.float64) for n, o in zip(new, old, strict=True)]
    norm = float(np.sqrt(sum(float(np.sum(u * u)) for u in update)))
    scale = min(1.0, clipping_norm / norm) if norm > 0 else 1.0
    return [np.asarray(o + u * scale, dtype=np.asarray(n).dtype) for n, o, u in zip(new, old, update, strict=True)]


def poisson_subset(items: list[T], rate: float) -> list[T]:
    """Each item independently with probability ``rate`` (uniforms from the OS CSPRNG)."""
    if rate >= 1.0:
        return list(items)
    draws = secure_uniform(len(items)).numpy() if items else np.zeros(0)
    return [item for item, u in zip(items, draws) if u <= rate]


def gaussian_noise(shape: tuple[int, ...], std: float, secure_mode: bool) -> np.ndarray:
    """N(0, std^2) of ``shape``: the OS CSPRNG in secure mode, else an OS-seeded generator."""
    if secure_mode:
        like = torch.zeros((), dtype=torch.float64)
        return secure_gaussian(tuple(shape), std, like).numpy()
    return np.random.default_rng(secrets.randbits(128)).normal(0.0, std, size=shape)
