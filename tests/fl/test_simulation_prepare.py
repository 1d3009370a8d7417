"""``simulate --prepare``: simulated owners train from their own encrypted, de-identified stores."""

from __future__ import annotations

import json
import stat

import pytest

import fedflm
from fedflm.data.keys import read_key_file
from fedflm.data.store import open_store
from fedflm.fl.client_data import all_partitions, owner_dir
from fedflm.config import RunConfig


@pytest.mark.federation
def test_prepare_runs_the_real_owner_path(tiny_model_dir, tmp_path):
    # Prepare
    flat = {"dataset": "sst2", "model": str(tiny_model_dir), "clients": 2, "rounds": 1,
            "partition": "iid", "samples_per_client": 40, "eval_samples": 100, "batch_size": 16,
            "dp": "none", "prepare": True, "out": str(tmp_path / "run"), "seed": 5}

    # Execute
    res = fedflm.simulate(flat)

    # Assert: every owner has its own 0600 key and a store that decrypts to its partition
    parts = all_partitions(RunConfig.from_flat(flat).data, 2, 5)
    for pid in range(2):
        home = owner_dir(res.run_dir, pid)
        assert stat.S_IMODE((home / "owner.key").stat().st_mode) == 0o600
        ds = open_store(home / "data.store", read_key_file(home / "owner.key"))
        assert len(ds) == len(parts[pid]) == 40
        assert list(ds["label"]) == list(parts[pid]["label"])
        raw = b"".join(p.read_bytes() for p in (home / "data.store").rglob("*") if p.is_file())
        longest = max(parts[pid]["text"], key=len)
        assert longest.encode() not in raw  # encrypted at rest
    rows = [json.loads(x) for x in (res.run_dir / "client_metrics.jsonl").read_text().splitlines()]
    assert sorted(r["partition_id"] for r in rows) == [0, 1]
    assert all(r["status"] == "ok" and r["num_examples"] == 40 for r in rows)
