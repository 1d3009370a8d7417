"""``--ray-address``: a tiny simulation on an existing Ray cluster (a loopback ``ray start --head``)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import psutil
import pytest

from fedflm.fl.resources import SimResources
from tests.conftest import _user_csv

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]
RAY = str(Path(sys.executable).with_name("ray"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop_cluster(tmp: str) -> None:
    """Stop only this cluster's processes: those whose command line names its temp dir, and their
    children (``ray stop`` would stop every Ray instance of this user on the machine)."""
    ours = [p for p in psutil.process_iter(["cmdline"]) if any(tmp in a for a in (p.info["cmdline"] or []))]
    procs = {p.pid: p for p in ours}
    for p in ours:
        try:
            procs.update({c.pid: c for c in p.children(recursive=True)})
        except psutil.Error:
            pass
    for p in procs.values():
        try:
            p.terminate()
        except psutil.Error:
            pass
    _, alive = psutil.wait_procs(list(procs.values()), timeout=15)
    for p in alive:
        try:
            p.kill()
        except psutil.Error:
            pass


@pytest.fixture()
def loopback_cluster():
    """A one-node Ray cluster on 127.0.0.1 with 2 CPUs, in a short temp dir (Ray's socket paths are
    length-limited); afterwards its own processes are stopped by pid."""
    tmp = tempfile.mkdtemp(prefix="fray", dir="/tmp")
    port = _free_port()
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    try:  # stopped also when the start fails or times out half-way (a loaded machine starts slowly)
        subprocess.run([RAY, "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(port),
                        "--num-cpus", "2", "--num-gpus", "0", "--temp-dir", tmp, "--include-dashboard", "false",
                        "--disable-usage-stats"], check=True, env=env, capture_output=True, timeout=180)
        yield f"127.0.0.1:{port}"
    finally:
        _stop_cluster(tmp)
        shutil.rmtree(tmp, ignore_errors=True)


def test_simulation_runs_on_an_existing_cluster_with_the_clients_resources(
        loopback_cluster: str, tiny_model_dir: Path, sst2_sample, tmp_path: Path) -> None:
    # Prepare: 20 owners, 2 sampled per round; each client reserves both of the cluster's CPUs
    import fedflm

    csv_path = _user_csv(tmp_path / "reviews.csv", sst2_sample[:600])
    cfg = {"dataset": str(csv_path), "model": str(tiny_model_dir), "clients": 20, "fraction_train": 0.1,
           "rounds": 2, "partition": "iid", "samples_per_client": 16, "eval_samples": 64, "max_length": 32,
           "batch_size": 8, "local_steps": 2, "dp": "none", "out": str(tmp_path / "run"), "seed": 3}

    # Execute
    res = fedflm.simulate(cfg, resources=SimResources(ray_address=loopback_cluster, client_cpus=2))

    # Assert: the run completed on that cluster; Flower sized its actor pool from our client resources
    summary = json.loads((res.run_dir / "summary.json").read_text())
    sim = summary["simulation"]
    assert summary["status"] == "complete" and [r["clients_ok"] for r in res.metrics[1:]] == [2, 2]
    assert sim["ray_address"] == loopback_cluster and sim["client_resources"] == {"num_cpus": 2.0, "num_gpus": 0.0}
    assert sim["clients_at_once"] == 1 and sim["client_workers_measured"] == 1  # 2 CPUs / 2 per client
    assert sim["device"] == "cpu" and sim["client_worker_peak_rss_bytes"] > 50 * 2**20
