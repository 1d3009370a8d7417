"""``fedflm.simulate``: run the ServerApp and ClientApp in Flower's Simulation Engine.

The same ``server.app:app`` and ``clients.app:app`` that a deployment runs are
loaded by name (the core never imports them). No report is written here:
``fedflm.simulate`` (:mod:`fedflm.api`) and the CLI add it. Ray, which Flower starts for
the virtual clients, is shut down when the call returns, also on error.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

from fedflm.config import RunConfig
from fedflm.data.partition import PartitionStats, partition_stats
from fedflm.errors import FederationError, FedflmError
from fedflm.fl.app_check_lock import serialize_app_checks
from fedflm.fl.cluster import reach_cluster
from fedflm.fl.client_data import lazy_partitions, federated_data, prepare_client_stores
from fedflm.fl.resources import ClientWatch, SimResources, backend_config, describe
from fedflm.fl.rundir import RunDir, default_run_dir

SERVER_APP = "server.app:app"
CLIENT_APP = "clients.app:app"


@dataclass(frozen=True)
class SimulationResult:
    """What a finished simulation returns to Python callers."""

    run_dir: Path
    metrics: list[dict[str, Any]]
    summary: dict[str, Any]
    clients: list[PartitionStats]
    report: Path | None = None  # set by fedflm.simulate / the CLI, which write it

    @property
    def final(self) -> dict[str, Any]:
        return self.metrics[-1]


def prepare_run(cfg: RunConfig) -> tuple[RunConfig, RunDir, list[PartitionStats], tuple[str, ...]]:
    """Resolve the run dir, load and partition the data once (fails fast on bad input)."""
    out = Path(cfg.fed.out) if cfg.fed.out else default_run_dir()
    cfg = replace(cfg, fed=replace(cfg.fed, out=str(out)))
    if not cfg.privacy.privacy_state:  # simulated owners: a fresh budget per run unless --privacy-state
        cfg = replace(cfg, privacy=replace(cfg.privacy, privacy_state=str(out / "privacy_state")))
    data = federated_data(cfg.data, cfg.fed.seed)
    parts = lazy_partitions(cfg.data, cfg.fed.clients, cfg.fed.seed)
    stats = partition_stats(parts, len(data.label_names))  # one partition at a time
    if cfg.fed.init_from:  # issue 23: fail fast on an incompatible earlier run, before any process starts
        cfg = _continue_owners(cfg, out, data.label_names)
    rundir = RunDir.create(out, cfg)
    if cfg.data.prepare:
        prepare_client_stores(out, parts)
    rundir.write_json("clients.json", {
        "label_names": list(data.label_names), "eval_examples": len(data.eval),
        "clients": [{"partition_id": s.partition_id, "num_examples": s.num_examples,
                     "label_counts": list(s.label_counts)} for s in stats]})
    return cfg, rundir, stats, data.label_names


def _continue_owners(cfg: RunConfig, out: Path, label_names: tuple[str, ...]) -> RunConfig:
    """``--init-from RUN``: check the label mapping, and let the simulated owners keep their ledgers.

    Simulated owners keep their privacy state inside the run directory; the continued run
    starts from a copy of the earlier run's, so every owner's epsilon keeps accumulating
    (an explicit ``--privacy-state`` is used as it is: it is cumulative already).
    """
    from fedflm.models.init_from import label_rows, read_prior

    prior = read_prior(cfg.fed.init_from)
    label_rows(prior.label_names, label_names, cfg.fed.allow_new_labels)
    cfg = replace(cfg, fed=replace(cfg.fed, init_from=str(prior.path.resolve())))
    earlier = prior_privacy_state(Path(cfg.fed.init_from))
    ours = Path(cfg.privacy.privacy_state)
    if earlier is None or ours != out / "privacy_state":
        return cfg
    if earlier.resolve().is_relative_to(Path(cfg.fed.init_from).resolve()):
        if not ours.exists():
            shutil.copytree(earlier, ours)
        return cfg
    return replace(cfg, privacy=replace(cfg.privacy, privacy_state=str(earlier)))  # the owners' shared state


def prior_privacy_state(run_dir: Path) -> Path | None:
    """Where the owners of an earlier simulated run kept their ledgers (None: no DP state)."""
    import tomllib

    config = run_dir / "config.toml"
    named = tomllib.loads(config.read_text()).get("privacy", {}).get("privacy_state", "") if config.is_file() else ""
    for path in (run_dir / "privacy_state", Path(named) if named else None):
        if path is not None and path.is_dir():
            return path
    return None


def run_flower_simulation(cfg: RunConfig, resources: SimResources = SimResources(),
                          run_config: dict[str, Any] | None = None) -> dict[str, Any]:
    """Start Flower's Simulation Engine with fedflm's apps and this run config; returns the
    ``simulation`` record of ``summary.json`` (cluster, client resources, device, memory).
    ``run_config`` replaces ``cfg``'s flat form as the apps' run config (another task's, issue 25);
    ``cfg`` still sizes the clients."""
    from flwr.app import Context, RecordDict
    from flwr.supercore.logger import update_console_handler
    from flwr.supercore.telemetry import EventType
    from flwr.simulation.run_simulation import _run_simulation

    os.environ.setdefault("FLWR_TELEMETRY_ENABLED", "0")
    update_console_handler(level=logging.WARNING, timestamps=False, colored=True)
    # Opacus calls logging.basicConfig() at import; without this, Flower's DEBUG records
    # would also reach that root handler and flood the terminal.
    logging.getLogger("flwr").propagate = False
    context = Context(run_id=0, node_id=0, node_config={}, state=RecordDict(),
                      run_config=cfg.to_run_config() if run_config is None else run_config)
    backend = backend_config(cfg, resources)
    serialize_app_checks()
    with ClientWatch(backend["client_resources"]) as watch:
        _run_simulation(num_supernodes=cfg.fed.clients, exit_event=EventType.PYTHON_API_RUN_SIMULATION_LEAVE,
                        server_app_attr=SERVER_APP, client_app_attr=CLIENT_APP,
                        server_app_context=context, backend_name="ray",
                        backend_config=backend, app_dir=_app_dir())
    return describe(resources, backend, watch)


def _app_dir() -> str:
    """Directory from which Flower imports ``server`` and ``clients`` (found, not imported)."""
    spec = importlib.util.find_spec(SERVER_APP.split(".", 1)[0])
    if spec is None or spec.origin is None:
        raise FederationError("the ServerApp package 'server' is not installed (pip install -e .)")
    return str(Path(spec.origin).resolve().parent.parent)


def run_simulation(cfg: RunConfig | dict[str, Any],
                   on_prepared: Callable[[list[PartitionStats], tuple[str, ...]], None] | None = None,
                   resources: SimResources = SimResources()) -> SimulationResult:
    """Run a whole simulated federation and return its metrics and run directory (no report:
    the caller, ``fedflm.simulate`` or the CLI, writes it).

    ``cfg`` is a :class:`RunConfig` or a flat dict of the CLI's keys; ``resources`` says which Ray
    cluster runs the clients and what each reserves (``--ray-address``, ``--client-cpus/-gpus``).
    """
    t0 = time.perf_counter()
    if not isinstance(cfg, RunConfig):
        cfg = RunConfig.from_flat(cfg)
    if resources.client_gpus:  # a GPU share that cannot be met fails before the data loads (the only request
        backend_config(cfg, resources)  # that can fail; asking for it imports torch, so bad data fails faster)
    reach_cluster(resources.cluster)  # so does a cluster that does not answer
    cfg, rundir, stats, names = prepare_run(cfg)
    if on_prepared is not None:
        on_prepared(stats, names)
    summary = finish_engine_run(cfg, rundir.path, resources, t0)
    return SimulationResult(rundir.path, rundir.read_metrics(), summary, stats)


def finish_engine_run(cfg: RunConfig, out: Path, resources: SimResources, t0: float,
                      run_config: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run the engine (:func:`run_flower_simulation`) to the end; returns the finished run's
    ``summary.json``, to which the ``simulation`` record and the total wall time are added. A
    failure marks ``out`` INCOMPLETE with the reason; an error of fedflm's is raised as itself."""
    try:
        sim_record = run_flower_simulation(cfg, resources, run_config)
    except BaseException as exc:
        if out.is_dir():
            RunDir(out).fail(f"{type(exc).__name__}: {exc}")
        cause = exc.__cause__ or exc
        if isinstance(cause, FedflmError):
            raise cause from None
        raise
    finally:
        shutdown_ray()
    rundir = RunDir(out)
    if not (out / "summary.json").exists() or (out / "INCOMPLETE").exists():
        raise FederationError(f"{out}: the federation ended without completing "
                              "(see the log above); run directory marked INCOMPLETE")
    summary = json.loads((out / "summary.json").read_text())
    summary["total_wall_time_s"] = round(time.perf_counter() - t0, 3)
    summary["simulation"] = sim_record
    rundir.write_json("summary.json", summary)
    return summary


def shutdown_ray() -> None:
    try:
        import ray
        if ray.is_initialized():
            ray.shutdown()
    except Exception:  # pragma: no cover - best effort cleanup
        pass
