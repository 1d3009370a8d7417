"""A simulated recommendation federation in Flower's Simulation Engine (issue 25, part 2).

The same ``server.app:app`` and ``clients.app:app`` as classification run it: their run config
carries ``task = recommend``, which sends the server to ``server/recommend.py`` (FedAvg over the
towers, held-out users' ranking metrics every round, the run directory) and every simulated
owner to ``clients/recommend.py`` (its policy, DP-SGD plan and ledger with the user as the unit;
only tower tensors leave). :func:`fedflm.fl.task_simulation.simulate_task` resolves the run directory,
splits the users once here (bad data fails before any process starts), runs the engine and adds the
launcher's records.
"""

from __future__ import annotations

from typing import Any, Callable

from fedflm.fl.resources import SimResources
from fedflm.fl.task_simulation import simulate_task
from fedflm.recommend.config import RecommendRunConfig
from fedflm.recommend.split import split_users


def _users_per_owner(cfg: RecommendRunConfig) -> list[int]:
    """Each simulated owner's user count (the users are split once, before any process starts)."""
    return [len(o) for o in split_users(cfg).owners]


def simulate_recommend(cfg: RecommendRunConfig | dict[str, Any], resources: SimResources = SimResources(),
                       on_prepared: Callable[[RecommendRunConfig, list[int]], None] | None = None) -> dict[str, Any]:
    """Run a simulated recommendation federation; returns ``summary.json``'s content."""
    return simulate_task(cfg, RecommendRunConfig, _users_per_owner, "users_per_owner", resources, on_prepared)
