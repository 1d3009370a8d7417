"""Contract: ledgers written by fedflm's own writer (fedflm.privacy) pass the audit.

The audit code never imports fedflm.privacy; only this test does, to produce
ledgers exactly as training writes them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fedflm.audit.ledger.audit import AuditOptions, audit_ledgers
from fedflm.privacy.state import OwnerPrivacy

KEY = bytes(range(100, 132))


@pytest.mark.parametrize("accountant", ["rdp", "prv"])
def test_writer_output_passes_audit(tmp_path: Path, accountant: str) -> None:
    # Prepare: two runs on the same data, a restart in between (a new OwnerPrivacy object)
    state = tmp_path / "state"
    for run_id, rounds in (("run-a", 3), ("run-b", 2)):
        owner = OwnerPrivacy(state, "owner-1", 1e-5, accountant=accountant, epsilon_cap=20.0, key=KEY)
        for rnd in range(1, rounds + 1):
            owner.record(run_id, rnd, noise_multiplier=1.1, sample_rate=0.02, steps=100, max_grad_norm=1.0)
    # Execute
    audit = audit_ledgers([state], AuditOptions(default_key=KEY, every_entry=False))
    # Assert
    assert audit.ok, [f.render() for f in audit.findings]
    summary = audit.owners[0].summary()
    assert summary["rounds"] == 5 and summary["runs"] == 2 and summary["mac_verified"]


def test_writer_output_with_lowered_epsilon_is_flagged(tmp_path: Path) -> None:
    # Prepare
    state = tmp_path / "state"
    owner = OwnerPrivacy(state, "owner-2", 1e-5)
    for rnd in (1, 2):
        owner.record("run", rnd, noise_multiplier=1.0, sample_rate=0.05, steps=80, max_grad_norm=1.0)
    path = state / "ledger.jsonl"
    lines = path.read_text().splitlines()
    last = json.loads(lines[-1])
    last["epsilon"] *= 0.9
    lines[-1] = json.dumps(last, sort_keys=True, separators=(",", ":"))
    path.write_text("\n".join(lines) + "\n")
    # Execute
    audit = audit_ledgers([path], AuditOptions(every_entry=False))
    # Assert
    assert [f.line for f in audit.findings if f.failed] == [2]
