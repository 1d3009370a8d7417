"""Benchmark: one client's local training throughput, naive fixed padding vs fedflm batching.

(a) every batch padded to a fixed max length (what a naive loop does);
(b) fedflm: dynamic padding + length-grouped batches;
(c) as (b) with ``lora_layers`` (LoRA on the top N layers only: no backward below them);
(d) a DP-SGD round (Opacus, Poisson batches) with ``lora_layers``, frozen-feature cache
    off vs on: on, the layers below the adapted ones run once (the cache build, timed
    apart) and each step runs only the top layers. Steady-state samples/s side by side,
    and the cache-on figure amortised over ``--rounds`` rounds with its build included.
Same model, same rows, same batch size, one run, side by side. Also prints the
bytes of one adapter update vs the full model. Prints `BENCH_JSON {...}` last.

    python simulations/bench_training.py [--rows 512] [--batch-size 32] [--model minilm]
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402

from fedflm.config import DataConfig, ModelConfig, TrainConfig  # noqa: E402
from fedflm.data.load import load_federated_data  # noqa: E402
from fedflm.models.lora import (adapter_nbytes, build_model, get_adapter_state,  # noqa: E402
                                load_tokenizer, model_nbytes, resolve_device, set_adapter_state)
from fedflm.train.batching import PadCollator, TokenizedDataset, train_loader  # noqa: E402
from fedflm.train.local import train_local  # noqa: E402
from fedflm.models.lora import pooled_classifier, set_phase  # noqa: E402
from fedflm.privacy.dp import make_private, release  # noqa: E402
from fedflm.train.cache import FrozenCache  # noqa: E402


def dp_round_sps(module, loader, steps: int, batch_size: int, device) -> float:
    """Samples/s of one DP-SGD round (Poisson batches, per-sample clipping, noise)."""
    made = {}

    def privatize(m, o, dl):
        made["m"], o, dl = make_private(m, o, dl, noise_multiplier=1.0, max_grad_norm=1.0, noise_seed=0)
        return made["m"], o, dl

    res = train_local(module, loader, TrainConfig(batch_size=batch_size, local_steps=steps), device, privatize)
    release(made["m"])
    return res.examples / res.seconds


def cache_figures(tokenized, label_names, args, device) -> dict:
    """(d): DP round with lora_layers, cache off vs on, same rows, same model."""
    model = build_model(ModelConfig(model=args.model, device=args.device, lora_layers=args.top_layers),
                        label_names, seed=0)
    set_phase(model, "lora")
    model.to(device)
    steps = args.dp_steps
    off_loader = train_loader(tokenized, args.batch_size, seed=0)
    dp_round_sps(model, off_loader, 1, args.batch_size, device)  # warm-up
    off = dp_round_sps(model, off_loader, steps, args.batch_size, device)
    cache = FrozenCache(pooled_classifier(model), tokenized, device)
    t0 = time.perf_counter()
    tail, on_loader = cache.layers(args.top_layers, args.batch_size, seed=0)
    build_s = time.perf_counter() - t0
    dp_round_sps(tail, on_loader, 1, args.batch_size, device)  # warm-up
    on = dp_round_sps(tail, on_loader, steps, args.batch_size, device)
    per_round = steps * args.batch_size  # expected samples of one round
    amortised = args.rounds * per_round / (args.rounds * per_round / on + build_s)
    return {"dp_steps": steps, "dp_cache_off_samples_per_s": round(off, 2), "dp_cache_on_samples_per_s": round(on, 2),
            "dp_cache_speedup": round(on / off, 2), "cache_build_s": round(build_s, 2),
            "cache_rounds": args.rounds, "dp_cache_on_amortised_samples_per_s": round(amortised, 2),
            "dp_cache_amortised_speedup": round(amortised / off, 2)}


def samples_per_second(model, loader, cfg, device) -> tuple[float, float]:
    res = train_local(model, loader, cfg, device)
    return res.examples / res.seconds, res.loss


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=512)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--model", default="minilm")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--top-layers", type=int, default=2, help="lora_layers for loops (c) and (d)")
    ap.add_argument("--dp-steps", type=int, default=8, help="DP-SGD steps timed in (d), per variant")
    ap.add_argument("--rounds", type=int, default=10, help="rounds the cache build is amortised over in (d)")
    args = ap.parse_args()

    mcfg = ModelConfig(model=args.model, device=args.device)
    data = load_federated_data(DataConfig(dataset="sst2"), seed=0)
    rows = data.train.shuffle(seed=0).select(range(args.rows))
    tok = load_tokenizer(mcfg)
    tokenized = TokenizedDataset(rows, tok, args.max_length)
    model = build_model(mcfg, data.label_names, seed=0)
    device = resolve_device(args.device)
    init = get_adapter_state(model)
    tcfg = TrainConfig(batch_size=args.batch_size)

    naive = DataLoader(tokenized, batch_size=args.batch_size, shuffle=True,
                       generator=torch.Generator().manual_seed(0),
                       collate_fn=PadCollator(tokenized.pad_id, pad_to=args.max_length))
    fast = train_loader(tokenized, args.batch_size, seed=0)
    # warm-up (allocator, kernels), then measure both on identical starting weights
    train_local(model, fast, TrainConfig(batch_size=args.batch_size, local_steps=2), device)
    set_adapter_state(model, init)
    naive_sps, _ = samples_per_second(model, naive, tcfg, device)
    set_adapter_state(model, init)
    fast_sps, _ = samples_per_second(model, fast, tcfg, device)

    top = build_model(ModelConfig(model=args.model, device=args.device, lora_layers=args.top_layers),
                      data.label_names, seed=0)
    train_local(top, fast, TrainConfig(batch_size=args.batch_size, local_steps=2), device)
    top_sps, _ = samples_per_second(top, fast, tcfg, device)

    figures_d = cache_figures(tokenized, data.label_names, args, device)
    lengths = tokenized.lengths()
    figures = {
        "device": torch.cuda.get_device_name(0) if device.type == "cuda" else "cpu",
        "threads": torch.get_num_threads(), "rows": args.rows, "batch_size": args.batch_size,
        "mean_tokens": float(lengths.mean()), "max_length": args.max_length,
        "naive_samples_per_s": round(naive_sps, 2), "fedflm_samples_per_s": round(fast_sps, 2),
        "speedup": round(fast_sps / naive_sps, 2),
        "top_layers": args.top_layers, "top_layers_samples_per_s": round(top_sps, 2),
        "top_layers_speedup": round(top_sps / fast_sps, 2),
        "top_layers_adapter_bytes": adapter_nbytes(get_adapter_state(top)),
        "adapter_bytes": adapter_nbytes(init), "model_bytes": model_nbytes(model),
        "adapter_fraction_pct": round(100 * adapter_nbytes(init) / model_nbytes(model), 3),
        **figures_d,
    }
    print(f"device {figures['device']}, {figures['threads']} threads, {args.rows} SST-2 rows, "
          f"batch {args.batch_size}, mean {figures['mean_tokens']:.1f} tokens")
    print(f"{'loop':<34}{'samples/s':>12}")
    print(f"{'(a) naive, padded to ' + str(args.max_length):<34}{naive_sps:>12.1f}")
    print(f"{'(b) fedflm, dynamic + grouped':<34}{fast_sps:>12.1f}")
    print(f"{'(c) as (b), LoRA on top ' + str(args.top_layers) + ' layers':<34}{top_sps:>12.1f}")
    print(f"speed-up (b)/(a): {figures['speedup']:.2f}x  (target >= 3x); (c)/(b): "
          f"{figures['top_layers_speedup']:.2f}x")
    print(f"(d) DP-SGD round, LoRA on top {args.top_layers} layers, batch {args.batch_size}, "
          f"{figures['dp_steps']} steps:")
    print(f"{'    cache off':<34}{figures['dp_cache_off_samples_per_s']:>12.1f}")
    print(f"{'    cache on (steady state)':<34}{figures['dp_cache_on_samples_per_s']:>12.1f}")
    print(f"{'    cache on, build amortised':<34}{figures['dp_cache_on_amortised_samples_per_s']:>12.1f}"
          f"   (build {figures['cache_build_s']:.1f} s over {args.rounds} rounds)")
    print(f"cache speed-up: {figures['dp_cache_speedup']:.2f}x steady, "
          f"{figures['dp_cache_amortised_speedup']:.2f}x amortised  (target >= 2.5x)")
    print(f"adapter update {figures['adapter_bytes'] / 1e6:.3f} MB vs model "
          f"{figures['model_bytes'] / 1e6:.1f} MB = {figures['adapter_fraction_pct']:.3f} % "
          "(target <= 1 %)")
    print("BENCH_JSON " + json.dumps(figures))


if __name__ == "__main__":
    main()
