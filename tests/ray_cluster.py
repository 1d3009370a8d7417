"""A loopback Ray cluster (``ray start --head`` on 127.0.0.1) for tests, stopped by pid.

tests/conftest.py starts one per pytest process for the simulations (``shared_ray_cluster``): each Ray
start and stop costs seconds of CPU and wall (issue 19: about 10 s to start and up to 15 s to stop in CI),
and a joined run is still isolated from the one before it: every ``ray.init`` is a new Ray job, with its
own worker processes, and Flower's actors die with the job. tests/fl/test_ray_cluster.py checks a run on
a cluster given by ``--ray-address`` on it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import psutil

RAY = str(Path(sys.executable).with_name("ray"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_cluster(num_cpus: int) -> tuple[str, str]:
    """Start a one-node cluster with ``num_cpus`` CPUs and no GPU in a short temp dir under /tmp (Ray's
    socket paths are length-limited, so never under pytest's tmp path); returns (HOST:PORT, temp dir).
    A start that fails or times out half-way is stopped before the error is raised. Stop it with
    ``stop_cluster(tmp, port)``."""
    tmp = tempfile.mkdtemp(prefix="fray", dir="/tmp")
    port = _free_port()
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    env.pop("RAY_ADDRESS", None)
    try:
        subprocess.run([RAY, "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(port),
                        "--num-cpus", str(num_cpus), "--num-gpus", "0", "--temp-dir", tmp,
                        "--include-dashboard", "false", "--disable-usage-stats"],
                       check=True, env=env, capture_output=True, timeout=180)
    except BaseException:
        stop_cluster(tmp, port)
        raise
    return f"127.0.0.1:{port}", tmp


def _ours(args: list[str], tmp: str, port: int) -> bool:
    """The cluster's processes name its temp dir, except Ray's client server, which names the GCS port."""
    return any(tmp in a or (a.startswith("--address=") and a.endswith(f":{port}")) for a in args)


def stop_cluster(tmp: str, port: int) -> None:
    """Stop only this cluster's processes (see :func:`_ours`) and their children (``ray stop`` would stop
    every Ray instance of this user on the machine); remove the temp dir."""
    ours = []
    for p in psutil.process_iter(["cmdline"]):
        try:
            if _ours(p.info["cmdline"] or [], tmp, port):
                ours.append(p)
        except psutil.Error:
            pass
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
    # Ray's gcs_server outlives SIGTERM (measured: still alive after 20 s), so the grace is short: a test
    # cluster keeps nothing worth a graceful stop, and waiting 15 s was the whole teardown in CI.
    _, alive = psutil.wait_procs(list(procs.values()), timeout=3)
    for p in alive:
        try:
            p.kill()
        except psutil.Error:
            pass
    shutil.rmtree(tmp, ignore_errors=True)
