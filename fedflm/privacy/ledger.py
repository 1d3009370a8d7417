"""The per-owner privacy ledger: append-only, hash-chained JSONL.

One line per round trained (see the format in the project notes). Each line
is ``json.dumps(entry, sort_keys=True, separators=(",", ":"))`` and carries
the SHA-256 of the previous line's exact bytes (``"0" * 64`` for the first),
so editing, deleting, inserting or swapping any line but the last breaks the
chain at the line after it. With the owner's key every line also carries an
HMAC-SHA256 (key = HKDF-SHA256(owner key, info=b"fedflm-ledger-mac")), which
makes the last line tamper-evident too and stops a re-written consistent chain.

Limits, stated honestly: without a key, whoever holds the file can rewrite it
consistently from any point on; and removing whole trailing lines leaves a
valid (shorter) ledger in either mode -- keep a copy elsewhere (the run
directory does) to detect that. The ledger never contains data or PII: only
mechanism parameters, identifiers chosen by the operator and epsilon.

Durability: ``append`` writes the line, flushes, ``fsync``s the file and, on
creation, the directory -- before it returns, i.e. before an update leaves
the client.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import os
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from fedflm.errors import LedgerError
from fedflm.io import fsync_dir

__all__ = ["GENESIS", "MECHANISMS", "append", "canonical_json", "derive_mac_key", "head_of", "read", "verify"]

VERSION = 1
GENESIS = "0" * 64
MAC_INFO = b"fedflm-ledger-mac"
MECHANISMS = ("dpsgd-poisson-gaussian", "client-gaussian", "gaussian-class-sums")  # class sums: q = 1, one step
ACCOUNTANTS = ("rdp", "prv")
# Fields the caller provides; version, timestamp, prev_sha256 and mac are added here.
CALLER_FIELDS = ("owner_id", "run_id", "round", "mechanism", "noise_multiplier", "sample_rate",
                 "steps", "max_grad_norm", "delta", "accountant", "epsilon", "epsilon_cap")
FIELDS = ("version", *CALLER_FIELDS, "timestamp", "prev_sha256", "mac")


def canonical_json(entry: Mapping[str, Any]) -> str:
    """The ledger's one serialization: sorted keys, no whitespace."""
    return json.dumps(dict(entry), sort_keys=True, separators=(",", ":"), allow_nan=False)


def derive_mac_key(owner_key: bytes) -> bytes:
    """HKDF-SHA256(owner key, salt=None, info=b"fedflm-ledger-mac") -> 32 bytes."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=MAC_INFO).derive(owner_key)


def _mac(entry: Mapping[str, Any], owner_key: bytes) -> str:
    body = {k: v for k, v in entry.items() if k != "mac"}
    return hmac.new(derive_mac_key(owner_key), canonical_json(body).encode(), hashlib.sha256).hexdigest()


def _is_num(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _problem(e: Mapping[str, Any]) -> str | None:
    """First type/range problem of an entry, or None when it is well-formed."""
    missing = [k for k in FIELDS if k not in e]
    if missing:
        return f"missing field(s) {', '.join(missing)}"
    extra = sorted(set(e) - set(FIELDS))
    checks = [
        (not extra, f"unknown field(s) {', '.join(extra)}"),
        (e["version"] == VERSION and _is_int(e["version"]), f"unsupported version {e['version']!r}"),
        (isinstance(e["owner_id"], str) and e["owner_id"] != "", f"owner_id must be a non-empty string, got {e['owner_id']!r}"),
        (isinstance(e["run_id"], str) and e["run_id"] != "", f"run_id must be a non-empty string, got {e['run_id']!r}"),
        (_is_int(e["round"]) and e["round"] >= 0, f"round must be an integer >= 0, got {e['round']!r}"),
        (e["mechanism"] in MECHANISMS, f"unknown mechanism {e['mechanism']!r}"),
        (_is_num(e["noise_multiplier"]) and e["noise_multiplier"] > 0, f"noise_multiplier must be > 0, got {e['noise_multiplier']!r}"),
        (_is_num(e["sample_rate"]) and 0 < e["sample_rate"] <= 1, f"sample_rate must be in (0, 1], got {e['sample_rate']!r}"),
        (_is_int(e["steps"]) and e["steps"] >= 0, f"steps must be an integer >= 0, got {e['steps']!r}"),
        (_is_num(e["max_grad_norm"]) and e["max_grad_norm"] > 0, f"max_grad_norm must be > 0, got {e['max_grad_norm']!r}"),
        (_is_num(e["delta"]) and 0 < e["delta"] < 1, f"delta must be in (0, 1), got {e['delta']!r}"),
        (e["accountant"] in ACCOUNTANTS, f"unknown accountant {e['accountant']!r}"),
        (_is_num(e["epsilon"]) and e["epsilon"] >= 0, f"epsilon must be a finite number >= 0, got {e['epsilon']!r}"),
        (e["epsilon_cap"] is None or (_is_num(e["epsilon_cap"]) and e["epsilon_cap"] > 0), f"epsilon_cap must be null or > 0, got {e['epsilon_cap']!r}"),
        (isinstance(e["timestamp"], str), f"timestamp must be an ISO-8601 string, got {e['timestamp']!r}"),
        (isinstance(e["prev_sha256"], str) and len(e["prev_sha256"]) == 64, f"prev_sha256 must be 64 hex characters, got {e['prev_sha256']!r}"),
        (e["mac"] is None or isinstance(e["mac"], str), f"mac must be null or a hex string, got {e['mac']!r}"),
    ]
    return next((msg for ok, msg in checks if not ok), None)


def _lines(path: Path) -> list[bytes]:
    """The file's lines without newlines; a partial last line is truncation."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    if not data:
        return []
    if not data.endswith(b"\n"):
        n = data.count(b"\n") + 1
        raise LedgerError(f"{path}: line {n}: truncated (no trailing newline: partial write or cut file)")
    return data[:-1].split(b"\n")


def _check_line(path: Path, i: int, raw: bytes, prev: str, key: bytes | None) -> dict[str, Any]:
    where = f"{path}: line {i}"
    try:
        entry = json.loads(raw)
    except ValueError:
        raise LedgerError(f"{where}: not valid JSON (corrupt line)") from None
    if not isinstance(entry, dict):
        raise LedgerError(f"{where}: not a JSON object")
    if entry.get("prev_sha256") != prev:
        what = "is not the genesis value (entries before it were removed)" if i == 1 else \
            f"does not match line {i - 1} (an entry was edited, deleted, inserted or reordered)"
        raise LedgerError(f"{where}: hash chain broken: prev_sha256 {what}")
    problem = _problem(entry)
    if problem:
        raise LedgerError(f"{where}: {problem}")
    if raw != canonical_json(entry).encode():
        raise LedgerError(f"{where}: not in canonical JSON form (edited?)")
    if key is not None:
        if entry["mac"] is None:
            raise LedgerError(f"{where}: entry has no MAC but a key was given")
        if not hmac.compare_digest(entry["mac"], _mac(entry, key)):
            raise LedgerError(f"{where}: bad MAC (entry changed, or wrong key)")
    return entry


def _check_sequence(path: Path, entries: list[dict[str, Any]]) -> None:
    """Cross-entry rules: one owner, rounds increase within a run, epsilon never drops."""
    last_round: dict[str, int] = {}
    for i, e in enumerate(entries, start=1):
        where = f"{path}: line {i}"
        if e["owner_id"] != entries[0]["owner_id"]:
            raise LedgerError(f"{where}: owner_id {e['owner_id']!r} differs from line 1 ({entries[0]['owner_id']!r})")
        if e["run_id"] in last_round and e["round"] <= last_round[e["run_id"]]:
            raise LedgerError(f"{where}: round {e['round']} of run {e['run_id']!r} does not follow "
                              f"round {last_round[e['run_id']]} (reordered or replayed)")
        last_round[e["run_id"]] = e["round"]
        if i > 1 and e["epsilon"] < entries[i - 2]["epsilon"]:
            raise LedgerError(f"{where}: epsilon {e['epsilon']} is below the previous entry's "
                              f"{entries[i - 2]['epsilon']} (cumulative epsilon never decreases)")


def _check_epsilons(path: Path, entries: list[dict[str, Any]]) -> None:
    """Each recorded epsilon must equal the accountant's value for the history so far."""
    from fedflm.privacy.accounting import epsilon  # local: keep the ledger importable alone

    history: list[tuple[float, float, int]] = []
    for i, e in enumerate(entries, start=1):
        history.append((e["noise_multiplier"], e["sample_rate"], e["steps"]))
        expected = epsilon(history, e["delta"], e["accountant"])
        if not math.isclose(e["epsilon"], expected, rel_tol=1e-6, abs_tol=1e-9):
            raise LedgerError(f"{path}: line {i}: recorded epsilon {e['epsilon']} does not follow from the "
                              f"recorded mechanism parameters (recomputed {expected:.6f})")


def verify(path: str | Path, key: bytes | None = None, *, recompute: bool = False) -> list[dict[str, Any]]:
    """Verify a ledger and return its entries; raise :class:`LedgerError` naming the line.

    ``key`` is the owner's key (raw bytes); with it every MAC is checked.
    ``recompute`` also re-derives every recorded epsilon from the parameters.
    A missing or empty file is an empty ledger.
    """
    path = Path(path)
    entries: list[dict[str, Any]] = []
    prev = GENESIS
    for i, raw in enumerate(_lines(path), start=1):
        entries.append(_check_line(path, i, raw, prev, key))
        prev = hashlib.sha256(raw).hexdigest()
    _check_sequence(path, entries)
    if recompute:
        _check_epsilons(path, entries)
    return entries


def read(path: str | Path, key: bytes | None = None) -> list[dict[str, Any]]:
    """Alias of :func:`verify` without recomputation: entries are only returned verified."""
    return verify(path, key)


def head_of(text: str) -> str:
    """The ledger's head: SHA-256 of its last line's bytes (GENESIS when empty).

    It commits to the whole hash chain, so a copy published later can be
    checked against the heads the owner sent round by round."""
    lines = text.encode().rstrip(b"\n").split(b"\n") if text.strip() else []
    return hashlib.sha256(lines[-1]).hexdigest() if lines else GENESIS


def append(path: str | Path, fields: Mapping[str, Any], key: bytes | None = None) -> dict[str, Any]:
    """Verify the ledger, append one entry durably and return it.

    ``fields`` holds the caller fields (owner_id ... epsilon_cap); version,
    timestamp, prev_sha256 and mac are filled in here. The caller must hold
    the owner's lock (see ``fedflm.privacy.state``) so appends cannot interleave.
    """
    path = Path(path)
    unknown = sorted(set(fields) - set(CALLER_FIELDS))
    if unknown:
        raise LedgerError(f"{path}: refusing unknown ledger field(s) {', '.join(unknown)} (no data or PII)")
    lines = _lines(path)
    verify(path, key)
    entry: dict[str, Any] = {k: fields.get(k) for k in CALLER_FIELDS}
    entry.update(
        version=VERSION,
        timestamp=datetime.now(timezone.utc).isoformat(timespec="microseconds"),
        prev_sha256=hashlib.sha256(lines[-1]).hexdigest() if lines else GENESIS,
        mac=None,
    )
    problem = _problem(entry)
    if problem:
        raise LedgerError(f"{path}: refusing to append an invalid entry: {problem}")
    if key is not None:
        entry["mac"] = _mac(entry, key)
    created = not path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "ab") as f:
        f.write(canonical_json(entry).encode() + b"\n")
        f.flush()
        os.fsync(f.fileno())
    if created:
        fsync_dir(path.parent)
    return entry
