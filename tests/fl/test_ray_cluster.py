"""``--ray-address``: a tiny simulation on an existing Ray cluster (the suite's loopback ``ray start --head``,
tests/conftest.py's ``shared_ray_cluster``, given here as an explicit address)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from fedflm.fl.resources import SimResources
from tests.conftest import _user_csv

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]
#: The shared cluster (tests/conftest.py) has as many CPUs as this machine; each client reserves all of them.
CPUS = float(os.cpu_count() or 1)


def _rows(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def test_simulation_runs_on_an_existing_cluster_with_the_clients_resources(
        shared_ray_cluster: str, tiny_model_dir: Path, sst2_sample, tmp_path: Path, monkeypatch) -> None:
    # Prepare: 20 owners, 2 sampled per round for 3 rounds, under DP-SGD calibrated for the rounds each
    # owner is sampled in; each client reserves every CPU of the cluster. Flower's own Ray backend is
    # watched (it still runs) to see the backend config it was actually handed.
    import fedflm
    from flwr.server.superlink.fleet.vce.backend.raybackend import RayBackend

    handed: list[dict] = []
    flower_init = RayBackend.__init__

    def watched_init(self, backend_config):
        handed.append(backend_config)
        flower_init(self, backend_config)

    monkeypatch.setattr(RayBackend, "__init__", watched_init)
    csv_path = _user_csv(tmp_path / "reviews.csv", sst2_sample[:600])
    cfg = {"dataset": str(csv_path), "model": str(tiny_model_dir), "clients": 20, "fraction_train": 0.1,
           "rounds": 3, "partition": "iid", "samples_per_client": 16, "eval_samples": 64, "max_length": 32,
           "batch_size": 8, "local_epochs": 1, "dp": "sample", "epsilon": 8.0, "delta": 1e-5,
           "participation": "sampled", "proto_fraction": 0.0, "out": str(tmp_path / "run"), "seed": 3}

    # Execute
    res = fedflm.simulate(cfg, resources=SimResources(ray_address=shared_ray_cluster, client_cpus=CPUS))

    # Assert: the run completed on that cluster; Flower's Ray backend got our address and client resources,
    # and sized its actor pool from them
    summary = json.loads((res.run_dir / "summary.json").read_text())
    sim = summary["simulation"]
    assert summary["status"] == "complete"  # an owner sampled in all 3 rounds (p ~ 2 %) refuses its third
    assert [r["clients_ok"] + r["clients_failed"] for r in res.metrics[1:]] == [2, 2, 2]
    assert len(handed) == 1 and handed[0]["init_args"]["address"] == shared_ray_cluster
    assert handed[0]["client_resources"] == {"num_cpus": CPUS, "num_gpus": 0.0}
    assert sim["ray_address"] == shared_ray_cluster and sim["client_resources"] == {"num_cpus": CPUS, "num_gpus": 0.0}
    assert sim["clients_at_once"] == 1 and sim["client_workers_measured"] == 1  # all CPUs / all per client
    assert sim["device"] == "cpu" and sim["client_worker_peak_rss_bytes"] > 50 * 2**20
    # Assert: partial participation -- every owner's ledger holds exactly the rounds Flower sampled it in,
    # and its epsilon is Opacus' RDP accountant over those rounds alone (the direct computation)
    from opacus.accountants import RDPAccountant

    from fedflm.privacy.ledger import verify

    trained = [(c["partition_id"], c["round"]) for c in _rows(res.run_dir / "client_metrics.jsonl")
               if c["status"] == "ok"]
    sigmas = set()
    for pid in range(20):
        entries = verify(res.run_dir / "privacy_state" / f"client-{pid}" / "ledger.jsonl", recompute=True)
        assert [e["round"] for e in entries] == sorted(r for p, r in trained if p == pid)
        if entries:
            acc = RDPAccountant()
            acc.history = [(e["noise_multiplier"], e["sample_rate"], e["steps"]) for e in entries]
            assert entries[-1]["epsilon"] == pytest.approx(acc.get_epsilon(1e-5), rel=1e-9)
            sigmas |= {(e["noise_multiplier"], e["sample_rate"], e["steps"]) for e in entries}
    # one plan for these equal owners, calibrated for k = 2 participations (the 99.9 % quantile of
    # Binomial(3, 0.1)), not for all 3 rounds: Opacus puts 2 such rounds just under the target
    (plan,) = sigmas
    acc = RDPAccountant()
    acc.history = [plan] * 2
    assert 0.99 * 8.0 <= acc.get_epsilon(1e-5) <= 8.0
