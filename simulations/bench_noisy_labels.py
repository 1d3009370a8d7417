"""Noisy labels under DP (issue 22): ce vs label smoothing vs gce when some owners' labels are wrong.

    python simulations/bench_noisy_labels.py --eval-samples 770 \\
        --record simulations/results/bench/noisy-labels-inprocess.json

Banking77 in fedflm's default head-mode DP federation (10 owners, Dirichlet 0.5, 10 rounds x 20
DP-SGD steps, epsilon 8 per owner), run in one process (``simulations/imbalance_inprocess.py``,
no Flower/Ray), with fedflm's default round-1 DP-prototype head (``--proto-fraction``, 0 = none, as
measured before the prototype round was the default). Owners ``0 .. --noisy-owners - 1`` have ``--flip`` of their
training labels replaced by a uniformly drawn OTHER class (the same flips for every variant); the
server's set is the built-in test split (capped, stratified, by ``--eval-samples``). A variant is
``LOSS`` or ``LOSS@EPS`` (``--label-smoothing EPS``). Prints one table row per variant and, last,
``BENCH_JSON {...}``.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "simulations"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))


def flip_labels(labels: list[int], rate: float, num_classes: int, seed: int) -> tuple[list[int], int]:
    """(labels with ``round(rate * n)`` rows moved to a uniformly drawn other class, rows flipped)."""
    rng = np.random.default_rng(seed)
    out = list(labels)
    rows = rng.choice(len(out), size=round(rate * len(out)), replace=False)
    for i in rows:
        out[i] = int((out[i] + rng.integers(1, num_classes)) % num_classes)
    return out, len(rows)


def _variant(text: str) -> dict[str, object]:
    loss, _, eps = text.partition("@")
    return {"loss": loss, "label_smoothing": float(eps) if eps else 0.0}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", nargs="+", default=["ce", "ce@0.1", "gce:0.7"])
    parser.add_argument("--noisy-owners", type=int, default=3)
    parser.add_argument("--flip", type=float, default=0.2, help="fraction of a noisy owner's labels flipped")
    parser.add_argument("--epsilon", type=float, default=8.0)
    parser.add_argument("--eval-samples", type=int, default=770, help="server rows (stratified; 0 = all 3,080)")
    parser.add_argument("--samples-per-client", type=int, default=0, help="cap each owner's rows (0 = all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--proto-fraction", type=float, default=None,
                        help="share of epsilon on the round-1 prototype head (default: fedflm's; 0 = none)")
    parser.add_argument("--record", type=Path, default=None, help="also write the figures as a benchmark record")
    args = parser.parse_args(argv)
    from imbalance_inprocess import Federation

    from fedflm.config import RunConfig

    base = {"dataset": "banking77", "eval_samples": args.eval_samples, "epsilon": args.epsilon, "seed": args.seed,
            "model": args.model, "samples_per_client": args.samples_per_client}
    if args.proto_fraction is not None:
        base["proto_fraction"] = args.proto_fraction
    fed = Federation(RunConfig.from_flat(base))
    flipped = 0
    for pid in range(args.noisy_owners):  # the frozen-feature caches read these labels at every run
        owner = fed.owners[pid]
        owner.labels[:], n = flip_labels(owner.labels, args.flip, len(fed.names), args.seed * 100 + pid)
        flipped += n
    figures: dict[str, float | int | str] = {"epsilon": args.epsilon, "noisy_owners": args.noisy_owners,
                                             "flip": args.flip, "flipped_rows": flipped,
                                             "eval_rows": args.eval_samples or 3080, "engine": "in-process",
                                             "proto_fraction": RunConfig.from_flat(base).train.proto_fraction}
    print(f"Banking77, {args.noisy_owners} of 10 owners with {args.flip:.0%} labels flipped ({flipped} rows), "
          f"server rows {args.eval_samples or 3080}, epsilon {args.epsilon:g}")
    print("| variant | macro-F1 | accuracy | epsilon | wall s |")
    print("|---|---|---|---|---|")
    t_all = time.perf_counter()
    for text in args.variants:
        t0 = time.perf_counter()
        final, _, eps = fed.run(RunConfig.from_flat({**base, **_variant(text)}))
        print(f"| {text} | {final['macro_f1']:.4f} | {final['accuracy']:.4f} | {eps:.3f} | "
              f"{time.perf_counter() - t0:.0f} |", flush=True)
        key = re.sub(r"[^0-9a-z]+", "_", text)
        figures.update({f"{key}_macro_f1": round(final["macro_f1"], 4), f"{key}_accuracy": round(final["accuracy"], 4)})
    from fedflm.report.benchtable import emit_bench

    emit_bench(figures, args.record, "noisy_labels", time.perf_counter() - t_all, "simulations/bench_noisy_labels.py",
               sys.argv[1:])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
