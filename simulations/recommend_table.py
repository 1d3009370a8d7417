"""``--task recommend`` at eps = inf and eps = 8 against the popularity baseline (issue 25, part 2).

Runs two simulated federations (Flower's Simulation Engine) with the task's defaults on the built-in
generated log (``synthetic:600``: 600 users, 120 items, fedflm/recommend/synthetic.py), MiniLM, 4 owners,
3 rounds, and prints one markdown row per run: held-out users' AUC / HitRate@10 / NDCG@10 before and
after, and the popularity baseline on the same users.

    python simulations/recommend_table.py OUT_DIR [--dataset synthetic:600] [--model minilm]

The settings are the task's defaults (tuned on validation users: fedflm/recommend/README.md "Tuning"); the
results table's rows come from simulations/recipes/recommend-synthetic-*.toml instead.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from fedflm.config import DPConfig
from fedflm.recommend.config import RecommendRunConfig
from fedflm.recommend.simulate import simulate_recommend


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("out", type=Path)
    p.add_argument("--dataset", default="synthetic:600")
    p.add_argument("--model", default="minilm")
    args = p.parse_args()
    print("| privacy | AUC before | AUC after | HitRate@10 after | NDCG@10 after | popularity AUC | popularity "
          "HitRate@10 | popularity NDCG@10 | eps max | held-out users | wall s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, privacy in (("no DP (eps = inf)", DPConfig(dp="none", epsilon=None)),
                          ("DP-SGD eps = 8, one user = one unit", DPConfig(epsilon=8.0, run_id="recommend-table"))):
        cfg = RecommendRunConfig(dataset=args.dataset, model=args.model, out=str(args.out / name.split()[0].lower()
                                 .replace("-", "")), privacy=privacy)
        s = simulate_recommend(cfg)
        b, a, pop = s["before"], s["after"], s["popularity_baseline"]
        print(f"| {name} | {b['auc']:.4f} | {a['auc']:.4f} | {a['hit_rate_at_10']:.4f} | {a['ndcg_at_10']:.4f} | "
              f"{pop['auc']:.4f} | {pop['hit_rate_at_10']:.4f} | {pop['ndcg_at_10']:.4f} | "
              f"{s['epsilon_max'] if s['epsilon_max'] is not None else '—'} | {s['eval_users']} | "
              f"{s['total_wall_time_s']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
