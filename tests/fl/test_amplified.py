"""The run's amplified-epsilon record: per owner next to its ledger's figure, threat model included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fedflm.fl.amplified import FILE, amplification_record
from fedflm.privacy.amplification import amplified_epsilon
from fedflm.privacy.state import OwnerPrivacy

DELTA = 1e-5


def test_each_owner_gets_both_figures_and_the_threat_model(tmp_path: Path) -> None:
    # Prepare: two owners' published ledger copies; owner a trained rounds 1 and 4, owner b round 2
    run = tmp_path / "run"
    (run / "ledgers").mkdir(parents=True)
    for owner, rounds in (("a", (1, 4)), ("b", (2,))):
        priv = OwnerPrivacy(tmp_path / "state" / owner, owner, DELTA)
        for r in rounds:
            priv.record("r1", r, 1.0, 0.25, 4, 1.0)
        (run / "ledgers" / f"{owner}.jsonl").write_text(priv.ledger_path.read_text())

    # Execute
    summary = amplification_record(run, "r1", client_rate=0.1, rounds_run=6)
    saved = json.loads((run / FILE).read_text())

    # Assert: all 6 rounds charged for both owners (ex-ante), beside the ledger's own epsilon
    expected = amplified_epsilon([(1.0, 0.25, 4)] * 6, 0.1, DELTA)
    assert saved["per_owner"]["a"]["epsilon_amplified"] == pytest.approx(expected, rel=1e-12)
    assert saved["per_owner"]["b"]["epsilon_amplified"] == pytest.approx(expected, rel=1e-12)
    assert saved["per_owner"]["a"]["epsilon"] > saved["per_owner"]["b"]["epsilon"]
    assert summary["owners"] == 2 and summary["rounds_charged"] == 6 and "per_owner" not in summary
    assert "released global models alone" in summary["threat_model"]
    assert summary["threat_model"] == saved["threat_model"]
