"""A simulated causal-LM federation in Flower's Simulation Engine (issue 25).

The same ``server.app:app`` and ``clients.app:app`` as classification run it: their run config
carries ``task = causal-lm``, which sends the server to ``server/causal_lm.py`` (FedAvg over the
LoRA tensors, held-out perplexity every round, the run directory) and every simulated owner to
``clients/causal_lm.py`` (its policy, DP-SGD plan and ledger; only adapter tensors leave).
This module resolves the run directory, checks the data once (fails fast on bad input), runs
the engine and adds the launcher's records to ``summary.json``.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from fedflm.causal.config import CausalRunConfig
from fedflm.causal.split import split_records
from fedflm.fl.cluster import reach_cluster
from fedflm.fl.resources import SimResources, backend_config
from fedflm.fl.rundir import default_run_dir
from fedflm.fl.simulation import finish_engine_run
from fedflm.io import write_json_atomic


def prepare_causal(cfg: CausalRunConfig) -> tuple[CausalRunConfig, list[int]]:
    """The run directory and the simulated owners' privacy state resolved, and each owner's record
    count (the split is read once here, so that bad data fails before any process starts)."""
    out = Path(cfg.out) if cfg.out else default_run_dir()
    privacy = cfg.privacy  # simulated owners: a fresh budget per run unless --privacy-state
    if not privacy.privacy_state:
        privacy = replace(privacy, privacy_state=str(out / "privacy_state"))
    cfg = replace(cfg, out=str(out), privacy=privacy)
    owners, _ = split_records(cfg)
    return cfg, [len(o) for o in owners]


def simulate_causal(cfg: CausalRunConfig | dict[str, Any], resources: SimResources = SimResources(),
                    on_prepared: Callable[[CausalRunConfig, list[int]], None] | None = None) -> dict[str, Any]:
    """Run a simulated causal-LM federation; returns ``summary.json``'s content."""
    t0 = time.perf_counter()
    if not isinstance(cfg, CausalRunConfig):
        cfg = CausalRunConfig.from_flat(cfg)
    backend_config(cfg.as_run_config(), resources)  # a resource request that cannot be met fails first
    reach_cluster(resources.ray_address)  # so does a cluster that does not answer
    cfg, sizes = prepare_causal(cfg)
    if on_prepared is not None:
        on_prepared(cfg, sizes)
    out = Path(cfg.out)
    summary = finish_engine_run(cfg.as_run_config(), out, resources, t0, run_config=cfg.to_run_config())
    summary |= {"run_dir": str(out), "records_per_owner": sizes}
    write_json_atomic(out / "summary.json", summary)
    return summary
