"""Talking to a SuperLink through Flower's own CLI (``flwr``): the connection
file, node registration, and submitting the fedflm run as a Flower App.

* :func:`write_flower_home` -- ``$FLWR_HOME/config.toml`` with one SuperLink
  connection (address + CA certificate, or ``insecure``).
* :func:`write_app_dir` -- a one-file Flower App (``pyproject.toml``) whose
  ``[tool.flwr.app.config]`` is the whole resolved fedflm config; its
  components are the installed ``server.app:app`` / ``fedflm.deploy.warm_clientapp:app``
  (which runs ``clients.app`` code, in the owner's warm trainer or in place).
  ``flwr run`` refuses override keys that the App does not declare, so the
  run's config travels as the App's own defaults.
* :func:`register_nodes` -- Flower's ``flwr supernode register KEY.pub`` for every key, in one process
  (:mod:`fedflm.deploy.register`).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import tomli_w

from fedflm.config import RunConfig
from fedflm.deploy.procs import flower_bin, flower_env
from fedflm.errors import FederationError

__all__ = ["CONNECTION", "write_flower_home", "write_app_dir", "register_nodes", "flwr_cmd"]

CONNECTION = "fedflm"


def write_flower_home(home: Path, address: str, ca_cert: Path | None) -> Path:
    """``home/config.toml`` naming the SuperLink at ``address`` (TLS unless ``ca_cert`` is None)."""
    home.mkdir(parents=True, exist_ok=True)
    connection: dict[str, Any] = {"address": address}
    if ca_cert:
        connection["root-certificates"] = str(ca_cert.resolve())
    else:
        connection["insecure"] = True
    path = home / "config.toml"
    path.write_text(tomli_w.dumps({"superlink": {"default": CONNECTION, CONNECTION: connection}}))
    return path


def write_app_dir(folder: Path, cfg: RunConfig | Any) -> Path:
    """A Flower App directory carrying ``cfg`` as its run config (a RunConfig, or a task config: issue 25)."""
    folder.mkdir(parents=True, exist_ok=True)
    # the owners' ClientApp is light: it hands messages to their warm trainer (fedflm/deploy/warm.py)
    app = {"publisher": "fedflm",
           "components": {"serverapp": "server.app:app", "clientapp": "fedflm.deploy.warm_clientapp:app"},
           "config": cfg.to_run_config()}
    project = {"project": {"name": "fedflm-run", "version": "1.0.0", "dependencies": []},
               "tool": {"flwr": {"app": app}}}
    (folder / "pyproject.toml").write_text(tomli_w.dumps(project))
    return folder


def flwr_cmd(home: Path, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """Run ``flwr ARGS`` against the connection in ``home``; raises on failure."""
    return _run(home, [flower_bin("flwr"), *args], f"flwr {' '.join(args)}", timeout)


def register_nodes(home: Path, public_keys: list[Path], timeout: float = 180.0) -> dict[Path, int | str]:
    """Register SuperNodes' public keys (OpenSSH) in one process; each key's node id, or Flower's error message
    for it (e.g. "Public key already in use", or the SuperLink unavailable while it starts up). The generous
    ``timeout`` is for the process's start-up (it imports Flower), which takes over 60 s on a loaded 2-core
    machine; the SuperLink's port is already known to be open when this is called."""
    argv = [sys.executable, "-m", "fedflm.deploy.register", CONNECTION, *(str(k) for k in public_keys)]
    res = _run(home, argv, "registering node keys", timeout)
    answer = _json_answer(res.stdout)
    if set(answer) != {str(k) for k in public_keys}:
        raise FederationError(f"registering node keys: no answer for every key in {res.stdout.strip()[-300:]!r}")
    return {key: int(a["node-id"]) if "node-id" in a else str(a.get("error", a))
            for key, a in ((k, answer[str(k)]) for k in public_keys)}


def _run(home: Path, argv: list[str], what: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run a Flower client command with ``FLWR_HOME=home``; FederationError (naming ``what`` and the output's
    last lines) on a timeout or a non-zero exit."""
    try:
        res = subprocess.run(argv, env=flower_env({"FLWR_HOME": str(home)}), capture_output=True,
                             text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise FederationError(f"{what}: no answer within {timeout:.0f} s") from None
    if res.returncode != 0:
        tail = (res.stdout + res.stderr).strip().splitlines()[-3:]
        raise FederationError(f"{what} failed (exit {res.returncode}): {' | '.join(tail)}")
    return res


def _json_answer(stdout: str) -> dict[str, Any]:
    """The JSON object that ``flwr ... --format json`` prints (after any banner)."""
    start = stdout.find("{")
    try:
        return dict(json.loads(stdout[start:])) if start >= 0 else {}
    except ValueError:
        return {}
