"""Tamper detection of `audit ledger`: each kind of tampering is detected and named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ledger_factory import make_entries, read_lines, write_ledger, write_lines

from fedflm.audit.ledger.findings import FAIL
from fedflm.audit.ledger.audit import AuditOptions, audit_ledgers, find_ledgers
from fedflm.audit.ledger.read import read_ledger
from fedflm.errors import LedgerError

ROUNDS = [(1.1, 0.02, 50)] * 5
KEY = bytes(range(32))


def _fails(audit) -> list[str]:
    return [f.render() for f in audit.findings if f.severity == FAIL]


@pytest.fixture()
def ledger(tmp_path: Path) -> Path:
    return write_ledger(tmp_path / "alice" / "ledger.jsonl", make_entries("alice", ROUNDS))


def test_intact_ledger_passes(ledger: Path) -> None:
    # Execute
    audit = audit_ledgers([ledger.parent])
    # Assert
    assert audit.ok, _fails(audit)
    assert [o.owner for o in audit.owners] == ["alice"]
    assert len(audit.owners[0].entries) == 5


def test_changed_number_breaks_chain_at_next_line(ledger: Path) -> None:
    # Prepare: lower round 2's sample rate (as if to hide spending)
    lines = read_lines(ledger)
    e = json.loads(lines[1])
    e["sample_rate"] = 0.01
    lines[1] = json.dumps(e, sort_keys=True, separators=(",", ":"))
    write_lines(ledger, lines)
    # Execute
    audit = audit_ledgers([ledger])
    # Assert
    fails = _fails(audit)
    assert not audit.ok
    assert any("owner=alice" in f and f"{ledger}:3" in f and "hash chain broken" in f for f in fails), fails


def test_deleted_entry_is_named(ledger: Path) -> None:
    # Prepare
    lines = read_lines(ledger)
    del lines[2]
    write_lines(ledger, lines)
    # Execute
    audit = audit_ledgers([ledger])
    # Assert: the chain breaks where the deleted line was, and the epsilons no longer add up
    fails = _fails(audit)
    assert any(f"{ledger}:3" in f and "hash chain broken" in f for f in fails), fails
    assert any(f"{ledger}:3" in f and "differs from the independent opacus-rdp" in f for f in fails), fails


def test_swapped_entries_are_named(ledger: Path) -> None:
    # Prepare
    lines = read_lines(ledger)
    lines[1], lines[2] = lines[2], lines[1]
    write_lines(ledger, lines)
    # Execute
    audit = audit_ledgers([ledger])
    # Assert
    fails = _fails(audit)
    assert any(f"{ledger}:2" in f and "hash chain broken" in f for f in fails), fails
    assert any(f"{ledger}:3" in f and "reordered" in f for f in fails), fails


def test_truncated_file_is_named(ledger: Path) -> None:
    # Prepare: cut the file in the middle of its last line
    data = ledger.read_bytes()
    ledger.write_bytes(data[: len(data) - 40])
    # Execute
    audit = audit_ledgers([ledger])
    # Assert
    fails = _fails(audit)
    assert any(f"{ledger}:5" in f and "truncated" in f for f in fails), fails
    assert len(audit.owners[0].entries) == 4


def test_missing_final_newline_is_truncation(ledger: Path) -> None:
    # Prepare: the last line is complete JSON but the newline never made it to disk
    write_lines(ledger, read_lines(ledger), trailing_newline=False)
    # Execute
    lf = read_ledger(ledger)
    # Assert
    assert lf.failed
    assert any(f.line == 5 and "truncated" in f.message for f in lf.findings)


def test_first_entry_deleted_is_detected(ledger: Path) -> None:
    # Prepare
    write_lines(ledger, read_lines(ledger)[1:])
    # Execute
    lf = read_ledger(ledger)
    # Assert
    assert any(f.line == 1 and "genesis" in f.message for f in lf.findings)


def test_reformatted_line_is_not_canonical(ledger: Path) -> None:
    # Prepare: same values, different bytes (a hand edit through a pretty printer)
    lines = read_lines(ledger)
    lines[4] = json.dumps(json.loads(lines[4]), sort_keys=True)
    write_lines(ledger, lines)
    # Execute
    lf = read_ledger(ledger)
    # Assert
    assert any(f.line == 5 and "canonical" in f.message for f in lf.findings)


def test_mac_catches_consistent_rewrite_of_last_entry(tmp_path: Path) -> None:
    # Prepare: an operator without the key rewrites the last entry with a re-computed chain
    entries = make_entries("bob", ROUNDS)
    path = write_ledger(tmp_path / "bob.jsonl", entries, owner_key=KEY)
    forged = [dict(e) for e in entries]
    forged[-1]["noise_multiplier"] = 1.2
    lines = read_lines(path)
    rewritten = read_lines(write_ledger(tmp_path / "forged.jsonl", forged, owner_key=bytes(32)))
    write_lines(path, lines[:-1] + rewritten[-1:])
    # Execute
    without_key = read_ledger(path)
    with_key = audit_ledgers([path], AuditOptions(default_key=KEY))
    # Assert
    assert not any("MAC" in f.message for f in without_key.findings if f.severity == FAIL)
    fails = _fails(with_key)
    assert any(f"{path}:5" in f and "MAC does not verify" in f for f in fails), fails
    assert not any(f"{path}:4" in f and "MAC" in f for f in fails), fails


def test_valid_macs_pass_with_the_right_key(tmp_path: Path) -> None:
    # Prepare
    path = write_ledger(tmp_path / "carol.jsonl", make_entries("carol", ROUNDS), owner_key=KEY)
    # Execute
    audit = audit_ledgers([path], AuditOptions(keys={"carol": KEY}))
    # Assert
    assert audit.ok, _fails(audit)
    assert audit.owners[0].mac_verified


def test_entry_without_mac_fails_when_key_given(ledger: Path) -> None:
    # Execute
    audit = audit_ledgers([ledger], AuditOptions(default_key=KEY))
    # Assert
    assert sum("carries no MAC" in f for f in _fails(audit)) == 5


def test_run_dir_copy_must_agree_with_client_copy(tmp_path: Path) -> None:
    # Prepare: the client's own ledger has one more round than the run's copy, and the copy was edited
    entries = make_entries("dave", ROUNDS)
    client = write_ledger(tmp_path / "state" / "ledger.jsonl", entries)
    copy = write_ledger(tmp_path / "run" / "ledgers" / "dave.jsonl", entries[:4])
    lines = read_lines(copy)
    e = json.loads(lines[3])
    e["epsilon"] = e["epsilon"] * 1.001
    lines[3] = json.dumps(e, sort_keys=True, separators=(",", ":"))
    write_lines(copy, lines)
    # Execute
    audit = audit_ledgers([client.parent, tmp_path / "run"])
    # Assert
    fails = _fails(audit)
    assert any(f"{copy}:4" in f and "copies of this owner's ledger disagree" in f for f in fails), fails
    assert len(audit.owners) == 1 and len(audit.owners[0].entries) == 5


def test_prefix_copy_agrees(tmp_path: Path) -> None:
    # Prepare
    entries = make_entries("erin", ROUNDS)
    client = write_ledger(tmp_path / "state" / "ledger.jsonl", entries)
    write_ledger(tmp_path / "run" / "ledgers" / "erin.jsonl", entries[:3])
    # Execute
    audit = audit_ledgers([client.parent, tmp_path / "run"])
    # Assert
    assert audit.ok, _fails(audit)


def test_rounds_restart_in_a_new_run_is_fine(tmp_path: Path) -> None:
    # Prepare: two runs on the same data; epsilon keeps growing across them
    first = make_entries("fay", ROUNDS[:3], run_id="r1")
    second = make_entries("fay", ROUNDS[:2], run_id="r2", history=ROUNDS[:3])
    path = write_ledger(tmp_path / "fay.jsonl", first + second)
    # Execute
    audit = audit_ledgers([path])
    # Assert
    assert audit.ok, _fails(audit)
    assert audit.owners[0].summary()["runs"] == 2


def test_epsilon_reset_by_a_restart_is_flagged(tmp_path: Path) -> None:
    # Prepare: the second run starts counting from zero again (the bug the ledger exists to catch)
    first = make_entries("gus", ROUNDS[:3], run_id="r1")
    second = make_entries("gus", ROUNDS[:2], run_id="r2")
    path = write_ledger(tmp_path / "gus.jsonl", first + second)
    # Execute
    audit = audit_ledgers([path])
    # Assert
    fails = _fails(audit)
    assert any(f"{path}:4" in f and "BELOW the independent" in f for f in fails), fails


def test_bad_values_are_named(tmp_path: Path) -> None:
    # Prepare
    entries = make_entries("hal", ROUNDS[:2])
    entries[1]["sample_rate"] = 1.5
    path = write_ledger(tmp_path / "hal.jsonl", entries)
    # Execute
    lf = read_ledger(path)
    # Assert
    assert any(f.line == 2 and "sample_rate must be in (0, 1], got 1.5" in f.message for f in lf.findings)
    assert not lf.complete


def test_cap_exceeded_is_flagged(tmp_path: Path) -> None:
    # Prepare
    path = write_ledger(tmp_path / "ivy.jsonl", make_entries("ivy", ROUNDS, cap=1.0))
    # Execute
    audit = audit_ledgers([path])
    # Assert
    assert any("exceeds the recorded cap" in f for f in _fails(audit))


def test_missing_path_and_empty_dir_are_user_errors(tmp_path: Path) -> None:
    # Execute / Assert
    with pytest.raises(LedgerError, match="no such file"):
        find_ledgers([tmp_path / "nope"])
    with pytest.raises(LedgerError, match="no ledger found"):
        find_ledgers([tmp_path])


def test_key_for_unknown_owner_is_warned(ledger: Path) -> None:
    # Execute
    audit = audit_ledgers([ledger], AuditOptions(keys={"alicee": KEY}, every_entry=False))
    # Assert: a typo in an owner name must not silently skip MAC checks
    assert audit.ok
    assert any(f.owner == "alicee" and "no ledger of this owner" in f.message for f in audit.findings)


def test_ledger_audit_does_not_import_the_code_it_audits() -> None:
    # Prepare
    import subprocess
    import sys

    code = ("import sys, fedflm.audit.ledger.audit, fedflm.audit.ledger.report, fedflm.cli.audit; "
            "print(sorted(m for m in sys.modules if m.startswith(('fedflm.privacy', 'fedflm.train', 'fedflm.fl'))))")
    # Execute
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    # Assert
    assert out.strip() == "[]"


def test_state_dir_of_several_owners_is_found(tmp_path: Path) -> None:
    # Prepare: the privacy-state root a node is given holds one directory per owner
    state = tmp_path / "state"
    for owner in ("alice", "bob"):
        write_ledger(state / owner / "ledger.jsonl", make_entries(owner, ROUNDS[:2]))
    # Execute
    audit = audit_ledgers([state], AuditOptions(every_entry=False))
    # Assert
    assert audit.ok, _fails(audit)
    assert [o.owner for o in audit.owners] == ["alice", "bob"]
    assert find_ledgers([state]) == [state / "alice" / "ledger.jsonl", state / "bob" / "ledger.jsonl"]
    assert find_ledgers([state / "alice"]) == [state / "alice" / "ledger.jsonl"]
