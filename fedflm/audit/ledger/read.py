"""Parse and verify one privacy ledger file, without the code that wrote it.

Checks, each reported as a :class:`Finding` naming the line:

* every line ends with a newline (a partial last line means truncation);
* every line is a JSON object in the canonical serialization
  (``json.dumps(entry, sort_keys=True, separators=(",", ":"))``);
* ``prev_sha256`` equals the SHA-256 of the previous line's bytes ("0"*64 on
  line 1): an edited, deleted, inserted or swapped line breaks the chain at
  the line after it;
* all fields are present and have sane types and ranges; one owner per file;
* rounds strictly increase within each ``run_id`` (reordering);
* with the owner's key: every entry carries a valid HMAC (an operator without
  the key cannot rewrite entries, not even the last one).

Without a key the last line can be rewritten consistently by whoever holds
the file; the epsilon recomputation (``recompute``) still catches a recorded
epsilon that does not follow from the recorded parameters.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from fedflm.audit.ledger.findings import FAIL, WARN, Finding
from fedflm.audit.ledger.keyfile import canonical_json, entry_mac

GENESIS = "0" * 64
MECHANISMS = ("dpsgd-poisson-gaussian", "client-gaussian", "gaussian-class-sums")  # class sums: q = 1, 1 step
ACCOUNTANTS = ("rdp", "prv")
FIELDS = ("version", "owner_id", "run_id", "round", "mechanism", "noise_multiplier", "sample_rate",
          "steps", "max_grad_norm", "delta", "accountant", "epsilon", "epsilon_cap", "timestamp",
          "prev_sha256", "mac")


@dataclass(frozen=True)
class LedgerEntry:
    """One well-formed ledger line (``line`` is 1-based)."""

    line: int
    sha256: str
    data: dict[str, Any] = field(repr=False)

    def __getitem__(self, key: str) -> Any:
        return self.data[key]


@dataclass
class LedgerFile:
    """The verified content of one ledger file."""

    path: Path
    owner: str
    entries: list[LedgerEntry]
    findings: list[Finding]
    mac_verified: bool
    complete: bool  # every line was usable for recomputation

    @property
    def failed(self) -> bool:
        return any(f.failed for f in self.findings)


def _is_num(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _value_problems(e: dict[str, Any]) -> list[str]:
    """Type and range problems of a parsed entry (empty when it is usable)."""
    missing = [k for k in FIELDS if k not in e]
    if missing:
        return [f"missing field(s) {', '.join(missing)}"]
    checks = [
        (e["version"] == 1 and not isinstance(e["version"], bool), f"unsupported ledger version {e['version']!r} (expected 1)"),
        (isinstance(e["owner_id"], str) and e["owner_id"] != "", f"owner_id must be a non-empty string, got {e['owner_id']!r}"),
        (isinstance(e["run_id"], str), f"run_id must be a string, got {e['run_id']!r}"),
        (isinstance(e["round"], int) and not isinstance(e["round"], bool) and e["round"] >= 0, f"round must be an integer >= 0, got {e['round']!r}"),
        (e["mechanism"] in MECHANISMS, f"unknown mechanism {e['mechanism']!r} (known: {', '.join(MECHANISMS)})"),
        (_is_num(e["noise_multiplier"]) and e["noise_multiplier"] > 0, f"noise_multiplier must be > 0, got {e['noise_multiplier']!r}"),
        (_is_num(e["sample_rate"]) and 0 < e["sample_rate"] <= 1, f"sample_rate must be in (0, 1], got {e['sample_rate']!r}"),
        (isinstance(e["steps"], int) and not isinstance(e["steps"], bool) and e["steps"] >= 0, f"steps must be an integer >= 0, got {e['steps']!r}"),
        (_is_num(e["max_grad_norm"]) and e["max_grad_norm"] > 0, f"max_grad_norm must be > 0, got {e['max_grad_norm']!r}"),
        (_is_num(e["delta"]) and 0 < e["delta"] < 1, f"delta must be in (0, 1), got {e['delta']!r}"),
        (e["accountant"] in ACCOUNTANTS, f"unknown accountant {e['accountant']!r} (known: {', '.join(ACCOUNTANTS)})"),
        (_is_num(e["epsilon"]) and e["epsilon"] >= 0, f"epsilon must be a finite number >= 0, got {e['epsilon']!r}"),
        (e["epsilon_cap"] is None or (_is_num(e["epsilon_cap"]) and e["epsilon_cap"] > 0), f"epsilon_cap must be null or > 0, got {e['epsilon_cap']!r}"),
        (_parse_time(e["timestamp"]) is not None, f"timestamp must be ISO-8601, got {e['timestamp']!r}"),
        (isinstance(e["prev_sha256"], str) and len(e["prev_sha256"]) == 64, f"prev_sha256 must be 64 hex characters, got {e['prev_sha256']!r}"),
        (e["mac"] is None or isinstance(e["mac"], str), f"mac must be null or a hex string, got {e['mac']!r}"),
    ]
    return [msg for ok, msg in checks if not ok]


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _split_lines(data: bytes) -> tuple[list[bytes], bool]:
    """Lines without their newline, and whether the file ends with one."""
    if not data:
        return [], True
    parts = data.split(b"\n")
    ends_with_newline = parts[-1] == b""
    if ends_with_newline:
        parts.pop()
    return parts, ends_with_newline


class _Verifier:
    """Walks the lines of one file, collecting entries and findings."""

    def __init__(self, path: Path, mac_key: bytes | None) -> None:
        self.path, self.mac_key = path, mac_key
        self.owner = path.stem
        self.entries: list[LedgerEntry] = []
        self.findings: list[Finding] = []
        self.complete = True
        self.last_round: dict[str, tuple[int, int]] = {}
        self.prev_time: datetime | None = None

    def add(self, severity: str, line: int | None, message: str) -> None:
        self.findings.append(Finding(severity, self.owner, str(self.path), line, message))

    def run(self, data: bytes) -> None:
        lines, ends_with_newline = _split_lines(data)
        if not lines:
            self.add(WARN, None, "ledger is empty (no privacy spent recorded)")
        prev_hash = GENESIS
        for i, raw in enumerate(lines, start=1):
            last = i == len(lines)
            if last and not ends_with_newline:
                self.add(FAIL, i, "truncated: last line has no trailing newline (partial write or cut file)")
                self.complete = False
                if not self._parses(raw):
                    break
            digest = hashlib.sha256(raw).hexdigest()
            self.line(i, raw, prev_hash, digest)
            prev_hash = digest

    @staticmethod
    def _parses(raw: bytes) -> bool:
        try:
            return isinstance(json.loads(raw), dict)
        except ValueError:
            return False

    def line(self, i: int, raw: bytes, prev_hash: str, digest: str) -> None:
        try:
            entry = json.loads(raw)
        except ValueError:
            self.add(FAIL, i, "not valid JSON (corrupt or truncated line)")
            self.complete = False
            return
        if not isinstance(entry, dict):
            self.add(FAIL, i, f"not a JSON object (got {type(entry).__name__})")
            self.complete = False
            return
        if isinstance(entry.get("owner_id"), str) and not self.entries and i == 1:
            self.owner = entry["owner_id"]
        self.check_chain(i, entry, prev_hash)
        if raw != canonical_json(entry).encode("utf-8"):
            self.add(FAIL, i, "line is not in canonical JSON form (edited by hand?)")
        extra = sorted(set(entry) - set(FIELDS))
        if extra:
            self.add(WARN, i, f"unexpected field(s) {', '.join(extra)}")
        problems = _value_problems(entry)
        for msg in problems:
            self.add(FAIL, i, msg)
        if problems:
            self.complete = False
            return
        self.check_entry(i, entry)
        self.entries.append(LedgerEntry(i, digest, entry))

    def check_chain(self, i: int, entry: dict[str, Any], prev_hash: str) -> None:
        got = entry.get("prev_sha256")
        if got == prev_hash:
            return
        if i == 1:
            self.add(FAIL, i, "first entry's prev_sha256 is not the genesis value 0*64 "
                              "(entries before it were deleted, or the file was cut at the front)")
        else:
            self.add(FAIL, i, f"hash chain broken: prev_sha256 does not match line {i - 1} "
                              f"(an entry was edited, deleted, inserted or reordered before line {i})")

    def check_entry(self, i: int, e: dict[str, Any]) -> None:
        if e["owner_id"] != self.owner:
            self.add(FAIL, i, f"owner_id {e['owner_id']!r} differs from the file's owner {self.owner!r}")
        prev = self.last_round.get(e["run_id"])
        if prev is not None and e["round"] <= prev[0]:
            self.add(FAIL, i, f"reordered: run {e['run_id']!r} round {e['round']} follows round {prev[0]} "
                              f"(line {prev[1]}); rounds must increase within a run")
        self.last_round[e["run_id"]] = (e["round"], i)
        when = _parse_time(e["timestamp"])
        if self.prev_time is not None and when is not None and _comparable(when, self.prev_time) and when < self.prev_time:
            self.add(WARN, i, f"timestamp {e['timestamp']} is earlier than the previous entry's")
        self.prev_time = when
        if e["epsilon_cap"] is not None and e["epsilon"] > e["epsilon_cap"]:
            self.add(FAIL, i, f"recorded epsilon {e['epsilon']:.6g} exceeds the recorded cap {e['epsilon_cap']:.6g}")
        self.check_mac(i, e)

    def check_mac(self, i: int, e: dict[str, Any]) -> None:
        if self.mac_key is None:
            return
        if e["mac"] is None:
            self.add(FAIL, i, "entry carries no MAC although the owner's key was given")
        elif not hmac.compare_digest(e["mac"], entry_mac(e, self.mac_key)):
            self.add(FAIL, i, "MAC does not verify with the owner's key (entry rewritten, or wrong key)")


def _comparable(a: datetime, b: datetime) -> bool:
    return (a.tzinfo is None) == (b.tzinfo is None)


def read_ledger(path: str | Path, mac_key: bytes | None = None) -> LedgerFile:
    """Verify the ledger file at ``path``; ``mac_key`` is the derived MAC key."""
    path = Path(path)
    v = _Verifier(path, mac_key)
    v.run(path.read_bytes())
    if mac_key is None and any(e["mac"] for e in v.entries):
        v.add(WARN, None, "entries carry MACs that were not verified (no --key-file for this owner)")
    return LedgerFile(path, v.owner, v.entries, v.findings, mac_key is not None, v.complete)
