"""Benchmark: predict throughput and size of an exported run, PyTorch fp32 vs ONNX fp32 vs int8.

    python simulations/bench_export.py RUN_DIR [--texts 0] [--repeats 5] [--batch-size 32] [--out DIR] [--record JSON]

Exports RUN_DIR (merged + int8 and ONNX + int8, fedflm/export/) into --out (default a temporary
folder), then classifies the run's own evaluation set (its first --texts rows; 0, the default: all) with each model on
ONE thread (torch.set_num_threads(1), onnxruntime intra-op threads 1). Throughput is texts per CPU
second of this process (time.process_time: what one core does, whatever else the machine runs),
the best of --repeats passes, the models taking turns; wall-clock texts/s are printed too, and the spread of the
ONNX int8 / PyTorch fp32 ratio over the rounds (each round's pair of passes ran side by side). Every model gets the same batches: texts
of similar token length together (``Predictor.probabilities``, what ``fedflm predict`` does);
``--given-order`` batches in the evaluation set's order instead. Accuracy is on the same rows. Goal (issue 23): ONNX int8 >= 3x
PyTorch fp32 throughput with <= 1 point accuracy loss. Prints a table, then ``BENCH_JSON {...}``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def one_pass(pred, texts: list[str], batch_size: int, by_length: bool) -> tuple[float, float, object]:
    """CPU and wall seconds of one pass over ``texts``, and its probabilities."""
    cpu0, wall0 = time.process_time(), time.perf_counter()
    probs = pred.probabilities(texts, batch_size, by_length=by_length)
    return time.process_time() - cpu0, time.perf_counter() - wall0, probs


def measure(models: dict, texts: list[str], labels: list[int], batch_size: int, repeats: int,
            by_length: bool) -> tuple[dict[str, dict], dict[str, list[float]]]:
    """Best of ``repeats`` passes per model, the models taking turns (pass 1 of every model, then pass 2, ...),
    so that a change in the machine's load falls on all of them alike."""
    import numpy as np

    for pred in models.values():
        pred.probabilities(texts[:batch_size], batch_size)  # warm-up (allocations, onnxruntime graph)
    best = {name: [float("inf"), float("inf"), None] for name in models}
    passes: dict[str, list[float]] = {name: [] for name in models}  # CPU seconds of every pass, in round order
    for _ in range(repeats):
        for name, pred in models.items():
            cpu, wall, probs = one_pass(pred, texts, batch_size, by_length)
            best[name] = [min(best[name][0], cpu), min(best[name][1], wall), probs]
            passes[name].append(cpu)
    return {name: {"texts_per_cpu_s": len(texts) / cpu, "texts_per_wall_s": len(texts) / wall,
                   "accuracy": float((probs.argmax(1) == np.asarray(labels)).mean())}
            for name, (cpu, wall, probs) in best.items()}, passes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--texts", type=int, default=0, help="rows of the evaluation set (0: all, the default)")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=5, help="passes per model; the fastest counts (default 5)")
    ap.add_argument("--given-order", action="store_true", help="batches in the given order, not by length")
    ap.add_argument("--out", type=Path, default=None, help="where the exports go (default: a temporary folder)")
    ap.add_argument("--record", type=Path, default=None,
                    help="also save the figures as a benchmark record (simulations/results/bench/NAME.json) "
                         "that simulations/make_results.py lists in RESULTS.md")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(1)
    from fedflm.export.predictor import open_model
    from fedflm.export.run_export import ExportConfig, eval_rows, export_run

    out = args.out or Path(tempfile.mkdtemp(prefix="bench-export-"))
    for fmt in ("merged", "onnx"):
        export_run(args.run_dir, ExportConfig(format=fmt, quantize="int8", out=str(out / fmt),
                                              eval_samples=args.texts))
    texts, labels = eval_rows(args.run_dir, args.texts)
    models = {"pytorch_fp32": open_model(out / "merged"), "pytorch_int8": open_model(out / "merged", int8=True),
              "onnx_fp32": open_model(out / "onnx", threads=1), "onnx_int8": open_model(out / "onnx", int8=True, threads=1)}
    files = {"pytorch_fp32": out / "merged" / "model.safetensors", "pytorch_int8": out / "merged" / "model_int8.pt",
             "onnx_fp32": out / "onnx" / "model.onnx", "onnx_int8": out / "onnx" / "model.int8.onnx"}
    by_length = not args.given_order
    t0, load0 = time.perf_counter(), os.getloadavg()[0]
    timed, passes = measure(models, texts, labels, args.batch_size, args.repeats, by_length)
    res = {name: {**timed[name], "bytes": files[name].stat().st_size} for name in models}
    base = res["pytorch_fp32"]
    print(f"{len(texts)} evaluation rows of {args.run_dir}, batch {args.batch_size} "
          f"({'given order' if args.given_order else 'by length'}), 1 thread, best of "
          f"{args.repeats}; "
          f"load average {load0:.1f} -> {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'model':<14}{'texts/CPU-s':>12}{'texts/s wall':>14}{'x fp32':>8}{'accuracy':>10}{'MB':>8}")
    for name, r in res.items():
        print(f"{name:<14}{r['texts_per_cpu_s']:>12.1f}{r['texts_per_wall_s']:>14.1f}"
              f"{r['texts_per_cpu_s'] / base['texts_per_cpu_s']:>8.2f}{100 * r['accuracy']:>9.2f}%"
              f"{r['bytes'] / 1e6:>8.1f}")
    speedup = res["onnx_int8"]["texts_per_cpu_s"] / base["texts_per_cpu_s"]
    loss = 100 * (base["accuracy"] - res["onnx_int8"]["accuracy"])
    rounds = sorted(pt / q8 for pt, q8 in zip(passes["pytorch_fp32"], passes["onnx_int8"]))
    print(f"ONNX int8 / PyTorch fp32 per round (side by side): min {rounds[0]:.2f}, median "
          f"{rounds[len(rounds) // 2]:.2f}, max {rounds[-1]:.2f} over {len(rounds)} rounds")
    met = speedup >= 3 and loss <= 1
    print(f"goal ONNX int8 >= 3x PyTorch fp32 with <= 1 point loss: {'MET' if met else 'NOT MET'} "
          f"({speedup:.2f}x, {loss:+.2f} points)")
    flat = {f"{n}_{k}": round(v, 4) for n, r in res.items() for k, v in r.items()}
    flat.update(onnx_int8_speedup=round(speedup, 3), onnx_int8_accuracy_loss_points=round(loss, 3),
                onnx_int8_speedup_round_min=round(rounds[0], 3),
                onnx_int8_speedup_round_median=round(rounds[len(rounds) // 2], 3),
                onnx_int8_speedup_round_max=round(rounds[-1], 3), rounds=len(rounds),
                rows=len(texts), by_length=by_length, load_average_start=round(load0, 2),
                load_average=round(os.getloadavg()[0], 2))
    print("BENCH_JSON " + json.dumps(flat))
    if args.record:
        from fedflm.report.benchtable import write_bench_record

        write_bench_record(args.record, "export", flat, round(time.perf_counter() - t0, 1), quick=False,
                           command="python simulations/bench_export.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
