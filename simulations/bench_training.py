"""Benchmark: one client's local training throughput, naive fixed padding vs fedflm batching.

(a) every batch padded to a fixed max length (what a naive loop does);
(b) fedflm: dynamic padding + length-grouped batches;
(c) as (b) with ``lora_layers`` (LoRA on the top N layers only: no backward below them).
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
    ap.add_argument("--top-layers", type=int, default=2, help="lora_layers for loop (c)")
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
    }
    print(f"device {figures['device']}, {figures['threads']} threads, {args.rows} SST-2 rows, "
          f"batch {args.batch_size}, mean {figures['mean_tokens']:.1f} tokens")
    print(f"{'loop':<34}{'samples/s':>12}")
    print(f"{'(a) naive, padded to ' + str(args.max_length):<34}{naive_sps:>12.1f}")
    print(f"{'(b) fedflm, dynamic + grouped':<34}{fast_sps:>12.1f}")
    print(f"{'(c) as (b), LoRA on top ' + str(args.top_layers) + ' layers':<34}{top_sps:>12.1f}")
    print(f"speed-up (b)/(a): {figures['speedup']:.2f}x  (target >= 3x); (c)/(b): "
          f"{figures['top_layers_speedup']:.2f}x")
    print(f"adapter update {figures['adapter_bytes'] / 1e6:.3f} MB vs model "
          f"{figures['model_bytes'] / 1e6:.1f} MB = {figures['adapter_fraction_pct']:.3f} % "
          "(target <= 1 %)")
    print("BENCH_JSON " + json.dumps(figures))


if __name__ == "__main__":
    main()
