"""``simulate --prepare``: simulated owners train from their own encrypted, de-identified stores."""

from __future__ import annotations

import json
import stat
import tomllib

from fedflm.config import RunConfig
from fedflm.fl.client_data import lazy_partitions, owner_dir
from fedflm.protect.keys import read_key_file
from fedflm.protect.store import open_store


def test_prepare_runs_the_real_owner_path(sim_run_dp):
    # Prepare: the session's DP run on SST-2 with prepare = true (tests/conftest.py)
    res = sim_run_dp
    cfg = RunConfig.from_flat(tomllib.loads((res.run_dir / "config.toml").read_text()))
    assert cfg.data.prepare and (cfg.fed.clients, cfg.fed.rounds) == (2, 2)

    # Execute
    parts = lazy_partitions(cfg.data, 2, cfg.fed.seed)

    # Assert: every owner has its own 0600 key and a store that decrypts to its partition
    for pid in range(2):
        home = owner_dir(res.run_dir, pid)
        assert stat.S_IMODE((home / "owner.key").stat().st_mode) == 0o600
        ds = open_store(home / "data.store", read_key_file(home / "owner.key"))
        assert len(ds) == len(parts[pid]) == 48
        assert list(ds["label"]) == list(parts[pid]["label"])
        raw = b"".join(p.read_bytes() for p in (home / "data.store").rglob("*") if p.is_file())
        longest = max(parts[pid]["text"], key=len)
        assert longest.encode() not in raw  # encrypted at rest
    rows = [json.loads(x) for x in (res.run_dir / "client_metrics.jsonl").read_text().splitlines()]
    assert sorted(r["partition_id"] for r in rows) == [0, 0, 1, 1]
    assert all(r["status"] == "ok" and "num_examples" not in r for r in rows)  # a DP client sends no counts
