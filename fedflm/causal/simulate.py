"""A simulated causal-LM federation in Flower's Simulation Engine (issue 25).

The same ``server.app:app`` and ``clients.app:app`` as classification run it: their run config
carries ``task = causal-lm``, which sends the server to ``server/causal_lm.py`` (FedAvg over the
LoRA tensors, held-out perplexity every round, the run directory) and every simulated owner to
``clients/causal_lm.py`` (its policy, DP-SGD plan and ledger; only adapter tensors leave).
:func:`fedflm.fl.task_simulation.simulate_task` resolves the run directory, reads the split once
here (fails fast on bad input), runs the engine and adds the launcher's records to ``summary.json``.
"""

from __future__ import annotations

from typing import Any, Callable

from fedflm.causal.config import CausalRunConfig
from fedflm.causal.split import split_records
from fedflm.fl.resources import SimResources
from fedflm.fl.task_simulation import simulate_task


def _records_per_owner(cfg: CausalRunConfig) -> list[int]:
    """Each simulated owner's record count (the split is read once, before any process starts)."""
    owners, _ = split_records(cfg)
    return [len(o) for o in owners]


def simulate_causal(cfg: CausalRunConfig | dict[str, Any], resources: SimResources = SimResources(),
                    on_prepared: Callable[[CausalRunConfig, list[int]], None] | None = None) -> dict[str, Any]:
    """Run a simulated causal-LM federation; returns ``summary.json``'s content."""
    return simulate_task(cfg, CausalRunConfig, _records_per_owner, "records_per_owner", resources, on_prepared)
