"""Tests for fedflm.privacy.state (per-owner cumulative budget over the ledger)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fedflm.errors import ConfigError, LedgerError, PrivacyBudgetExceeded
from fedflm.privacy.accounting import epsilon
from fedflm.privacy.ledger import verify
from fedflm.privacy.state import OwnerPrivacy

SIGMA, Q, STEPS, C, DELTA = 1.0, 0.02, 50, 1.0, 1e-5
ROOT = Path(__file__).resolve().parents[2]


def _owner(state: Path, cap: float | None = None, key: bytes | None = None, **kw: object) -> OwnerPrivacy:
    return OwnerPrivacy(state, "clinic-1", kw.pop("delta", DELTA), kw.pop("accountant", "rdp"), cap, key)


def test_fresh_owner_has_spent_nothing(tmp_path: Path) -> None:
    # Prepare / Execute / Assert
    assert _owner(tmp_path).spent() == 0.0


def test_record_returns_cumulative_epsilon_of_all_rounds(tmp_path: Path) -> None:
    # Prepare
    owner = _owner(tmp_path)

    # Execute
    eps = [owner.record("run-a", r, SIGMA, Q, STEPS, C) for r in (1, 2, 3)]

    # Assert
    assert eps == [epsilon([(SIGMA, Q, STEPS)] * k, DELTA) for k in (1, 2, 3)]
    assert owner.spent() == eps[-1]
    assert [e["epsilon"] for e in verify(owner.ledger_path, recompute=True)] == eps


def test_a_new_object_continues_from_the_ledger(tmp_path: Path) -> None:
    # Prepare
    _owner(tmp_path).record("run-a", 1, SIGMA, Q, STEPS, C)
    _owner(tmp_path).record("run-a", 2, SIGMA, Q, STEPS, C)

    # Execute
    resumed = _owner(tmp_path)

    # Assert
    assert resumed.spent() == pytest.approx(epsilon([(SIGMA, Q, STEPS)] * 2, DELTA), rel=1e-12)


def test_runs_on_the_same_data_accumulate(tmp_path: Path) -> None:
    # Prepare
    owner = _owner(tmp_path)
    owner.record("run-a", 1, SIGMA, Q, STEPS, C)
    owner.record("run-a", 2, SIGMA, Q, STEPS, C)

    # Execute: a second run restarts at round 1 but not at epsilon 0
    eps = owner.record("run-b", 1, 2.0, 0.05, 30, C)

    # Assert
    assert eps == pytest.approx(epsilon([(SIGMA, Q, 2 * STEPS), (2.0, 0.05, 30)], DELTA), rel=1e-12)


def test_check_refuses_a_round_that_would_pass_the_cap(tmp_path: Path) -> None:
    # Prepare
    one_round = epsilon([(SIGMA, Q, STEPS)], DELTA)
    two_rounds = epsilon([(SIGMA, Q, STEPS)] * 2, DELTA)
    owner = _owner(tmp_path, cap=(one_round + two_rounds) / 2)
    owner.record("run-a", 1, SIGMA, Q, STEPS, C)

    # Execute / Assert
    with pytest.raises(PrivacyBudgetExceeded, match=rf"owner 'clinic-1'.*{two_rounds:.4f}.*cap"):
        owner.check(SIGMA, Q, STEPS)
    with pytest.raises(PrivacyBudgetExceeded):
        owner.record("run-a", 2, SIGMA, Q, STEPS, C)
    assert len(verify(owner.ledger_path)) == 1


def test_check_returns_the_projection_when_within_the_cap(tmp_path: Path) -> None:
    # Prepare
    owner = _owner(tmp_path, cap=100.0)

    # Execute
    projected = owner.check(SIGMA, Q, STEPS)

    # Assert: nothing is recorded by a check
    assert projected == epsilon([(SIGMA, Q, STEPS)], DELTA)
    assert owner.spent() == 0.0


def test_tampered_ledger_stops_the_owner(tmp_path: Path) -> None:
    # Prepare
    key = b"k" * 32
    owner = _owner(tmp_path, key=key)
    owner.record("run-a", 1, SIGMA, Q, STEPS, C)
    entry = json.loads(owner.ledger_path.read_text())
    entry["noise_multiplier"] = 50.0  # would make the spent epsilon look tiny
    owner.ledger_path.write_text(json.dumps(entry, sort_keys=True, separators=(",", ":")) + "\n")

    # Execute / Assert
    with pytest.raises(LedgerError, match="line 1: bad MAC"):
        owner.spent()


def test_changing_delta_or_accountant_on_an_existing_ledger_is_refused(tmp_path: Path) -> None:
    # Prepare
    _owner(tmp_path).record("run-a", 1, SIGMA, Q, STEPS, C)

    # Execute / Assert
    with pytest.raises(ConfigError, match="delta=1e-05 with the 'rdp' accountant; got delta=1e-06"):
        _owner(tmp_path, delta=1e-6).spent()
    with pytest.raises(ConfigError, match="got delta=1e-05, accountant='prv'"):
        _owner(tmp_path, accountant="prv").spent()


def test_state_dir_of_another_owner_is_refused(tmp_path: Path) -> None:
    # Prepare
    _owner(tmp_path).record("run-a", 1, SIGMA, Q, STEPS, C)

    # Execute / Assert
    with pytest.raises(ConfigError, match="belongs to owner 'clinic-1', not 'clinic-2'"):
        OwnerPrivacy(tmp_path, "clinic-2", DELTA).spent()


@pytest.mark.parametrize(("owner_id", "cap"), [("../etc", None), ("", None), ("ok", 0.0)])
def test_invalid_owner_settings_are_refused(tmp_path: Path, owner_id: str, cap: float | None) -> None:
    # Prepare / Execute / Assert
    with pytest.raises(ConfigError):
        OwnerPrivacy(tmp_path, owner_id, DELTA, "rdp", cap)


_WORKER = """
import sys
from fedflm.privacy.state import OwnerPrivacy
owner = OwnerPrivacy(sys.argv[1], "clinic-1", 1e-5, "rdp", None)
for r in range(1, 6):
    owner.record(sys.argv[2], r, 1.0, 0.02, 50, 1.0)
"""


def test_two_processes_of_one_owner_never_interleave(tmp_path: Path) -> None:
    # Prepare
    cmd = [sys.executable, "-c", _WORKER, str(tmp_path)]
    env = {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}

    # Execute: two processes append to the same ledger at once
    procs = [subprocess.Popen([*cmd, run], env=env) for run in ("run-x", "run-y")]
    codes = [p.wait(timeout=120) for p in procs]

    # Assert: 10 entries, intact chain, epsilon = composition of all 10 rounds
    entries = verify(tmp_path / "ledger.jsonl", recompute=True)
    assert codes == [0, 0]
    assert len(entries) == 10
    assert entries[-1]["epsilon"] == pytest.approx(epsilon([(1.0, 0.02, 50)] * 10, 1e-5), rel=1e-12)
