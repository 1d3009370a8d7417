"""Tune ``--task recommend``'s DP-SGD settings on a VALIDATION split of the training users (issue 25).

The run's held-out users (the ones RESULTS.md reports) are dropped first and never seen here
(:func:`fedflm.recommend.split.validation_split`); 20 % of the remaining users are the validation
users, the rest are dealt to the owners. The federation runs in one process without Flower, with
the ClientApp's pieces: each owner's users as one item each (``user_dataset``), its DP-SGD plan
(``owner_plan``: the same calibration as the ledger's, one user = one unit, q = batch / users),
``make_private`` (per-user clipping through ``sample_groups``), ``train_towers``, uniform FedAvg of
the towers under DP. No ledger is written. The encoder's vectors are computed once (cached in
``--cache``) and shared by every setting.

    python simulations/tune_recommend.py --grid default [--seeds 0 1] [--cache /tmp/rec-vectors.pt]

Prints one markdown row per setting: validation AUC / HitRate@10 / NDCG@10 before and after (mean
over seeds), the owners' sigma and q, and the popularity baseline on the validation users.
"""

from __future__ import annotations

import argparse
import itertools
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from fedflm.config import DPConfig
from fedflm.privacy.dp import make_private, release
from fedflm.privacy.federation import owner_plan
from fedflm.recommend.config import RecommendRunConfig
from fedflm.recommend.heldout import set_towers_state, towers_state
from fedflm.recommend.metrics import evaluate, popularity_scores
from fedflm.recommend.model import TwoTower, encode_texts, load_encoder
from fedflm.recommend.split import Split, validation_split
from fedflm.recommend.train import scorer, train_towers
from fedflm.recommend.users import user_dataset, user_loader

GRIDS: dict[str, dict[str, list[Any]]] = {
    # axes: embed_dim, batch_size (users/step), lr, max_grad_norm, local_steps, rounds, tower_init, optimizer
    "default": {"embed_dim": [64], "batch_size": [16], "lr": [0.01], "max_grad_norm": [1.0], "local_steps": [20],
                "rounds": [3], "tower_init": ["random", "shared"], "optimizer": ["adam"]},
    "snr": {"embed_dim": [8, 16, 64, 128], "batch_size": [16, 48, 96], "lr": [0.003, 0.01, 0.03], "max_grad_norm": [1.0],
            "local_steps": [20], "rounds": [3], "tower_init": ["shared"], "optimizer": ["adam"]},
}


def vectors_for(split: Split, cfg: RecommendRunConfig, cache: Path) -> dict[str, torch.Tensor]:
    if cache.exists():
        return torch.load(cache)
    texts = [t for o in split.owners for u in o for e in u.examples for t in (e.history, e.candidate)]
    texts += [t for c in split.cases for t in (c.history, *c.candidates)]
    encoder, tok = load_encoder(cfg.model, cfg.pooling)
    vectors = encode_texts(encoder, tok, texts, cfg.max_length)
    torch.save(vectors, cache)
    return vectors


def federate(cfg: RecommendRunConfig, split: Split, vectors: dict[str, torch.Tensor], width: int,
             tower_init: str, optimizer: str) -> tuple[dict[str, Any], dict[str, Any], float, float]:
    """(validation metrics before, after, sigma of the largest owner, its q) of one in-process federation."""
    run = cfg.as_run_config()
    datasets = [user_dataset(o, vectors) for o in split.owners]
    model = TwoTower(width, cfg.embed_dim, seed=cfg.seed, init=tower_init)
    before = evaluate(split.cases, scorer(model, vectors))
    state, sigma, q = towers_state(model), 0.0, 0.0
    for rnd in range(1, cfg.rounds + 1):
        replies = []
        for pid, data in enumerate(datasets):
            set_towers_state(model, state)
            loader = user_loader(data, cfg.batch_size, seed=cfg.seed * 1000 + rnd * 10 + pid)
            if cfg.privacy.dp == "sample":
                plan = owner_plan(run.privacy, run.train, cfg.rounds, len(data))
                sigma, q = plan.noise_multiplier, plan.sample_rate
                made: dict[str, Any] = {}

                def privatize(m, opt, dl, plan=plan, made=made, seed=cfg.seed * 7919 + rnd * 31 + pid):
                    made["m"], opt, dl = make_private(m, opt, dl, noise_multiplier=plan.noise_multiplier,
                                                      max_grad_norm=cfg.privacy.max_grad_norm, noise_seed=seed)
                    return made["m"], opt, dl
                try:
                    train_towers(model, loader, cfg.local_steps, cfg.lr, privatize, optimizer)
                finally:
                    release(made["m"])
            else:
                train_towers(model, loader, cfg.local_steps, cfg.lr, None, optimizer)
            replies.append(towers_state(model))
        state = {k: np.mean([r[k] for r in replies], axis=0) for k in state}
    set_towers_state(model, state)
    return before, evaluate(split.cases, scorer(model, vectors)), sigma, q


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--grid", choices=sorted(GRIDS), default="default")
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--epsilon", type=float, default=8.0, help="0 = no DP")
    p.add_argument("--dataset", default="synthetic:600")
    p.add_argument("--only", nargs="*", default=[],
                   help="run only the grid points matching one of these, e.g. embed_dim=8,batch_size=48")
    p.add_argument("--cache", type=Path, default=Path("/tmp/rec-validation-vectors.pt"))
    args = p.parse_args()
    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    privacy = DPConfig(dp="none", epsilon=None) if args.epsilon == 0 else DPConfig(epsilon=args.epsilon)
    base = RecommendRunConfig(dataset=args.dataset, privacy=privacy)
    split = validation_split(base)  # the split depends on the data settings and the data seed only
    vectors = vectors_for(split, base, args.cache)
    width = int(next(iter(vectors.values())).shape[0])
    pop = evaluate(split.cases, popularity_scores(split.popularity))
    print(f"validation users {len(split.cases)}, owners' users {[len(o) for o in split.owners]}, popularity AUC "
          f"{pop['auc']:.3f} HR@10 {pop['hit_rate_at_10']:.3f} NDCG@10 {pop['ndcg_at_10']:.3f}, eps {args.epsilon}")
    print("| embed | batch | lr | clip | steps | rounds | init | opt | sigma | q | AUC before | AUC after | HR@10 | "
          "NDCG@10 |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    grid = GRIDS[args.grid]
    for values in itertools.product(*grid.values()):
        s = dict(zip(grid, values))
        if args.only and not any(all(str(s[k]) == v for k, v in (kv.split("=") for kv in want.split(",")))
                                 for want in args.only):
            continue
        runs = []
        for seed in args.seeds:
            cfg = replace(base, embed_dim=s["embed_dim"], batch_size=s["batch_size"], lr=s["lr"], seed=seed,
                          local_steps=s["local_steps"], rounds=s["rounds"],
                          privacy=replace(privacy, max_grad_norm=s["max_grad_norm"]))
            runs.append(federate(cfg, split, vectors, width, s["tower_init"], s["optimizer"]))
        mean = {k: float(np.mean([r[1][k] for r in runs])) for k in ("auc", "hit_rate_at_10", "ndcg_at_10")}
        print(f"| {' | '.join(str(v) for v in values)} | {runs[0][2]:.3f} | {runs[0][3]:.3f} | "
              f"{np.mean([r[0]['auc'] for r in runs]):.3f} | {mean['auc']:.3f} | {mean['hit_rate_at_10']:.3f} | "
              f"{mean['ndcg_at_10']:.3f} |", flush=True)


if __name__ == "__main__":
    main()
