"""White-box mechanism audit at a real owner's sigma, q and steps (default: SST-2 at eps = 8).

Takes client ``--client`` of a recipe (default ``sst2-fed-dp-eps8``: MiniLM +
LoRA on the top 2 layers, 10 clients dirichlet:0.5, batch 128, 3 rounds x 1
local epoch), computes that owner's DP-SGD plan exactly as its node does
(``fedflm.privacy.federation.owner_plan``), and audits the node's DP-SGD step
with Dirac gradient canaries on the owner's model (``fedflm audit
mechanism``'s code path; only the owner's row count is read from the data).
Prints, per seed, the claimed epsilon, the one-run and composed lower bounds
at 95 % confidence and the share of the claim they reach.

    python simulations/audit_mechanism.py                    # 10 runs x 20000 canaries, seeds 0 1 2
    python simulations/audit_mechanism.py --runs 2 --seeds 0 # quicker, weaker

The last line is ``BENCH_JSON {...}``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def owner_setup(recipe: str, client: int, secure: bool):
    """(model, claim) of ``client`` under ``recipe``, as the owner's node would run it."""
    from fedflm.audit.mechanism.config import Block, MechanismClaim
    from fedflm.config import RunConfig
    from fedflm.fl.client_data import client_partition
    from fedflm.models.lora import build_model
    from fedflm.privacy.federation import owner_plan
    from fedflm.report.recipes import load_recipe, resolve_recipe_path

    cfg = RunConfig.from_flat(load_recipe(resolve_recipe_path(recipe, HERE / "recipes")).config)
    pool, names = client_partition(cfg.data, client, cfg.fed.clients, cfg.fed.seed)
    plan = owner_plan(cfg.privacy, cfg.train, cfg.fed.rounds, len(pool))
    history = tuple(Block(plan.noise_multiplier, plan.sample_rate, plan.steps_per_round)
                    for _ in range(cfg.fed.rounds))
    claim = MechanismClaim(history, cfg.privacy.max_grad_norm, cfg.train.batch_size, cfg.privacy.delta,
                           plan.final_epsilon, secure)
    return build_model(cfg.model, tuple(names), cfg.fed.seed), claim, len(pool)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", default="sst2-fed-dp-eps8")
    parser.add_argument("--client", type=int, default=0)
    parser.add_argument("--canaries", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--secure", action="store_true", help="secure mode (CSPRNG sampler and noise)")
    args = parser.parse_args(argv)

    from fedflm.audit.mechanism.audit import MechanismConfig, audit_mechanism

    warnings.simplefilter("ignore")
    model, claim, n = owner_setup(args.recipe, args.client, args.secure)
    b = claim.history[0]
    print(f"{args.recipe} client {args.client}: n={n}, q={b.q:.5f}, sigma={b.sigma:.4f}, steps={claim.steps}, "
          f"C={claim.max_grad_norm}, claimed eps={claim.epsilon:.3f} (delta {claim.delta:g}); "
          f"{args.runs} runs x {args.canaries} canaries; secure mode {args.secure}", flush=True)
    print(f"{'seed':>4} {'one-run':>8} {'composed':>9} {'% claim':>8} {'sampler p':>10} {'wall s':>7}  verdict")
    flat = {"claimed_epsilon": claim.epsilon}
    for seed in args.seeds:
        t0 = time.perf_counter()
        res = audit_mechanism(model, claim, MechanismConfig(canaries=args.canaries, runs=args.runs, seed=seed))
        wall = time.perf_counter() - t0
        print(f"{seed:>4} {res.one_run.epsilon_lower_bound:>8.3f} {res.composed.epsilon_lower_bound:>9.3f} "
              f"{100 * res.lower_bound / claim.epsilon:>7.1f}% {res.sampler.p_value:>10.3g} {wall:>7.1f}  "
              f"{res.verdict()}", flush=True)
        flat[f"seed{seed}_lower_bound"] = res.lower_bound
        flat[f"seed{seed}_wall_s"] = round(wall, 1)
    print("BENCH_JSON " + json.dumps(flat))
    return 0


if __name__ == "__main__":
    sys.exit(main())
