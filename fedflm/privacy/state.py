"""Per-owner privacy state: cumulative epsilon that survives restarts.

The owner's ledger (``<state_dir>/ledger.jsonl``) is the single source of
truth. The accountant history is rebuilt from it on every call, so a new
process (Flower starts one per message in deployment) continues where the
last one stopped, and every run on the same data that uses the same state
directory adds to the same budget. An exclusive ``fcntl`` lock on
``<state_dir>/.lock`` keeps two processes of the same owner from
interleaving; hold it across check -> train -> record with :meth:`session`.
"""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fedflm.config import check_epsilon_cap
from fedflm.errors import ConfigError, PrivacyBudgetExceeded
from fedflm.privacy import ledger
from fedflm.privacy.accounting import HistoryEntry, check_delta, epsilon, make_accountant

__all__ = ["LEDGER_NAME", "OwnerPrivacy"]

LEDGER_NAME = "ledger.jsonl"
_OWNER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class OwnerPrivacy:
    """The privacy budget of one data owner, backed by its ledger."""

    def __init__(
        self,
        state_dir: str | Path,
        owner_id: str,
        delta: float,
        accountant: str = "rdp",
        epsilon_cap: float | None = None,
        key: bytes | None = None,
    ) -> None:
        if not isinstance(owner_id, str) or not _OWNER_RE.match(owner_id):
            raise ConfigError(f"owner_id must be 1-128 characters [A-Za-z0-9._-], got {owner_id!r}")
        check_epsilon_cap(epsilon_cap, "epsilon_cap")
        make_accountant([], accountant)  # refuses unknown accountants
        self.state_dir = Path(state_dir)
        self.owner_id = owner_id
        self.delta = check_delta(delta)
        self.accountant = accountant
        self.epsilon_cap = None if epsilon_cap is None else float(epsilon_cap)
        self._key = key
        self._lock_fd: int | None = None
        self._depth = 0

    def __repr__(self) -> str:
        return (f"OwnerPrivacy(owner_id={self.owner_id!r}, state_dir={str(self.state_dir)!r}, "
                f"delta={self.delta}, accountant={self.accountant!r}, epsilon_cap={self.epsilon_cap})")

    @property
    def ledger_path(self) -> Path:
        return self.state_dir / LEDGER_NAME

    @contextmanager
    def session(self) -> Iterator[OwnerPrivacy]:
        """Hold the owner's exclusive lock (re-entrant within this object)."""
        if self._depth == 0:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.state_dir / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._lock_fd = fd
        self._depth += 1
        try:
            yield self
        finally:
            self._depth -= 1
            if self._depth == 0 and self._lock_fd is not None:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
                os.close(self._lock_fd)
                self._lock_fd = None

    def entries(self) -> list[dict[str, Any]]:
        """The verified ledger entries (raises LedgerError on any tampering)."""
        with self.session():
            found = ledger.verify(self.ledger_path, self._key)
        if found and found[0]["owner_id"] != self.owner_id:
            raise ConfigError(f"state directory {self.state_dir} belongs to owner "
                              f"{found[0]['owner_id']!r}, not {self.owner_id!r}")
        for e in found:
            # One budget, one yardstick: epsilon at another delta or from
            # another accountant is not comparable with what was recorded.
            if (e["delta"], e["accountant"]) != (self.delta, self.accountant):
                raise ConfigError(
                    f"owner {self.owner_id!r}'s ledger accounts at delta={e['delta']:g} with the "
                    f"{e['accountant']!r} accountant; got delta={self.delta:g}, accountant={self.accountant!r}"
                )
        return found

    def history(self) -> list[HistoryEntry]:
        return [HistoryEntry(e["noise_multiplier"], e["sample_rate"], e["steps"]) for e in self.entries()]

    def spent(self) -> float:
        """Cumulative epsilon of everything recorded so far (0.0 when nothing)."""
        return epsilon(self.history(), self.delta, self.accountant)

    def projected(self, noise_multiplier: float, sample_rate: float, steps: int) -> float:
        """Cumulative epsilon after one more round with these parameters."""
        return epsilon([*self.history(), (noise_multiplier, sample_rate, steps)], self.delta, self.accountant)

    def check(self, noise_multiplier: float, sample_rate: float, steps: int) -> float:
        """Return the projected epsilon; raise PrivacyBudgetExceeded past the cap."""
        projected = self.projected(noise_multiplier, sample_rate, steps)
        self._enforce(projected)
        return projected

    def _enforce(self, projected: float) -> None:
        if self.epsilon_cap is not None and projected > self.epsilon_cap:
            raise PrivacyBudgetExceeded(
                f"owner {self.owner_id!r}: one more round would bring epsilon to {projected:.4f}, "
                f"above its cap {self.epsilon_cap:g} (delta={self.delta:g}); refusing to train"
            )

    def record(
        self,
        run_id: str,
        round: int,  # noqa: A002 - the ledger's field name
        noise_multiplier: float,
        sample_rate: float,
        steps: int,
        max_grad_norm: float,
        mechanism: str = "dpsgd-poisson-gaussian",
    ) -> float:
        """Append this round to the ledger (fsync'd before returning) and return
        the owner's cumulative epsilon. Refuses (PrivacyBudgetExceeded) if the
        round would exceed the cap -- the update must then not be sent."""
        with self.session():
            eps = self.projected(noise_multiplier, sample_rate, steps)
            self._enforce(eps)
            ledger.append(self.ledger_path, {
                "owner_id": self.owner_id, "run_id": run_id, "round": round, "mechanism": mechanism,
                "noise_multiplier": float(noise_multiplier), "sample_rate": float(sample_rate),
                "steps": int(steps), "max_grad_norm": float(max_grad_norm), "delta": self.delta,
                "accountant": self.accountant, "epsilon": eps, "epsilon_cap": self.epsilon_cap,
            }, self._key)
        return eps
