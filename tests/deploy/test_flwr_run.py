"""`flwr run .` on the project itself, as Flower's own tooling runs it: a local
simulation SuperLink (started by flwr, detached), the App bundle built from the
checkout (no .gz inside: the built-in data comes from the installed package),
a tiny config through --run-config. A failing run is reported as failed by
`flwr ls`; no tracked file changes; the SuperLink flwr started is stopped."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from deploy_support import cmdline
from fedflm.deploy.procs import free_port

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
TINY = ("clients=2 rounds=1 samples-per-client=16 eval-samples=32 dp='none' batch-size=8 local-steps=1 "
        "max-length=32 device='cpu' model='{model}' out='{out}'")


def _flwr(env: dict[str, str], *args: str, timeout: float = 420) -> subprocess.CompletedProcess[str]:
    flwr = str(Path(sys.executable).parent / "flwr")
    return subprocess.run([flwr, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def _status(env: dict[str, str], run_id: str) -> str:
    res = _flwr(env, "ls", "--format", "json", timeout=60)
    runs = json.loads(res.stdout[res.stdout.find("{"):])["runs"]
    return next(r["status"] for r in runs if r["run-id"] == run_id)


def _run_id(res: subprocess.CompletedProcess[str]) -> str:
    found = re.search(r"Successfully started run (\d+)", res.stdout + res.stderr)
    assert found, (res.stdout + res.stderr)[-3000:]
    return found.group(1)


def _git_status() -> str:
    return subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout


def _stop_local_superlink(home: Path) -> list[str]:
    """Kill the detached SuperLink that `flwr run` started (its log file lies in ``home``) and its tree."""
    found = []
    for p in psutil.process_iter():
        try:
            if str(home) in cmdline(p):
                found.append(p)
        except psutil.Error:
            continue
    procs = {q for p in found for q in [p, *p.children(recursive=True)]}
    names = [cmdline(p)[:80] for p in procs]
    for p in procs:
        try:
            p.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(list(procs), timeout=10)
    return names


def test_flwr_run_dot_completes_a_tiny_run_reports_a_failed_one_and_changes_no_tracked_file(
        tiny_model_dir, tmp_path):
    # Prepare: our own FLWR_HOME and local SuperLink ports, the venv first on PATH
    home = tmp_path / "flwr-home"
    env = {**os.environ, "FLWR_HOME": str(home), "FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION": "1",
           "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
           "FLWR_LOCAL_SUPERLINK_HTTP_API_PORT": str(free_port()),
           "FLWR_LOCAL_CONTROL_API_PORT": str(free_port()), "OMP_NUM_THREADS": "1"}
    before = _git_status()
    out = tmp_path / "run"
    try:
        # Execute: a run whose data file does not exist, then the tiny run
        bad = _flwr(env, "run", ".", "--stream", "--run-config",
                    TINY.format(model=tiny_model_dir, out=tmp_path / "bad") + f" dataset='{tmp_path}/none.csv'")
        bad_status = _status(env, _run_id(bad))
        good = _flwr(env, "run", ".", "--stream", "--run-config", TINY.format(model=tiny_model_dir, out=out))
        good_status = _status(env, _run_id(good))
    finally:
        stopped = _stop_local_superlink(home)

    # Assert: Flower records the failure (its `flwr run` exits 0 either way) and the success
    assert bad_status.startswith("finished:failed"), bad.stdout[-3000:]
    assert good_status == "finished:completed", good.stdout[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert summary["status"] == "complete" and [r["round"] for r in rows] == [0, 1]
    assert rows[1]["clients_ok"] == 2
    # ...no tracked file rewritten (no legacy [tool.flwr.federations] to migrate), SuperLink stopped
    assert _git_status() == before
    assert "flower-superlink" in " ".join(stopped)
    assert not [p for p in psutil.process_iter() if str(home) in cmdline(p)]
