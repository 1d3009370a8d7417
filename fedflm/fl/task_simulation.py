"""A simulated federation of a non-classification task (causal-LM, recommend) in Flower's Simulation
Engine: what ``fedflm/causal/simulate.py`` and ``fedflm/recommend/simulate.py`` share.

The same ``server.app:app`` and ``clients.app:app`` as classification run every task; the run config's
``task`` key routes them. This module checks the resources and the cluster, resolves the run directory and
the simulated owners' privacy state, lets the task read its data once (bad data fails before any process
starts), runs the engine and adds the launcher's records to ``summary.json``.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, TypeVar

from fedflm.fl.cluster import reach_cluster
from fedflm.fl.resources import SimResources, backend_config
from fedflm.fl.rundir import default_run_dir
from fedflm.fl.simulation import finish_engine_run
from fedflm.io import write_json_atomic

C = TypeVar("C")


def resolve_run_paths(cfg: C) -> C:
    """``cfg`` with its run directory resolved and, for simulated owners, their privacy state inside it (a
    fresh budget per run unless ``--privacy-state`` names one). ``cfg`` is a task config
    (:class:`fedflm.task_config.FlatTaskConfig`)."""
    out = Path(cfg.out) if cfg.out else default_run_dir()  # type: ignore[attr-defined]
    privacy = cfg.privacy  # type: ignore[attr-defined]
    if not privacy.privacy_state:
        privacy = replace(privacy, privacy_state=str(out / "privacy_state"))
    return replace(cfg, out=str(out), privacy=privacy)  # type: ignore[type-var]


def simulate_task(cfg: Any, config_type: type[C], owner_sizes: Callable[[C], list[int]], sizes_key: str,
                  resources: SimResources, on_prepared: Callable[[C, list[int]], None] | None) -> dict[str, Any]:
    """Run one simulated federation of ``config_type``'s task; returns ``summary.json``'s content, which
    also lists each owner's data size under ``sizes_key``."""
    t0 = time.perf_counter()
    if not isinstance(cfg, config_type):
        cfg = config_type.from_flat(cfg)  # type: ignore[attr-defined]
    if resources.client_gpus:  # a GPU share that cannot be met fails first (the only request that can fail)
        backend_config(cfg.as_run_config(), resources)
    reach_cluster(resources.cluster)  # so does a cluster that does not answer
    cfg = resolve_run_paths(cfg)
    sizes = owner_sizes(cfg)
    if on_prepared is not None:
        on_prepared(cfg, sizes)
    out = Path(cfg.out)
    summary = finish_engine_run(cfg.as_run_config(), out, resources, t0, run_config=cfg.to_run_config())
    summary |= {"run_dir": str(out), sizes_key: sizes}
    write_json_atomic(out / "summary.json", summary)
    return summary
