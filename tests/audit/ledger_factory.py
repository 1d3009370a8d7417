"""Write privacy ledgers by hand, following the format in the project notes.

Deliberately independent of fedflm.privacy.ledger (the writer under audit):
epsilons come straight from Opacus' accountants.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from opacus.accountants import PRVAccountant, RDPAccountant


def dumps(entry: dict[str, Any]) -> str:
    return json.dumps(entry, sort_keys=True, separators=(",", ":"))


def mac_key(owner_key: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"fedflm-ledger-mac").derive(owner_key)


def opacus_epsilon(history: Sequence[tuple[float, float, int]], delta: float, accountant: str) -> float:
    acc = RDPAccountant() if accountant == "rdp" else PRVAccountant()
    acc.history = [h for h in history if h[2] > 0]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Optimal order is the")  # the bound stays valid
        return float(acc.get_epsilon(delta=delta)) if acc.history else 0.0


def make_entries(owner: str, rounds: Sequence[tuple[float, float, int]], *, run_id: str = "run-1",
                 delta: float = 1e-5, accountant: str = "rdp", cap: float | None = None,
                 mechanism: str = "dpsgd-poisson-gaussian", first_round: int = 1,
                 history: Sequence[tuple[float, float, int]] = ()) -> list[dict[str, Any]]:
    """Entries (without chain/MAC) for ``rounds`` of (sigma, q, steps), epsilons cumulative."""
    hist = list(history)
    out = []
    for i, (sigma, q, steps) in enumerate(rounds):
        hist.append((sigma, q, steps))
        out.append({"version": 1, "owner_id": owner, "run_id": run_id, "round": first_round + i,
                    "mechanism": mechanism, "noise_multiplier": sigma, "sample_rate": q, "steps": steps,
                    "max_grad_norm": 1.0, "delta": delta, "accountant": accountant,
                    "epsilon": opacus_epsilon(hist, delta, accountant), "epsilon_cap": cap,
                    "timestamp": f"2026-11-29T10:{i // 60:02d}:{i % 60:02d}+00:00"})
    return out


def chain(entries: Sequence[dict[str, Any]], owner_key: bytes | None = None) -> list[str]:
    """Serialized lines with prev_sha256 (and MAC when a key is given)."""
    lines: list[str] = []
    prev = "0" * 64
    for e in entries:
        e = dict(e, prev_sha256=prev, mac=None)
        if owner_key is not None:
            body = dumps({k: v for k, v in e.items() if k != "mac"})
            e["mac"] = hmac.new(mac_key(owner_key), body.encode(), hashlib.sha256).hexdigest()
        line = dumps(e)
        lines.append(line)
        prev = hashlib.sha256(line.encode()).hexdigest()
    return lines


def write_ledger(path: Path, entries: Sequence[dict[str, Any]], owner_key: bytes | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in chain(entries, owner_key)), encoding="utf-8")
    return path


def read_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def write_lines(path: Path, lines: Sequence[str], trailing_newline: bool = True) -> None:
    path.write_text("\n".join(lines) + ("\n" if trailing_newline else ""), encoding="utf-8")
