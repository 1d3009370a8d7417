"""issue 21 end to end: a tiny DP federation with FFA-LoRA, FedAdam over Multi-Krum, and 1 of 5 attackers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fedflm.config import RunConfig
from fedflm.fl.attack import MARKER, attacker_ids
from one_actor import ONE_ACTOR

pytestmark = pytest.mark.slow  # starts a real (tiny) federation


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_attack_run_is_marked_and_multikrum_rejects_the_scaled_attacker(tiny_model_dir: Path, tmp_path: Path) -> None:
    # Prepare
    import fedflm
    flat = {"dataset": "sst2", "model": str(tiny_model_dir), "clients": 5, "rounds": 2, "partition": "iid",
            "samples_per_client": 40, "eval_samples": 64, "max_length": 32, "batch_size": 16, "local_steps": 2,
            "train_mode": "lora", "lora_variant": "ffa", "strategy": "fedadam", "robust": "multikrum:1:3",
            "attack": "scale:10", "attackers": 0.2, "dp": "sample", "epsilon": 8.0, "seed": 3,
            "out": str(tmp_path / "run")}
    cfg = RunConfig.from_flat(flat)
    attacker = next(iter(attacker_ids(cfg.agg, 5, cfg.fed.seed)))

    # Execute
    run_dir = fedflm.simulate(flat, resources=ONE_ACTOR).run_dir

    # Assert: the run says loudly that it attacked; each round records Multi-Krum's choice, attacker rejected
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "complete" and (run_dir / MARKER).exists()
    assert any(w.startswith("ATTACK SIMULATION") for w in summary["warnings"])
    rounds = [r for r in _rows(run_dir / "metrics.jsonl") if r["round"] > 0]
    assert [r["robust"]["rule"] for r in rounds] == ["multikrum:1:3"] * 2
    assert all(len(r["robust"]["rejected"]) == 2 and attacker in r["robust"]["rejected"] for r in rounds)
    clients = _rows(run_dir / "client_metrics.jsonl")
    assert {c["robust"] for c in clients} == {"kept", "rejected"}
    assert np.isfinite(summary["final"]["accuracy"])
