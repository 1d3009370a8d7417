"""A simulated recommendation federation in Flower's Simulation Engine (issue 25, part 2).

The same ``server.app:app`` and ``clients.app:app`` as classification run it: their run config
carries ``task = recommend``, which sends the server to ``server/recommend.py`` (FedAvg over the
towers, held-out users' ranking metrics every round, the run directory) and every simulated
owner to ``clients/recommend.py`` (its policy, DP-SGD plan and ledger with the user as the unit;
only tower tensors leave). This module resolves the run directory, splits the users once (bad
data fails before any process starts), runs the engine and adds the launcher's records.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from fedflm.fl.cluster import reach_cluster
from fedflm.fl.resources import SimResources, backend_config
from fedflm.fl.rundir import default_run_dir
from fedflm.fl.simulation import finish_engine_run
from fedflm.io import write_json_atomic
from fedflm.recommend.config import RecommendRunConfig
from fedflm.recommend.split import split_users


def prepare_recommend(cfg: RecommendRunConfig) -> tuple[RecommendRunConfig, list[int]]:
    """The run directory and the simulated owners' privacy state resolved, and each owner's user count."""
    out = Path(cfg.out) if cfg.out else default_run_dir()
    privacy = cfg.privacy  # simulated owners: a fresh budget per run unless --privacy-state
    if not privacy.privacy_state:
        privacy = replace(privacy, privacy_state=str(out / "privacy_state"))
    cfg = replace(cfg, out=str(out), privacy=privacy)
    return cfg, [len(o) for o in split_users(cfg).owners]


def simulate_recommend(cfg: RecommendRunConfig | dict[str, Any], resources: SimResources = SimResources(),
                       on_prepared: Callable[[RecommendRunConfig, list[int]], None] | None = None) -> dict[str, Any]:
    """Run a simulated recommendation federation; returns ``summary.json``'s content."""
    t0 = time.perf_counter()
    if not isinstance(cfg, RecommendRunConfig):
        cfg = RecommendRunConfig.from_flat(cfg)
    backend_config(cfg.as_run_config(), resources)  # a resource request that cannot be met fails first
    reach_cluster(resources.ray_address)  # so does a cluster that does not answer
    cfg, sizes = prepare_recommend(cfg)
    if on_prepared is not None:
        on_prepared(cfg, sizes)
    out = Path(cfg.out)
    summary = finish_engine_run(cfg.as_run_config(), out, resources, t0, run_config=cfg.to_run_config())
    summary |= {"run_dir": str(out), "users_per_owner": sizes}
    write_json_atomic(out / "summary.json", summary)
    return summary
