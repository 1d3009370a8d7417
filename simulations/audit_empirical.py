"""Empirical privacy audit of the default SST-2 setup at eps in {1, 8, inf}.

For each epsilon, trains client 0 of the default federated SST-2 recipe
(``sst2-fed-dp-eps8``: a linear head on the frozen mean-pooled MiniLM, 10 clients,
dirichlet:0.5, a DP-prototype round then 9 rounds x 20 DP-SGD steps, batch 256; only
epsilon / DP mode changed) with canaries in its data, as a node of the run trains it
(train mode, prototype round, frozen-feature cache: fedflm/audit/empirical/training.py),
and prints the claimed epsilon next to the one-run empirical lower bound (Steinke, Nasr &
Jagielski 2023) and the wall time. In head mode the encoder runs once per row (the cache);
the rounds cost little, so the size is set by the rows encoded (client rows + canaries).

    python simulations/audit_empirical.py            # full size: all of client 0's rows, 1000 canaries
    python simulations/audit_empirical.py --quick    # 2-core CPU sized: 500 rows, 200 canaries, max_length 48

The last line is ``BENCH_JSON {...}`` (flat figures, for simulations/bench_all.py).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def _config(recipe: str, epsilon: float, overrides: dict[str, object]):
    from fedflm.config import RunConfig
    from fedflm.bench.recipes import load_recipe, resolve_recipe_path

    base = load_recipe(resolve_recipe_path(recipe, HERE / "recipes")).config
    cfg = RunConfig.from_flat(base)
    dp = {"dp": "none"} if math.isinf(epsilon) else {"dp": "sample", "epsilon": epsilon}
    return RunConfig.from_flat({**dp, **overrides}, base=cfg)


def _write_record(path: Path, figures: dict, wall_s: float, quick: bool) -> None:
    """The figures as a ``bench_all.py --json-out`` record, so that RESULTS.md lists them."""
    from fedflm.report.results import git_commit, machine_info

    commit, dirty = git_commit(HERE.parent)
    payload = {"commit": commit, "dirty": dirty, "machine": machine_info(), "quick": quick,
               "command": "python simulations/audit_empirical.py " + " ".join(sys.argv[1:]),
               "benchmarks": {"audit_empirical": {"figures": figures, "error": None, "wall_s": wall_s}}}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", default="sst2-fed-dp-eps8", help="base recipe (default sst2-fed-dp-eps8)")
    parser.add_argument("--epsilons", type=float, nargs="+", default=[1.0, 8.0, math.inf],
                        help="claimed epsilons to audit; inf = no DP (default 1 8 inf)")
    parser.add_argument("--canaries", type=int, default=None, help="canaries m (default 1000; 200 with --quick)")
    parser.add_argument("--kind", default="unique-token", help="canary kind: unique-token (default), far-token or random-label")
    parser.add_argument("--confidence", type=float, default=0.95)
    parser.add_argument("--guess", choices=("both", "out", "in"), default="both",
                        help="canaries guessed on: both (default), out (only the highest losses, guessed "
                             "excluded; abstain on the rest) or in")
    parser.add_argument("--seed", type=int, default=0, help="canary coin-flip seed (reproducible figures)")
    parser.add_argument("--quick", action="store_true",
                        help="CPU-sized: 500 rows for the client, max_length 48 (the recipe's training otherwise)")
    parser.add_argument("--feature-cache", choices=("run", "on", "off"), default="run",
                        help="frozen-feature cache: run = the run's setting, what its nodes do (default); "
                             "off = run the encoder every step (same numbers with dropout off, far slower)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config override")
    parser.add_argument("--out", type=Path, default=None, help="also write one JSON row per epsilon here")
    parser.add_argument("--record", type=Path, default=None,
                        help="also write the figures as a benchmark record (commit, machine) that "
                             "simulations/make_results.py puts in RESULTS.md, e.g. simulations/results/bench/audit-NAME.json")
    args = parser.parse_args(argv)

    from fedflm.audit.empirical.audit import EmpiricalConfig, run_empirical_audit

    overrides: dict[str, object] = {}
    if args.quick:
        overrides.update(samples_per_client=500, max_length=48)
    overrides.update(dict(s.split("=", 1) for s in args.set))
    m = args.canaries or (200 if args.quick else 1000)
    cache = {"run": None, "on": True, "off": False}[args.feature_cache]
    audit = EmpiricalConfig(canaries=m, kind=args.kind, confidence=args.confidence, seed=args.seed,
                            feature_cache=cache, guess=args.guess)
    rows = []
    print(f"recipe {args.recipe}{' (quick)' if args.quick else ''}; overrides {overrides}; m={m} {args.kind} "
          f"canaries, guesses on {args.guess}, confidence {args.confidence}", flush=True)
    print(f"{'claimed eps':>12} {'sigma':>8} {'steps':>6} {'lower bound':>12} {'v/r':>9} {'AUC':>6} {'wall s':>8}",
          flush=True)
    for eps in args.epsilons:
        cfg = _config(args.recipe, eps, overrides)
        t0 = time.perf_counter()
        res = run_empirical_audit(cfg, audit)
        wall = time.perf_counter() - t0
        claimed = "inf" if math.isinf(res.claimed_epsilon) else f"{res.claimed_epsilon:.3f}"
        sigma = res.history[-1][0]  # the DP-SGD rounds' (round 1 may be the prototype release)
        steps = sum(h[2] for h in res.history)
        b = res.bound
        print(f"{claimed:>12} {sigma:>8.3f} {steps:>6} {b.epsilon_lower_bound:>12.3f} {f'{b.v}/{b.r}':>9} "
              f"{res.auc:>6.3f} {wall:>8.1f}{'  VIOLATED' if res.violated else ''}", flush=True)
        rows.append({"target_epsilon": None if math.isinf(eps) else eps, **res.to_json(), "wall_s": wall,
                     "config": dataclasses.asdict(cfg)})
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("".join(json.dumps(r, default=str) + "\n" for r in rows))
    flat = {}
    for r in rows:
        tag = "inf" if r["target_epsilon"] is None else f"{r['target_epsilon']:g}"
        flat[f"audit_eps{tag}_claimed"] = r["claimed_epsilon"]
        flat[f"audit_eps{tag}_lower_bound"] = r["bound"]["epsilon_lower_bound"]
        flat[f"audit_eps{tag}_wall_s"] = round(r["wall_s"], 1)
    if rows:
        first = rows[0]
        train = first["config"]["train"]
        flat.update(audit_canaries=m, audit_canary_kind=args.kind, audit_guess=args.guess,
                    audit_train_examples=first["train_examples"],
                    audit_local_epochs=train["local_epochs"], audit_local_steps=train["local_steps"],
                    audit_train_mode=train["train_mode"], audit_feature_cache=first["feature_cache"],
                    audit_rounds=first["rounds"])
    if args.record:
        _write_record(args.record, flat, sum(r["wall_s"] for r in rows), args.quick)
    print("BENCH_JSON " + json.dumps(flat))
    return 1 if any(r["violated"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
