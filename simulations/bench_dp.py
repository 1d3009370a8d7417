"""Benchmark: one client's local training step with DP-SGD vs without.

Packaged MiniLM + LoRA r=8 on query/value + classifier head, real SST-2 rows
(built-in copy), the SAME fixed batches (dynamic padding) for every variant:
no DP, and Opacus DP-SGD with each grad-sample mode (hooks, functorch, ew).
Each variant runs in its own process so its peak RSS is its own. Prints
median ms/step, peak RSS and the DP/non-DP ratio (target <= 1.10x), and
``BENCH_JSON {...}`` last.

    python simulations/bench_dp.py [--steps 10] [--batch-size 32] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

VARIANTS = ("none", "hooks", "functorch", "ew")
TARGET = 1.10


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_variant(variant: str, steps: int, batch_size: int, threads: int) -> dict[str, float]:
    """Time ``steps`` training steps (after 2 warm-up steps) of one variant."""
    import torch
    from torch.utils.data import DataLoader

    from fedflm.config import DataConfig, ModelConfig
    from fedflm.data.load import load_federated_data
    from fedflm.models.lora import build_model, load_tokenizer
    from fedflm.privacy.dp import make_private, release
    from fedflm.train.batching import PadCollator, TokenizedDataset

    torch.set_num_threads(threads)
    mcfg = ModelConfig(model="minilm", lora_r=8)
    data = load_federated_data(DataConfig(dataset="sst2"), seed=0)
    rows = data.train.shuffle(seed=0).select(range(batch_size * (steps + 2)))
    tokenized = TokenizedDataset(rows, load_tokenizer(mcfg), max_length=128)
    collate = PadCollator(tokenized.pad_id)
    batches = [collate([tokenized[i] for i in range(k * batch_size, (k + 1) * batch_size)])
               for k in range(steps + 2)]
    model = build_model(mcfg, data.label_names, seed=0).train()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    net = model
    if variant != "none":
        loader = DataLoader(tokenized, batch_size=batch_size, collate_fn=collate)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            net, opt, _ = make_private(model, opt, loader, noise_multiplier=1.0, max_grad_norm=1.0,
                                       grad_sample_mode=variant, noise_seed=0)
    rss_before = _rss_mb()
    times = []
    for k, batch in enumerate(batches):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        out = net(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
        torch.nn.functional.cross_entropy(out.logits, batch["labels"]).backward()
        opt.step()
        if k >= 2:
            times.append(time.perf_counter() - t0)
    if variant != "none":
        release(net)
    tokens = sum(int(b["attention_mask"].sum()) for b in batches) / len(batches) / batch_size
    return {"ms_per_step": 1000 * statistics.median(times), "peak_rss_mb": _rss_mb(),
            "rss_before_train_mb": rss_before, "mean_tokens": tokens}


def _child(variant: str, args: argparse.Namespace) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--variant", variant, "--steps", str(args.steps),
           "--batch-size", str(args.batch_size), "--threads", str(args.threads)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"variant {variant} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    quick = os.environ.get("FEDFLM_BENCH_QUICK") == "1"
    ap.add_argument("--steps", type=int, default=3 if quick else 6)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--variant", choices=VARIANTS, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.variant:
        print(json.dumps(run_variant(args.variant, args.steps, args.batch_size, args.threads)))
        return

    results = {v: _child(v, args) for v in VARIANTS}
    base = results["none"]["ms_per_step"]
    print(f"MiniLM + LoRA r=8 (query, value) + head, SST-2, batch {args.batch_size}, "
          f"mean {results['none']['mean_tokens']:.1f} tokens/row, {args.threads} thread(s), "
          f"median of {args.steps} steps")
    print(f"{'variant':<18}{'ms/step':>10}{'x non-DP':>10}{'peak RSS MB':>13}")
    for v, r in results.items():
        name = "no DP" if v == "none" else f"DP-SGD {v}"
        print(f"{name:<18}{r['ms_per_step']:>10.1f}{r['ms_per_step'] / base:>10.2f}{r['peak_rss_mb']:>13.0f}")
    dp_modes = [v for v in VARIANTS if v != "none"]
    best = min(dp_modes, key=lambda v: results[v]["ms_per_step"])
    ratio = results[best]["ms_per_step"] / base
    print(f"fastest DP mode: {best}, {ratio:.2f}x non-DP (target <= {TARGET:.2f}x)")
    figures: dict[str, object] = {"batch_size": args.batch_size, "threads": args.threads, "steps": args.steps,
                                  "fastest_dp_mode": best, "dp_over_nondp": round(ratio, 3)}
    for v, r in results.items():
        figures[f"{v}_ms_per_step"] = round(r["ms_per_step"], 1)
        figures[f"{v}_peak_rss_mb"] = round(r["peak_rss_mb"], 1)
    print("BENCH_JSON " + json.dumps(figures))


if __name__ == "__main__":
    main()
