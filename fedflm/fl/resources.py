"""Where the simulated clients run: the Ray cluster and each client's share of it (issue 24).

Flower's Ray backend does the distribution: ``init_args`` go to ``ray.init`` (``address`` joins
an existing cluster started with ``ray start --head``), and ``client_resources`` size each
ClientApp actor (``num_cpus``, ``num_gpus``: 0.25 lets four clients share one GPU). fedflm only
builds that backend config and records what the clients got (``summary.json`` ->
``simulation``).
"""

from __future__ import annotations

import logging
import math
import os
import threading
from dataclasses import dataclass
from typing import Any

from fedflm.config import RunConfig
from fedflm.errors import ConfigError

__all__ = ["ClientWatch", "SimResources", "backend_config", "threads_per_client"]


@dataclass(frozen=True)
class SimResources:
    """The Ray cluster and each simulated client's resources (simulation only; not a run-config key).

    ``ray_address`` "" starts a private local Ray instance unless ``RAY_ADDRESS`` names a cluster
    (:attr:`cluster`); "auto" or "HOST:PORT" joins a running cluster. ``client_cpus``/``client_gpus``
    None choose: the local cores split among the clients that can run at once; a quarter of a GPU per
    client when the model runs on a GPU, else none.
    """

    ray_address: str = ""
    client_cpus: float | None = None
    client_gpus: float | None = None

    @property
    def cluster(self) -> str:
        """The cluster the clients run on: ``ray_address``, else Ray's own ``RAY_ADDRESS`` variable (which
        ``ray.init`` would join anyway), else ``""``: a private local Ray."""
        return self.ray_address or os.environ.get("RAY_ADDRESS", "").strip()

    def __post_init__(self) -> None:
        if self.client_cpus is not None and not (math.isfinite(self.client_cpus) and self.client_cpus > 0):
            raise ConfigError(f"client_cpus must be > 0, got {self.client_cpus}")
        if self.client_gpus is not None and not (math.isfinite(self.client_gpus) and self.client_gpus >= 0):
            raise ConfigError(f"client_gpus must be >= 0 (a fraction shares a GPU), got {self.client_gpus}")
        if self.client_gpus is not None and self.client_gpus > 1 and self.client_gpus != int(self.client_gpus):
            raise ConfigError(f"client_gpus above 1 must be a whole number of GPUs, got {self.client_gpus}")
        if any(c.isspace() for c in self.ray_address):
            raise ConfigError(f"ray_address must not contain spaces, got {self.ray_address!r}")
        if self.ray_address not in ("", "auto"):
            from fedflm.fl.cluster import host_port
            host_port(self.ray_address)  # HOST:PORT, or one line naming the address


def threads_per_client(clients: int, cpus: int | None = None) -> int:
    """CPU threads each simulated client trains with: the cores split among the clients that can run at once.

    Ray gives each client actor this many CPUs and sets its ``OMP_NUM_THREADS`` to match, so a central
    run (one client) trains on every core instead of one, while 10 clients on 2 cores run two at a time
    with one thread each.
    """
    cpus = cpus or os.cpu_count() or 1
    return max(1, cpus // max(1, min(clients, cpus)))


def _gpu_here(cfg: RunConfig) -> bool:
    import torch
    return cfg.model.device != "cpu" and torch.cuda.is_available()


def reserved_cpus(res: SimResources, clients: int) -> float:
    """The CPUs one ClientApp actor reserves (and trains with: Ray sets its ``OMP_NUM_THREADS`` to match):
    ``client_cpus`` when given, else :func:`threads_per_client`."""
    return res.client_cpus if res.client_cpus is not None else threads_per_client(clients)


def client_resources(cfg: RunConfig, res: SimResources, gpu_here: bool) -> dict[str, float]:
    """Flower's ``client_resources``: what one ClientApp actor reserves."""
    cpus = reserved_cpus(res, cfg.fed.clients)
    if res.client_gpus is not None:
        gpus = res.client_gpus
    else:
        gpus = 1.0 / min(cfg.fed.clients, 4) if gpu_here else 0.0
    if gpus > 0 and not gpu_here and not res.cluster:
        raise ConfigError(f"--client-gpus {gpus:g} asks for a GPU share, but no CUDA GPU is usable here "
                          f"(device {cfg.model.device!r}); drop the flag or join a GPU cluster with --ray-address")
    return {"num_cpus": float(cpus), "num_gpus": float(gpus)}


def backend_config(cfg: RunConfig, res: SimResources) -> dict[str, Any]:
    """The backend config handed to Flower's Ray backend."""
    gpu = _gpu_here(cfg)
    init: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.ERROR, "log_to_driver": True}
    if res.cluster:  # an existing cluster brings its own CPUs and GPUs (ray.init refuses them)
        init["address"] = res.cluster
    else:
        init.update(num_cpus=os.cpu_count() or 1, num_gpus=1 if gpu else 0)
    return {"client_resources": client_resources(cfg, res, gpu), "init_args": init}


class ClientWatch:
    """What the local ClientApp actors got, sampled while the run lasts: each actor's peak resident
    memory (Linux ``VmHWM``) and how many actors Flower's pool fits in the cluster (Flower's own
    ``pool_size_from_resources``, asked while Ray is up: Flower shuts Ray down when the run ends).

    A cluster's remote workers are not visible from here: only actors on this machine are measured.
    """

    def __init__(self, client_resources: dict[str, float], interval: float = 1.0) -> None:
        self.client_resources, self.interval = client_resources, interval
        self.peaks: dict[int, int] = {}
        self.clients_at_once: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="fedflm-client-watch")

    def _sample(self) -> None:
        for pid in _client_actor_pids():
            try:
                with open(f"/proc/{pid}/status") as fh:
                    hwm = next((int(line.split()[1]) * 1024 for line in fh if line.startswith("VmHWM:")), 0)
            except (OSError, ValueError):  # not on this machine, or already gone
                continue
            self.peaks[pid] = max(self.peaks.get(pid, 0), hwm)
        if self.clients_at_once is None and self.peaks:  # the pool exists: Ray is up
            self.clients_at_once = _pool_size(self.client_resources)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def __enter__(self) -> "ClientWatch":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _client_actor_pids() -> list[int]:
    """Process ids of this run's live ClientApp actors, from this Ray cluster's own actor table
    (never by process name: other simulations on the machine have actors of the same name)."""
    try:
        import ray
        from ray._private import state
        if not ray.is_initialized():
            return []
        return [int(a["Pid"]) for a in state.actors().values()
                if a.get("ActorClassName") == "ClientAppActor" and a.get("State") == "ALIVE" and a.get("Pid")]
    except Exception:  # noqa: BLE001 - informative only: Ray may be starting or shutting down
        return []


def _pool_size(client_resources: dict[str, float]) -> int | None:
    try:
        import ray
        from flwr.simulation.ray_transport.ray_actor import pool_size_from_resources
        return pool_size_from_resources(client_resources) if ray.is_initialized() else None
    except Exception:  # noqa: BLE001 - informative only: Ray may be shutting down
        return None


def describe(res: SimResources, backend: dict[str, Any], watch: ClientWatch) -> dict[str, Any]:
    """``summary.json``'s ``simulation`` record: where and with what each client ran."""
    import torch
    cr = backend["client_resources"]
    record: dict[str, Any] = {
        "backend": "ray", "ray_address": res.cluster or "local",
        "client_resources": cr, "clients_at_once": watch.clients_at_once,
        "device": "cpu", "client_worker_peak_rss_bytes": max(watch.peaks.values(), default=None),
        "client_workers_measured": len(watch.peaks),
    }
    if cr["num_gpus"] > 0 and torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        record.update(device=f"cuda: {props.name}", gpu_memory_bytes=props.total_memory,
                      gpu_memory_share_per_client_bytes=int(props.total_memory * min(1.0, cr["num_gpus"])))
    return record
