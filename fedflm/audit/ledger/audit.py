"""`fedflm audit ledger`: verify ledgers and recompute every owner's epsilon.

Inputs are an owner's state directory (``DIR/ledger.jsonl``), a state
directory holding several owners (``STATE/<owner>/ledger.jsonl``, the
``privacy-state`` root a node is given), ledger files, or run directories
(``RUN/ledgers/*.jsonl``). Several copies of one owner's
ledger (say the client's own and the run directory's copy) must agree: the
shorter must be a prefix of the longer. The longest copy is recomputed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fedflm.audit.ledger.defaults import DEFAULT_TOLERANCE
from fedflm.audit.ledger.findings import FAIL, WARN, Finding
from fedflm.audit.ledger.keyfile import derive_mac_key
from fedflm.audit.ledger.read import LedgerEntry, LedgerFile, read_ledger
from fedflm.audit.ledger.recompute import (ACCOUNTANT_NAMES, BELOW_TOLERANCE, CROSS_KIND, SAME_KIND, Block,
                                    Recomputation, recompute)
from fedflm.errors import LedgerError



def find_ledgers(paths: Sequence[str | Path]) -> list[Path]:
    """Ledger files named by ``paths`` (files, state dirs or run dirs), in order, deduplicated."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_file():
            candidates = [p]
        elif p.is_dir():
            candidates = _ledgers_in_dir(p)
        else:
            raise LedgerError(f"{p}: no such file or directory")
        found.extend(c for c in candidates if c.resolve() not in {f.resolve() for f in found})
    return found


def _ledgers_in_dir(d: Path) -> list[Path]:
    found = [d / "ledger.jsonl"] if (d / "ledger.jsonl").is_file() else []
    sub = d if d.name == "ledgers" else d / "ledgers"
    if sub.is_dir():
        found += sorted(sub.glob("*.jsonl"))
    if not found:  # a state dir with one sub-directory per owner
        found = sorted(p for p in d.glob("*/ledger.jsonl") if p.is_file())
    if not found:
        raise LedgerError(f"{d}: no ledger found (expected {d}/ledger.jsonl, {d}/<owner>/ledger.jsonl, "
                          f"{d}/ledgers/*.jsonl or a ledger file)")
    return found


def peek_owner(path: Path) -> str:
    """The owner_id on a ledger's first line, else the file name's stem."""
    try:
        with path.open("rb") as fh:
            first = json.loads(fh.readline())
        if isinstance(first, dict) and isinstance(first.get("owner_id"), str):
            return first["owner_id"]
    except (OSError, ValueError):
        pass
    return path.stem if path.name != "ledger.jsonl" else path.parent.name


@dataclass(frozen=True)
class AuditOptions:
    """How to audit: owner keys (raw 32 bytes) and recomputation settings."""

    keys: Mapping[str, bytes] = field(default_factory=dict)  # owner_id -> key
    default_key: bytes | None = None  # used for owners not in ``keys``
    every_entry: bool = True  # every accountant after every entry (else final + checked ones)
    tolerance: float = DEFAULT_TOLERANCE

    def __post_init__(self) -> None:
        if not 0 < self.tolerance < 1:
            raise ValueError(f"tolerance must be in (0, 1), got {self.tolerance}")

    def mac_key_for(self, owner: str) -> bytes | None:
        key = self.keys.get(owner, self.default_key)
        return None if key is None else derive_mac_key(key)


@dataclass
class OwnerAudit:
    """One owner's verified history and its independent epsilons."""

    owner: str
    files: list[str]
    entries: list[LedgerEntry]
    recomputation: Recomputation
    complete: bool
    mac_verified: bool

    def summary(self) -> dict[str, Any]:
        e = self.entries
        final = {n: self.recomputation.final(n) for n in ACCOUNTANT_NAMES}
        last = e[-1].data if e else {}
        cap = last.get("epsilon_cap")
        same = final.get(SAME_KIND.get(last.get("accountant", ""), ""), None)
        spent = max(v for v in (last.get("epsilon"), same) if v is not None) if e else 0.0
        return {
            "owner": self.owner, "files": self.files, "complete": self.complete,
            "rounds": len(e), "runs": len({x["run_id"] for x in e}), "steps": sum(x["steps"] for x in e),
            "mechanisms": sorted({x["mechanism"] for x in e}),
            "noise_multiplier": sorted({x["noise_multiplier"] for x in e}),
            "sample_rate": sorted({x["sample_rate"] for x in e}),
            "delta": sorted({x["delta"] for x in e}),
            "max_grad_norm": sorted({x["max_grad_norm"] for x in e}),
            "accountant": last.get("accountant"), "epsilon_recorded": last.get("epsilon"),
            "epsilon": final, "epsilon_cap": cap,
            "remaining": None if cap is None else cap - spent,
            "mac_verified": self.mac_verified,
            "mac": ("verified" if self.mac_verified else
                    "present, not checked (no key)" if any(x["mac"] for x in e) else "none recorded"),
            "per_entry": [self._entry_row(k, x) for k, x in enumerate(e)],
            "accountant_errors": self.recomputation.errors,
        }

    def _entry_row(self, k: int, x: LedgerEntry) -> dict[str, Any]:
        row = {"line": x.line, "run_id": x["run_id"], "round": x["round"], "steps": x["steps"],
               "recorded": x["epsilon"]}
        row.update({n: self.recomputation.series[n][k] for n in ACCOUNTANT_NAMES})
        return row


@dataclass
class LedgerAudit:
    """Everything ``audit ledger`` found."""

    owners: list[OwnerAudit]
    files: list[LedgerFile]
    findings: list[Finding]

    @property
    def ok(self) -> bool:
        return not any(f.failed for f in self.findings)

    def federation(self) -> dict[str, Any]:
        summaries = [o.summary() for o in self.owners if o.entries]
        out: dict[str, Any] = {"owners": len(self.owners)}
        recorded = [(s["epsilon_recorded"], s["owner"]) for s in summaries]
        out["epsilon_recorded_max"] = max(recorded)[0] if recorded else None
        out["owner_of_max"] = max(recorded)[1] if recorded else None
        out["epsilon_max"] = {}
        for n in ACCOUNTANT_NAMES:
            vals = [s["epsilon"][n] for s in summaries if s["epsilon"][n] is not None]
            out["epsilon_max"][n] = max(vals) if vals else None
        return out


def _blocks(entries: Sequence[LedgerEntry]) -> list[Block]:
    return [Block(float(x["noise_multiplier"]), float(x["sample_rate"]), int(x["steps"]), float(x["delta"]))
            for x in entries]


def _check_copies(owner: str, primary: LedgerFile, others: Sequence[LedgerFile]) -> list[Finding]:
    out: list[Finding] = []
    ref = [(x.line, x.sha256) for x in primary.entries]
    for other in others:
        mine = [(x.line, x.sha256) for x in other.entries]
        for a, b in zip(mine, ref):
            if a != b:
                out.append(Finding(FAIL, owner, str(other.path), a[0],
                                   f"copies of this owner's ledger disagree: line {a[0]} differs from "
                                   f"{primary.path} line {b[0]}"))
                break
    return out


def _check_values(owner: str, path: str, entries: Sequence[LedgerEntry], rec: Recomputation,
                  tolerance: float) -> list[Finding]:
    out: list[Finding] = []
    for k, x in enumerate(entries):
        name = SAME_KIND[x["accountant"]]
        indep = rec.series[name][k]
        recorded = float(x["epsilon"])
        if indep is None:
            out.append(Finding(FAIL, owner, path, x.line, f"cannot recompute epsilon with {name}: "
                                                           f"{rec.errors.get(name, 'no value')}"))
            continue
        out.extend(_compare(owner, path, x.line, recorded, indep, name, tolerance))
        cross_name = CROSS_KIND[x["accountant"]]
        cross = rec.series[cross_name][k]
        if cross is not None and _rel(recorded, cross) > tolerance:
            out.append(Finding(WARN, owner, path, x.line,
                               f"recorded epsilon {recorded:.6g} differs from {cross_name} {cross:.6g} "
                               f"by {100 * _rel(recorded, cross):.2f} % (cross-library check)"))
    return out


def _rel(a: float, b: float) -> float:
    return abs(a - b) / b if b > 0 else (0.0 if a == b else float("inf"))


def _compare(owner: str, path: str, line: int, recorded: float, indep: float, name: str,
             tolerance: float) -> list[Finding]:
    below = recorded < indep * (1 - BELOW_TOLERANCE[name]) - 1e-12
    rel = _rel(recorded, indep)
    if below:
        msg = (f"recorded epsilon {recorded:.6g} is BELOW the independent {name} value {indep:.6g} "
               f"({100 * rel:.4g} % under-counted)")
    elif rel > tolerance:
        msg = (f"recorded epsilon {recorded:.6g} differs from the independent {name} value {indep:.6g} "
               f"by {100 * rel:.3g} % (> {100 * tolerance:g} %)")
    else:
        return []
    return [Finding(FAIL, owner, path, line, msg)]


def audit_ledgers(paths: Sequence[str | Path], options: AuditOptions | None = None) -> LedgerAudit:
    """Verify every ledger under ``paths`` and recompute each owner's epsilon."""
    options = options or AuditOptions()
    files = [read_ledger(p, options.mac_key_for(peek_owner(p))) for p in find_ledgers(paths)]
    findings = [f for lf in files for f in lf.findings]
    by_owner: dict[str, list[LedgerFile]] = {}
    for lf in files:
        by_owner.setdefault(lf.owner, []).append(lf)
    for owner in sorted(set(options.keys) - set(by_owner)):
        findings.append(Finding(WARN, owner, "--key-file", None, "a key was given for this owner, "
                                                                  "but no ledger of this owner was found"))
    owners: list[OwnerAudit] = []
    for owner, group in sorted(by_owner.items()):
        primary = max(group, key=lambda lf: len(lf.entries))
        others = [lf for lf in group if lf is not primary]
        findings += _check_copies(owner, primary, others)
        entries = _usable_prefix(primary)
        needed = _needed(entries)
        rec = recompute(_blocks(entries), every_entry=options.every_entry, needed=needed)
        findings += _check_values(owner, str(primary.path), entries, rec, options.tolerance)
        findings += _mixture_warnings(owner, str(primary.path), entries)
        owners.append(OwnerAudit(owner, [str(lf.path) for lf in group], entries, rec,
                                 primary.complete and len(entries) == len(primary.entries),
                                 all(lf.mac_verified for lf in group)))
    return LedgerAudit(owners, files, findings)


def _usable_prefix(lf: LedgerFile) -> list[LedgerEntry]:
    """Entries up to the first unusable line: later epsilons cannot be recomputed."""
    out: list[LedgerEntry] = []
    for k, x in enumerate(lf.entries, start=1):
        if x.line != k:
            break
        out.append(x)
    return out


def _needed(entries: Sequence[LedgerEntry]) -> dict[str, list[bool]]:
    needed = {n: [False] * len(entries) for n in ACCOUNTANT_NAMES}
    for k, x in enumerate(entries):
        needed[SAME_KIND[x["accountant"]]][k] = True
        needed[CROSS_KIND[x["accountant"]]][k] = True
    return needed


def _mixture_warnings(owner: str, path: str, entries: Sequence[LedgerEntry]) -> list[Finding]:
    out = []
    for key, what in (("mechanism", "mechanisms"), ("delta", "deltas"), ("accountant", "accountants")):
        values = sorted({str(x[key]) for x in entries})
        if len(values) > 1:
            out.append(Finding(WARN, owner, path, None, f"ledger mixes {what} ({', '.join(values)}); "
                                                        f"epsilon composes all entries"))
    return out
