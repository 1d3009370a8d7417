"""``fedflm simulate --task recommend``: the recommendation federation (fedflm.recommend.simulate).

It reads the simulate flags that apply to it (given ones only, over a ``--config`` file's keys)
plus its own (``--max-history``, ``--train-negatives``, ``--eval-positives``, ``--eval-negatives``,
``--embed-dim``; fedflm/cli/causal_lm.py adds them); a flag of another task is refused by name.
"""

from __future__ import annotations

import argparse
from typing import Any

from fedflm.cli.causal_lm import task_values


def _announce(cfg: Any, sizes: list[int]) -> None:
    from fedflm.privacy.federation import plan_text

    print(f"fedflm simulate --task recommend: {cfg.dataset}, {cfg.clients} owners ({min(sizes)}-{max(sizes)} "
          f"users each), {cfg.rounds} rounds, model {cfg.model}; Flower Simulation Engine", flush=True)
    if cfg.privacy.dp == "sample":
        print("one user is one privacy unit (q = users per batch / users):", flush=True)
        print(plan_text(cfg.as_run_config(), sizes), flush=True)
    else:
        print("WARNING: --dp none: no formal privacy for the data owners' users", flush=True)


def run_recommend(args: argparse.Namespace, file_values: dict[str, Any]) -> int:
    from fedflm.recommend.config import RecommendRunConfig

    cfg = RecommendRunConfig.from_flat(task_values(RecommendRunConfig, args, file_values))  # errors first
    from fedflm.cli.resource_flags import resources_from
    from fedflm.recommend.simulate import simulate_recommend

    resources = resources_from(args)
    summary = simulate_recommend(cfg, resources, on_prepared=_announce)
    b, a, p = summary["before"], summary["after"], summary["popularity_baseline"]
    print(f"{summary['eval_users']} held-out users: AUC {b['auc']:.4f} -> {a['auc']:.4f}, NDCG@10 "
          f"{b['ndcg_at_10']:.4f} -> {a['ndcg_at_10']:.4f}, HitRate@10 {a['hit_rate_at_10']:.4f} (popularity "
          f"baseline: AUC {p['auc']:.4f}, NDCG@10 {p['ndcg_at_10']:.4f}); epsilon max {summary['epsilon_max']}; "
          f"wall {summary['total_wall_time_s']:.0f} s")
    print(f"run directory: {summary['run_dir']}")
    return 0
