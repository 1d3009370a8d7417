"""The prototype round under attack, on a validation split carved from the TRAINING file (never dev/test).

Replays only round 1 of a prototype run (issue 15's DP class sums; fedflm.privacy.prototypes) on the
sentence vectors ``simulations/tune_head.py --save-vectors`` wrote: the same partition and noise
calibration, the attackers the ClientApp would pick (``fedflm.fl.attack.attacker_ids``) sending what it
would send (``poison``: signflip = the negated sums), then each server rule: the plain mean (no robust
rule), the per-coordinate rules and Multi-Krum on the sums (what ``--robust`` did before issue 21's
screen) and the per-owner screen (``fedflm.fl.robust_proto``). Prints the prototype head's validation
accuracy per rule (mean over ``--repeats`` noise draws) and the screen's scores: honest owners' lowest
and attackers' highest projection (the screen rejects <= 0).

    python simulations/tune_head.py --set dataset=banking77 --set partition=dirichlet:0.3 ... \\
        --save-vectors /tmp/b77.pt --grid rounds=1
    python simulations/tune_proto_screen.py --vectors /tmp/b77.pt --attack signflip --attackers 0.2 --repeats 3
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from fedflm.config import RunConfig
from fedflm.fl.attack import attacker_ids, poison
from fedflm.fl.robust import aggregate
from fedflm.fl.robust_proto import screen_prototypes
from fedflm.privacy.federation import prototype_sigma
from fedflm.privacy.prototypes import noisy_class_sums, prototype_head

RULES = ("none", "median", "trimmed:0.2", "multikrum:2:6", "screen")


def _combine(rule: str, sent: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """The server's aggregate of the owners' sent sums under ``rule`` (the head starts at zero)."""
    if rule == "none":
        return sent.mean(axis=0), []
    if rule == "screen":
        screen = screen_prototypes(sent)
        return screen.combine(sent), list(screen.actions)
    res = aggregate(rule, sent.reshape(len(sent), -1))
    return res.update.reshape(sent.shape[1:]), list(res.actions)


def _accuracy(agg: np.ndarray, scale: float, val: tuple[torch.Tensor, torch.Tensor]) -> float:
    w = prototype_head(torch.as_tensor(agg), scale)["weight"]
    x, y = val
    return float(((x.float() @ w.T).argmax(1) == y).float().mean())


def replay(cfg: RunConfig, owners, val, k: int, rep: int) -> dict:
    sigma = prototype_sigma(cfg.privacy, cfg.train, cfg.fed.rounds) or 0.0
    gens = [torch.Generator().manual_seed(1000 * cfg.fed.seed + i + 1_000_003 * rep) for i in range(len(owners))]
    sums = [noisy_class_sums(x, y, k, sigma, g).numpy() for (x, y), g in zip(owners, gens)]
    bad = attacker_ids(cfg.agg, len(owners), cfg.fed.seed)
    zero = {"w": np.zeros_like(sums[0])}
    sent = np.stack([poison(cfg.agg, zero, {"w": s}, np.random.default_rng([cfg.fed.seed, i, 1]))["w"]
                     if i in bad else s for i, s in enumerate(sums)])
    scores = screen_prototypes(sent).scores
    honest = [s for i, s in enumerate(scores) if i not in bad]
    row = {"sigma": round(sigma, 4), "attackers": sorted(bad), "honest_min_score": round(min(honest), 1),
           "attacker_max_score": round(max(scores[sorted(bad)]), 1) if bad else None}
    for rule in RULES:
        agg, actions = _combine(rule, sent)
        row[rule] = round(100 * _accuracy(agg, cfg.train.proto_scale, val), 2)
        if rule == "screen":
            row["screen_rejected"] = [i for i, a in enumerate(actions) if a == "rejected"]
            row["screen_clipped"] = [i for i, a in enumerate(actions) if a == "clipped"]
    return row


def main() -> None:
    torch.set_num_threads(1)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vectors", required=True, help="tune_head.py --save-vectors output")
    ap.add_argument("--attack", default="signflip")
    ap.add_argument("--attackers", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=0, help="the run seed (which owners attack)")
    ap.add_argument("--epsilon", type=float, default=8.0)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    owners, val, k, _head0, _names = torch.load(args.vectors, weights_only=False)
    cfg = RunConfig.from_flat({"train_mode": "head", "dp": "sample", "epsilon": args.epsilon, "rounds": 10,
                               "proto_fraction": 0.8, "clients": len(owners), "seed": args.seed,
                               "attack": args.attack, "attackers": args.attackers})
    rows = [replay(cfg, owners, val, k, rep) for rep in range(args.repeats)]
    for r in rows:
        print(json.dumps(r), flush=True)
    print(json.dumps({"mean": {rule: round(float(np.mean([r[rule] for r in rows])), 2) for rule in RULES}}))


if __name__ == "__main__":
    main()
