"""End to end: sample-level DP in the real Flower federation -- epsilon continues
across a restart in a new process, the ledgers stay intact, a client past its
cap refuses while the others continue, and the run stops cleanly when too few
clients remain."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import fedflm
from fedflm.privacy.accounting import epsilon
from fedflm.privacy.ledger import verify
from fedflm.privacy.state import OwnerPrivacy
from one_actor import ONE_ACTOR

ROOT = Path(__file__).resolve().parents[2]
SIGMA, Q, STEPS, DELTA = 1.0, 0.25, 4, 1e-5  # 64 examples, batch 16 -> q 0.25, 4 steps per epoch


def _eps(rounds: int) -> float:
    return epsilon([(SIGMA, Q, STEPS)] * rounds, DELTA)


def _cfg(model: Path, state: Path, out: Path, **extra: object) -> dict:
    return {"dataset": "sst2", "model": str(model), "clients": 3, "min_clients": 2, "rounds": 2,
            "partition": "iid", "samples_per_client": 64, "eval_samples": 64, "batch_size": 16,
            "local_epochs": 1, "lr": 0.005, "seed": 1, "dp": "sample", "noise_multiplier": SIGMA,
            "delta": DELTA, "privacy_state": str(state), "out": str(out), **extra}


def _rows(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


@pytest.mark.slow
def test_restart_continues_epsilon_and_caps_refuse(tiny_model_dir: Path, tmp_path: Path) -> None:
    # Prepare: run A trains 2 rounds in this process
    state = tmp_path / "owners"
    run_a = fedflm.simulate(_cfg(tiny_model_dir, state, tmp_path / "run-a"), resources=ONE_ACTOR)
    # client-0 then spends budget elsewhere (another study on the same data)
    other = OwnerPrivacy(state / "client-0", "client-0", DELTA)
    for r in (1, 2, 3):
        other.record("other-study", r, SIGMA, Q, STEPS, 1.0)
    cap = (_eps(3) + _eps(4)) / 2  # clients 1, 2 can do one more round; client-0 none
    cfg_b = _cfg(tiny_model_dir, state, tmp_path / "run-b", max_epsilon=cap)

    # Execute: run B is a restart in a NEW process on the same owners' state
    code = ("import fedflm, json; from fedflm.fl.resources import SimResources; "
            f"fedflm.simulate(json.loads({json.dumps(json.dumps(cfg_b))}), "
            f"resources=SimResources(client_cpus={ONE_ACTOR.client_cpus}))")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)

    # Assert: run A
    # (clients report epsilon rounded UP to 0.01; the exact values are in the ledgers, checked below)
    for r, row in zip((1, 2), run_a.metrics[1:]):
        assert _eps(r) <= row["epsilon_max"] < _eps(r) + 0.01 + 1e-9
    # run B ended cleanly (not a crash) when every client refused in round 2
    assert proc.returncode == 0, proc.stderr[-3000:]
    run_b = tmp_path / "run-b"
    summary = json.loads((run_b / "summary.json").read_text())
    assert summary["status"] == "incomplete" and "refused" in summary["stopped"]
    assert not (run_b / "INCOMPLETE").exists()
    # epsilon continued from run A (never reset) for the clients that trained
    metrics = _rows(run_b / "metrics.jsonl")
    assert [m["round"] for m in metrics] == [0, 1]
    assert _eps(3) <= metrics[1]["epsilon_max"] < _eps(3) + 0.01 + 1e-9
    assert (metrics[1]["clients_ok"], metrics[1]["clients_failed"]) == (2, 1)
    clients = _rows(run_b / "client_metrics.jsonl")
    round1 = [c for c in clients if c["round"] == 1]
    assert sorted(c["partition_id"] for c in round1 if c["status"] == "ok") == [1, 2]
    refused = [c for c in round1 if c["status"] == "refused"]
    assert len(refused) == 1 and "client-0" in refused[0]["reason"]
    assert [c["status"] for c in clients if c["round"] == 2] == ["refused"] * 3
    # ledgers: chains intact, recorded epsilons re-derivable, copies in the run dir
    for owner, n_entries in (("client-0", 5), ("client-1", 3), ("client-2", 3)):
        entries = verify(state / owner / "ledger.jsonl", recompute=True)
        assert len(entries) == n_entries
        assert entries[-1]["epsilon"] == pytest.approx(_eps(n_entries))
    assert (run_b / "ledgers" / "client-1.jsonl").read_text() == (state / "client-1" / "ledger.jsonl").read_text()
    run_ids = {e["run_id"] for e in verify(state / "client-1" / "ledger.jsonl")}
    assert len(run_ids) == 2
