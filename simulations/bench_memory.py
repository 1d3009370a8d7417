"""Benchmark: resident memory of a worker that serves many DP-SGD client rounds.

A Ray client actor trains round after round in one process. This script does the
same in a fresh child process per variant: packaged MiniLM + LoRA (top 2 layers),
512 real SST-2 rows, each round 4 Poisson DP-SGD steps of expected batch 64, then
Opacus is released as the ClientApp does. Variant ``trim`` also calls
``fedflm.train.memory.return_freed_memory()`` after every round (what the ClientApp
does); variant ``none`` does not. Prints the RSS after round 1 and after the last
round for both, and ``BENCH_JSON {...}`` last.

    python simulations/bench_memory.py [--rounds 12]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def child(variant: str, rounds: int) -> None:
    """Train ``rounds`` DP rounds on one reused model; print the RSS after each as JSON."""
    import psutil
    import torch

    from fedflm.config import ModelConfig, TrainConfig
    from fedflm.data.load import load_builtin
    from fedflm.models.lora import build_model, load_tokenizer
    from fedflm.privacy.dp import make_private, release
    from fedflm.train.batching import TokenizedDataset, train_loader
    from fedflm.train.local import train_local
    from fedflm.train.memory import return_freed_memory

    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    mc = ModelConfig(model="minilm", lora_layers=2)
    rows = load_builtin("sst2").train.shuffle(seed=0).select(range(512))
    data = TokenizedDataset(rows, load_tokenizer(mc), 64)
    model = build_model(mc, ("negative", "positive"), seed=0)
    cfg = TrainConfig(local_steps=4, batch_size=64, lr=0.01)
    rss, proc = [], psutil.Process()
    for r in range(rounds):
        made = {}

        def privatize(m, opt, loader):
            made["model"], opt, loader = make_private(m, opt, loader, noise_multiplier=1.0, max_grad_norm=1.0)
            return made["model"], opt, loader

        train_local(model, train_loader(data, 64, seed=r), cfg, torch.device("cpu"), privatize)
        release(made.pop("model"))
        if variant == "trim":
            return_freed_memory(torch.device("cpu"))
        rss.append(proc.memory_info().rss / 2**20)
    print(json.dumps(rss))


def run_variant(variant: str, rounds: int) -> list[float]:
    done = subprocess.run([sys.executable, __file__, "--child", variant, "--rounds", str(rounds)],
                          capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    quick = os.environ.get("FEDFLM_BENCH_QUICK") == "1"
    parser.add_argument("--rounds", type=int, default=6 if quick else 12)
    parser.add_argument("--child", choices=("none", "trim"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.rounds)
        return
    figures = {"dp_rounds": args.rounds}
    for variant in ("none", "trim"):
        rss = run_variant(variant, args.rounds)
        growth = rss[-1] - rss[0]
        print(f"{variant:>5}: RSS {rss[0]:.0f} MB after round 1, {rss[-1]:.0f} MB after round {args.rounds} "
              f"(+{growth:.0f} MB)")
        figures[f"rss_after_last_round_mb_{variant}"] = round(rss[-1], 1)
        figures[f"rss_growth_mb_{variant}"] = round(growth, 1)
    print("BENCH_JSON " + json.dumps(figures))


if __name__ == "__main__":
    main()
