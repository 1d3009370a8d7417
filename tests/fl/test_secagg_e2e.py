"""issue 21 end to end: a tiny DP federation with and without --secagg (Flower's SecAgg+ in the Simulation
Engine, the real ServerApp and ClientApp). Each owner's noise is seeded by owner, run id and round
(secure_mode off), so both runs draw the same noise: their final adapters differ by quantisation only."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fedflm.jsonl import read_jsonl
from one_actor import ONE_ACTOR

pytestmark = pytest.mark.slow  # starts two real (tiny) federations


def test_secagg_run_matches_the_plain_run_and_sends_only_coarse_numbers(tiny_model_dir: Path, tmp_path: Path) -> None:
    # Prepare
    import fedflm
    from safetensors.numpy import load_file
    flat = {"dataset": "sst2", "model": str(tiny_model_dir), "clients": 3, "rounds": 2, "partition": "iid",
            "samples_per_client": 48, "eval_samples": 64, "max_length": 32, "batch_size": 16, "local_steps": 3,
            "lr": 0.3, "dp": "sample", "epsilon": 8.0, "run_id": "same-noise", "seed": 5}

    # Execute
    # (one ClientApp actor runs the three owners in turn: nothing here is about clients in parallel)
    plain = fedflm.simulate({**flat, "out": str(tmp_path / "plain")}, resources=ONE_ACTOR).run_dir
    secure = fedflm.simulate({**flat, "secagg": True, "out": str(tmp_path / "secagg")}, resources=ONE_ACTOR).run_dir

    # Assert: the same model within the quantisation error (prototype round 1, then a head round)
    a = load_file(str(plain / "adapter" / "adapter_model.safetensors"))
    b = load_file(str(secure / "adapter" / "adapter_model.safetensors"))
    assert sorted(a) == sorted(b)
    assert max(float(np.abs(a[k] - b[k]).max()) for k in a) < 1e-3
    summary = json.loads((secure / "summary.json").read_text())
    assert summary["status"] == "complete"
    # each owner trained under its own DP-SGD (epsilon in its row, its ledger copied); no loss, no count
    clients = read_jsonl(secure / "client_metrics.jsonl")
    assert len(clients) == 6 and all(c["status"] == "ok" and 0 < c["epsilon"] <= 8.0 for c in clients)
    assert not any("train_loss" in c or "num_examples" in c for c in clients)
    assert len(list((secure / "ledgers").glob("*.jsonl"))) == 3
