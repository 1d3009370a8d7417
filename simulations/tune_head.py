"""Fast head-mode tuning on a validation split carved from the TRAINING file (never dev/test).

Head mode trains a linear head on the frozen encoder's sentence vectors, so a whole federated
DP run can be replayed in one process on vectors computed once: the same partition
(``fedflm.fl.client_data``), the same DP-SGD code (``make_private`` + ``train_local``), the
same calibration (``fedflm.privacy.calibration``, prototype step included), uniform FedAvg as
the server does under DP. Only the Flower transport is skipped, so a setting takes seconds
instead of minutes; the chosen setting is then confirmed with ``fedflm sweep`` / the recipes.

    python simulations/tune_head.py --dataset banking77 --samples-per-client 300 \\
        --grid lr=0.01,0.05 --grid proto_fraction=0,0.5 --epsilon 8

Prints one line per setting: validation accuracy and the epsilon each owner spent. ``--repeats N``
replays each setting with N different noise/batch draws (the same N for every setting, so settings
are compared on paired draws) and prints the mean, the spread and each run.
The vectors are kept in memory only (this process).
"""

from __future__ import annotations

import argparse
import copy
import itertools
import json
import time
import warnings
from dataclasses import replace

import torch

from fedflm.config import RunConfig
from fedflm.fl.client_data import federated_data, lazy_partitions
from fedflm.models.lora import build_model, load_tokenizer, pooled_classifier
from fedflm.models.name_prior import name_vectors
from fedflm.privacy.accounting import epsilon
from fedflm.privacy.dp import SecureModeOffWarning, make_private, release
from fedflm.privacy.federation import owner_plan, prototype_sigma
from fedflm.privacy.prototypes import noisy_class_sums, prototype_head
from fedflm.sweep.grid import validation_config
from fedflm.train.batching import TokenizedDataset
from fedflm.train.cache import FeatureCollator, HeadTail, CachedRows, run_frozen
from fedflm.train.local import evaluate, train_local
from fedflm.train.phases import phase_of_round
from fedflm.train.schedule import round_lr

warnings.filterwarnings("ignore", category=SecureModeOffWarning)


def _vectors(cfg: RunConfig):
    data = federated_data(cfg.data, cfg.fed.seed)
    parts, label_names, evals = lazy_partitions(cfg.data, cfg.fed.clients, cfg.fed.seed), data.label_names, data.eval
    model = build_model(cfg.model, label_names, cfg.fed.seed)
    clf, tok = pooled_classifier(model), load_tokenizer(cfg.model)
    dev = torch.device("cpu")

    def vecs(ds):
        return torch.stack(run_frozen(clf, TokenizedDataset(ds, tok, cfg.data.max_length), dev, None))

    owners = [(vecs(p), torch.as_tensor(p["label"])) for p in parts]
    val = (vecs(evals), torch.as_tensor(evals["label"]))
    k = len(label_names)
    head = torch.nn.Linear(owners[0][0].shape[1], k)
    torch.nn.init.zeros_(head.weight), torch.nn.init.zeros_(head.bias)
    return owners, val, k, head, name_vectors(clf, tok, label_names, cfg.data.max_length)


def _loader(x, y, batch, seed):
    gen = torch.Generator().manual_seed(seed)
    return torch.utils.data.DataLoader(CachedRows(list(x), y.tolist()), batch_size=batch, shuffle=True, generator=gen,
                                       collate_fn=FeatureCollator(x.shape[1]))


def run_setting(cfg: RunConfig, owners, val, k: int, head0: torch.nn.Module, names: torch.Tensor,
                rep: int = 0) -> dict:
    """One replay of the run; ``rep`` shifts every noise and batch seed (repeat r uses other draws)."""
    dp, train, shift = cfg.privacy, cfg.train, 1_000_003 * rep
    head = copy.deepcopy(head0)
    proto = phase_of_round(train, cfg.fed.rounds, 1, dp.dp) == "proto"
    sigma_p = prototype_sigma(dp, train, cfg.fed.rounds)
    eps = []
    if proto:  # round 1: the owners' class sums (noisy under DP), summed, set the head
        gens = [torch.Generator().manual_seed(1000 * cfg.fed.seed + i + shift) for i in range(len(owners))]
        sums = sum(noisy_class_sums(x, y, k, sigma_p or 0.0, g) for (x, y), g in zip(owners, gens))
        head.load_state_dict(prototype_head(sums, train.proto_scale, names, train.name_prior))
        if sigma_p:
            eps.append(epsilon([(sigma_p, 1.0, 1)], dp.delta, dp.accountant))
    for r in range(2 if proto else 1, cfg.fed.rounds + 1):
        states, train = [], replace(cfg.train, lr=round_lr(cfg.train, cfg.fed.rounds, r))  # as clients/app.py
        for i, (x, y) in enumerate(owners):
            local = copy.deepcopy(head)
            module, loader = HeadTail(local), _loader(x, y, train.batch_size, 7919 * r + i + shift)
            if dp.dp == "sample":
                plan = owner_plan(dp, train, cfg.fed.rounds, len(y))
                made = {}

                def privatize(m, o, l, plan=plan, made=made, seed=r * 100 + i + shift):
                    made["m"], o, l = make_private(m, o, l, noise_multiplier=plan.noise_multiplier,
                                                   max_grad_norm=dp.max_grad_norm, noise_seed=seed)
                    return made["m"], o, l
                train_local(module, loader, train, torch.device("cpu"), privatize)
                release(made["m"])
                done = r - 1 if proto else r
                eps.append(epsilon([(sigma_p, 1.0, 1)] * bool(sigma_p)
                                   + [(plan.noise_multiplier, plan.sample_rate, plan.steps_per_round)] * done,
                                   dp.delta, dp.accountant))
            else:
                train_local(module, loader, train, torch.device("cpu"))
            states.append(local.state_dict())
        head.load_state_dict({n: torch.stack([s[n] for s in states]).mean(0) for n in states[0]})
    vx, vy = val
    vl = torch.utils.data.DataLoader(CachedRows(list(vx), vy.tolist()), batch_size=512,
                                     collate_fn=FeatureCollator(vx.shape[1]))
    res = evaluate(HeadTail(head), vl, torch.device("cpu"), k)
    return {"val_accuracy": res.metrics["accuracy"], "epsilon_max": max(eps) if eps else None}


def main() -> None:
    torch.set_num_threads(1)  # a shared 2-core machine: no OpenMP spinning
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grid", action="append", default=[], help="KEY=V1,V2 (a RunConfig flat key)")
    ap.add_argument("--set", action="append", default=[], help="KEY=V (a RunConfig flat key)")
    ap.add_argument("--repeats", type=int, default=1, help="replay each setting N times with other noise draws")
    ap.add_argument("--first-repeat", type=int, default=0, help="draws FIRST..FIRST+N-1 (more draws on a later call)")
    ap.add_argument("--whole-text", default="", metavar="N:MIN_WORDS",
                    help="validate on N whole sentences of >= MIN_WORDS words carved from the training file, their "
                         "sub-phrases dropped from training (the eval_whole_text key, fedflm/data/holdout.py; for SST-2)")
    ap.add_argument("--save-vectors", default="", help="write the vectors here (public data only) ...")
    ap.add_argument("--vectors", default="", help="... and read them back on the next call (same --set data keys)")
    args = ap.parse_args()
    fixed = dict(s.split("=", 1) for s in args.set)
    whole = {"eval_whole_text": args.whole_text} if args.whole_text else {}
    base = validation_config(RunConfig.from_flat({"train_mode": "head", "eval_fraction": 0.1, **whole, **fixed}))
    t0 = time.perf_counter()
    owners, val, k, head0, names = _vectors(base) if not args.vectors else torch.load(args.vectors, weights_only=False)
    if args.save_vectors:  # public data sets only: the vectors of a real owner never go to disk
        torch.save((owners, val, k, head0, names), args.save_vectors)
    print(f"# vectors: {sum(len(y) for _, y in owners)} training rows in {len(owners)} owners, "
          f"{len(val[1])} validation rows, {time.perf_counter() - t0:.0f} s", flush=True)
    grid = [(g.split("=", 1)[0], g.split("=", 1)[1].split(",")) for g in args.grid]
    for combo in itertools.product(*(v for _, v in grid)):
        setting = {key: v for (key, _), v in zip(grid, combo)}
        cfg = RunConfig.from_flat({**fixed, **setting}, base=base)
        t1 = time.perf_counter()
        rows = [run_setting(cfg, owners, val, k, head0, names, rep) for rep in range(args.first_repeat, args.first_repeat + args.repeats)]
        accs = torch.tensor([r["val_accuracy"] for r in rows])
        row = {"val_accuracy": round(accs.mean().item(), 5), "epsilon_max": rows[0]["epsilon_max"]}
        if args.repeats > 1:
            row |= {"val_sd": round(accs.std().item(), 5), "runs": [round(a, 4) for a in accs.tolist()]}
        print(json.dumps({**setting, **row, "seconds": round(time.perf_counter() - t1, 1)}), flush=True)


if __name__ == "__main__":
    main()
