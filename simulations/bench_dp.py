"""Benchmark: one client's local training step with DP-SGD vs without.

Packaged MiniLM + LoRA r=8 on query/value + classifier head, real SST-2 rows
(built-in copy), the SAME fixed batches (dynamic padding) for every variant:
no DP, and Opacus DP-SGD with each grad-sample mode (hooks, functorch, ew).
Timing: all variants in one process, steps interleaved (variant A step k,
B step k, ...) so that every variant sees the same machine load. Peak RSS:
each variant trains 2 steps in its own child process. Prints median ms/step, peak
RSS and the DP/non-DP ratio (target <= 1.10x), and ``BENCH_JSON {...}`` last.

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
from fedflm.privacy.dp import DEFAULT_GRAD_SAMPLE_MODE as DEFAULT_MODE  # noqa: E402


def _rss_mb() -> float:
    """Peak RSS of this process image (VmHWM: reset by exec, unlike ru_maxrss)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # pragma: no cover - non-Linux


def _setup(variant: str, steps: int, batch_size: int):
    """Model, optimizer and the fixed batches for one variant (same rows, same seed)."""
    import torch
    from torch.utils.data import DataLoader

    from fedflm.config import DataConfig, ModelConfig
    from fedflm.data.load import load_federated_data
    from fedflm.models.lora import build_model, load_tokenizer
    from fedflm.privacy.dp import make_private
    from fedflm.train.batching import PadCollator, TokenizedDataset

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
    return net, opt, batches


def _step(net, opt, batch) -> float:
    import torch

    t0 = time.perf_counter()
    opt.zero_grad(set_to_none=True)
    out = net(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    torch.nn.functional.cross_entropy(out.logits, batch["labels"]).backward()
    opt.step()
    return time.perf_counter() - t0


def peak_rss(variant: str, steps: int, batch_size: int, threads: int) -> dict[str, float]:
    """Peak RSS of a process that trains ``steps`` steps of one variant (run in a child)."""
    import torch

    torch.set_num_threads(threads)
    net, opt, batches = _setup(variant, steps, batch_size)
    for batch in batches:
        _step(net, opt, batch)
    return {"peak_rss_mb": _rss_mb()}


def interleaved_ms(steps: int, batch_size: int, threads: int) -> tuple[dict[str, float], float]:
    """Median ms/step of every variant, steps interleaved so all see the same machine load."""
    import torch

    torch.set_num_threads(threads)
    setups = {v: _setup(v, steps, batch_size) for v in VARIANTS}
    times: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for k in range(steps + 2):
        for v, (net, opt, batches) in setups.items():
            dt = _step(net, opt, batches[k])
            if k >= 2:  # two warm-up steps
                times[v].append(dt)
    batches = setups["none"][2]
    tokens = sum(int(b["attention_mask"].sum()) for b in batches) / len(batches) / batch_size
    return {v: 1000 * statistics.median(t) for v, t in times.items()}, tokens


def _children_rss(args: argparse.Namespace) -> dict[str, float]:
    """Peak RSS of each variant, each in its own child process (run concurrently:
    RSS does not depend on speed, and this keeps the benchmark short)."""
    procs = {v: subprocess.Popen([sys.executable, __file__, "--variant", v, "--steps", "0",  # 2 steps
                                  "--batch-size", str(args.batch_size), "--threads", str(args.threads)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for v in VARIANTS}
    rss = {}
    for v, proc in procs.items():
        out, err = proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"variant {v} failed:\n{err[-2000:]}")
        rss[v] = json.loads(out.strip().splitlines()[-1])["peak_rss_mb"]
    return rss


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    quick = os.environ.get("FEDFLM_BENCH_QUICK") == "1"
    ap.add_argument("--steps", type=int, default=3 if quick else 5)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--variant", choices=VARIANTS, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.variant:
        print(json.dumps(peak_rss(args.variant, args.steps, args.batch_size, args.threads)))
        return

    rss = _children_rss(args)
    ms, tokens = interleaved_ms(args.steps, args.batch_size, args.threads)
    base = ms["none"]
    print(f"MiniLM + LoRA r=8 (query, value) + head, SST-2, batch {args.batch_size}, "
          f"mean {tokens:.1f} tokens/row, {args.threads} thread(s), median of {args.steps} interleaved steps")
    print(f"{'variant':<18}{'ms/step':>10}{'x non-DP':>10}{'peak RSS MB':>13}")
    for v in VARIANTS:
        name = "no DP" if v == "none" else f"DP-SGD {v}"
        print(f"{name:<18}{ms[v]:>10.1f}{ms[v] / base:>10.2f}{rss[v]:>13.0f}")
    dp_modes = [v for v in VARIANTS if v != "none"]
    best = min(dp_modes, key=lambda v: ms[v])
    ratio = ms[best] / base
    print(f"fastest DP mode: {best}, {ratio:.2f}x non-DP (target <= {TARGET:.2f}x); "
          f"fedflm's default mode: {DEFAULT_MODE}, {ms[DEFAULT_MODE] / base:.2f}x")
    figures: dict[str, object] = {"batch_size": args.batch_size, "threads": args.threads, "steps": args.steps,
                                  "fastest_dp_mode": best, "dp_over_nondp": round(ratio, 3),
                                  "default_mode_over_nondp": round(ms[DEFAULT_MODE] / base, 3)}
    for v in VARIANTS:
        figures[f"{v}_ms_per_step"] = round(ms[v], 1)
        figures[f"{v}_peak_rss_mb"] = round(rss[v], 1)
    print("BENCH_JSON " + json.dumps(figures))


if __name__ == "__main__":
    main()
