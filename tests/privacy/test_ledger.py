"""Tests for fedflm.privacy.ledger (append-only, hash-chained, optional MAC)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from pathlib import Path
from typing import Any

import pytest

from fedflm.audit.ledger.keyfile import derive_mac_key as audit_mac_key
from fedflm.audit.ledger.read import read_ledger
from fedflm.errors import LedgerError
from fedflm.privacy.accounting import epsilon
from fedflm.privacy.ledger import GENESIS, append, canonical_json, verify

KEY = bytes(range(32))


def _fields(round_: int, history: list[tuple[float, float, int]], run_id: str = "run-a") -> dict[str, Any]:
    history.append((1.1, 0.02, 50))
    return {
        "owner_id": "hospital-3", "run_id": run_id, "round": round_, "mechanism": "dpsgd-poisson-gaussian",
        "noise_multiplier": 1.1, "sample_rate": 0.02, "steps": 50, "max_grad_norm": 1.0, "delta": 1e-5,
        "accountant": "rdp", "epsilon": epsilon(history, 1e-5, "rdp"), "epsilon_cap": 10.0,
    }


def _write(path: Path, rounds: int = 3, key: bytes | None = None) -> list[bytes]:
    history: list[tuple[float, float, int]] = []
    for r in range(1, rounds + 1):
        append(path, _fields(r, history), key)
    return path.read_bytes().split(b"\n")[:-1]


def _rewrite(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"".join(line + b"\n" for line in lines))


def test_appended_entries_follow_the_exact_format(tmp_path: Path) -> None:
    # Prepare
    path = tmp_path / "ledger.jsonl"

    # Execute
    lines = _write(path, rounds=2)

    # Assert
    first, second = (json.loads(x) for x in lines)
    assert lines[0] == canonical_json(first).encode()
    assert first["prev_sha256"] == GENESIS
    assert second["prev_sha256"] == hashlib.sha256(lines[0]).hexdigest()
    assert first["version"] == 1 and first["mac"] is None
    assert set(first) == {"version", "owner_id", "run_id", "round", "mechanism", "noise_multiplier",
                          "sample_rate", "steps", "max_grad_norm", "delta", "accountant", "epsilon",
                          "epsilon_cap", "timestamp", "prev_sha256", "mac"}
    assert verify(path, recompute=True) == [first, second]


def test_mac_matches_the_documented_derivation(tmp_path: Path) -> None:
    # Prepare
    path = tmp_path / "ledger.jsonl"

    # Execute
    entry = json.loads(_write(path, rounds=1, key=KEY)[0])

    # Assert: HMAC-SHA256(HKDF(owner key, info=b"fedflm-ledger-mac"), canonical JSON without "mac")
    body = canonical_json({k: v for k, v in entry.items() if k != "mac"}).encode()
    assert entry["mac"] == hmac.new(audit_mac_key(KEY), body, hashlib.sha256).hexdigest()
    assert len(verify(path, KEY)) == 1


def test_independent_audit_reader_accepts_our_ledger(tmp_path: Path) -> None:
    # Prepare
    path = tmp_path / "hospital-3.jsonl"
    _write(path, rounds=3, key=KEY)

    # Execute
    audited = read_ledger(path, audit_mac_key(KEY))

    # Assert
    assert not audited.failed, audited.findings
    assert audited.mac_verified and len(audited.entries) == 3


def test_append_fsyncs_the_file_and_the_new_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Prepare: record real fsync calls (the real os.fsync still runs)
    synced: list[str] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(os.readlink(f"/proc/self/fd/{fd}")), real_fsync(fd)))
    path = tmp_path / "owner" / "ledger.jsonl"

    # Execute
    _write(path, rounds=2)

    # Assert: file synced on every append, directory once on creation
    assert synced.count(str(path)) == 2
    assert synced.count(str(path.parent)) == 1


def test_edited_number_in_a_middle_line_breaks_the_chain(tmp_path: Path) -> None:
    # Prepare
    path = tmp_path / "ledger.jsonl"
    lines = _write(path)
    entry = json.loads(lines[0])
    entry["noise_multiplier"] = 5.0
    lines[0] = canonical_json(entry).encode()
    _rewrite(path, lines)

    # Execute / Assert
    with pytest.raises(LedgerError, match="line 2: hash chain broken"):
        verify(path)


def test_edited_last_line_is_caught_by_recomputation_without_key(tmp_path: Path) -> None:
    # Prepare
    path = tmp_path / "ledger.jsonl"
    lines = _write(path)
    entry = json.loads(lines[-1])
    entry["epsilon"] = entry["epsilon"] * 1.0001  # still above the previous epsilon
    lines[-1] = canonical_json(entry).encode()
    _rewrite(path, lines)

    # Execute / Assert
    verify(path)  # the chain alone cannot see it ...
    with pytest.raises(LedgerError, match="line 3: recorded epsilon .* does not follow"):
        verify(path, recompute=True)  # ... the re-derivation can


def test_edited_last_line_is_caught_by_the_mac(tmp_path: Path) -> None:
    # Prepare
    path = tmp_path / "ledger.jsonl"
    lines = _write(path, key=KEY)
    entry = json.loads(lines[-1])
    entry["steps"] = 1
    lines[-1] = canonical_json(entry).encode()
    _rewrite(path, lines)

    # Execute / Assert
    with pytest.raises(LedgerError, match="line 3: bad MAC"):
        verify(path, KEY)


def test_wrong_key_is_a_bad_mac(tmp_path: Path) -> None:
    # Prepare
    path = tmp_path / "ledger.jsonl"
    _write(path, key=KEY)

    # Execute / Assert
    with pytest.raises(LedgerError, match="line 1: bad MAC"):
        verify(path, bytes(32))


def test_ledger_without_macs_fails_when_a_key_is_given(tmp_path: Path) -> None:
    # Prepare
    path = tmp_path / "ledger.jsonl"
    _write(path)

    # Execute / Assert
    with pytest.raises(LedgerError, match="line 1: entry has no MAC"):
        verify(path, KEY)


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda ls: ls[:1] + ls[2:], "line 2: hash chain broken"),  # deleted middle entry
        (lambda ls: [ls[0], ls[2], ls[1]], "line 2: hash chain broken"),  # swapped entries
        (lambda ls: ls[1:], "line 1: hash chain broken: prev_sha256 is not the genesis"),  # deleted first
        (lambda ls: ls[:2] + [b'{"round": 3'], "line 3: not valid JSON"),  # corrupt line
    ],
)
def test_structural_tampering_is_detected(tmp_path: Path, mutate: Any, match: str) -> None:
    # Prepare
    path = tmp_path / "ledger.jsonl"
    _rewrite(path, mutate(_write(path)))

    # Execute / Assert
    with pytest.raises(LedgerError, match=match):
        verify(path)


def test_partial_last_line_is_truncation(tmp_path: Path) -> None:
    # Prepare
    path = tmp_path / "ledger.jsonl"
    _write(path)
    data = path.read_bytes()
    path.write_bytes(data[:-20])

    # Execute / Assert
    with pytest.raises(LedgerError, match="line 3: truncated"):
        verify(path)


def test_append_refuses_to_extend_a_broken_ledger(tmp_path: Path) -> None:
    # Prepare
    path = tmp_path / "ledger.jsonl"
    lines = _write(path)
    _rewrite(path, lines[1:])

    # Execute / Assert
    with pytest.raises(LedgerError, match="hash chain broken"):
        append(path, _fields(4, []))


def test_append_refuses_extra_fields_so_no_data_can_enter(tmp_path: Path) -> None:
    # Prepare
    fields = _fields(1, [])
    fields["note"] = "patient John Smith"

    # Execute / Assert
    with pytest.raises(LedgerError, match="unknown ledger field"):
        append(tmp_path / "ledger.jsonl", fields)
    assert not (tmp_path / "ledger.jsonl").exists()


def test_replayed_round_within_a_run_is_detected(tmp_path: Path) -> None:
    # Prepare: a correctly chained copy of round 2 appended after round 2
    path = tmp_path / "ledger.jsonl"
    lines = _write(path, rounds=2)
    dup = json.loads(lines[-1])
    dup["prev_sha256"] = hashlib.sha256(lines[-1]).hexdigest()
    _rewrite(path, lines + [canonical_json(dup).encode()])

    # Execute / Assert
    with pytest.raises(LedgerError, match="line 3: round 2 of run 'run-a' does not follow round 2"):
        verify(path)


def test_missing_or_empty_ledger_is_empty(tmp_path: Path) -> None:
    # Prepare
    (tmp_path / "empty.jsonl").write_bytes(b"")

    # Execute / Assert
    assert verify(tmp_path / "absent.jsonl") == []
    assert verify(tmp_path / "empty.jsonl") == []
