"""Class imbalance under DP (issue 22): ce vs weighted vs focal on an imbalanced Banking77.

    python simulations/bench_imbalance.py                      # ce, weighted, focal:2 at epsilon 8
    python simulations/bench_imbalance.py --losses ce weighted --eval-samples 770
    python simulations/bench_imbalance.py --in-process --eval-samples 770 \
        --losses ce weighted weighted:0.5 weighted:1:0.2 focal:2 --record simulations/results/bench/imbalance.json

The imbalanced variant keeps 10 % of the training rows of half of the 77 classes (chosen with
``--seed``) and all rows of the others; the server's set is the built-in test split (capped,
stratified, by ``--eval-samples``). Every other setting is fedflm's default federation (head
mode, 10 owners, Dirichlet 0.5, 10 rounds x 20 DP-SGD steps, epsilon 8 per owner). Prints one
table row per loss (macro-F1 over all classes, mean recall over the reduced "minority" classes
and over the others) and, last, ``BENCH_JSON {...}`` for ``simulations/bench_all.py``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def imbalanced_files(folder: Path, keep: float, seed: int) -> tuple[Path, Path, list[str]]:
    """(train CSV, test CSV, minority label names) of the imbalanced Banking77 variant."""
    from fedflm.data.load import load_builtin

    data = load_builtin("banking77")
    names = list(data.label_names)
    rng = np.random.default_rng(seed)
    minority = sorted(rng.choice(len(names), size=len(names) // 2, replace=False).tolist())
    labels = np.asarray(data.train["label"])
    rows = []
    for c in range(len(names)):
        idx = np.flatnonzero(labels == c)
        if c in minority:
            idx = rng.choice(idx, size=max(1, round(keep * len(idx))), replace=False)
        rows += idx.tolist()
    train = data.train.select(sorted(rows))
    paths = []
    for name, ds in (("train", train), ("test", data.eval)):
        path = folder / f"banking77-imbalanced-{name}.csv"
        frame = ds.to_pandas()[["text", "label"]]
        frame["label"] = [names[int(y)] for y in frame["label"]]
        frame.to_csv(path, index=False)
        paths.append(path)
    return paths[0], paths[1], [names[c] for c in minority]


def recalls(cm: np.ndarray, label_names: list[str], minority: list[str]) -> tuple[float, float]:
    """Mean recall over the minority classes and over the others, from a confusion matrix."""
    cm = np.asarray(cm, dtype=float)
    per_class = np.diag(cm) / np.maximum(cm.sum(axis=1), 1)
    is_minor = np.asarray([n in minority for n in label_names])
    return float(per_class[is_minor].mean()), float(per_class[~is_minor].mean())


def _flower(out: Path, cfg: dict, loss: str):
    from fedflm.fl.simulation import run_simulation

    result = run_simulation({**cfg, "loss": loss, "out": str(out / loss.replace(":", "-"))})
    summary = json.loads((result.run_dir / "summary.json").read_text())
    return summary["final"], summary["confusion_matrix"], summary["label_names"], summary["final"].get("epsilon_max")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--losses", nargs="+", default=["ce", "weighted", "focal:2"])
    parser.add_argument("--epsilon", type=float, default=8.0)
    parser.add_argument("--keep", type=float, default=0.1, help="fraction kept of each minority class")
    parser.add_argument("--eval-samples", type=int, default=1540, help="server rows (stratified; 0 = all 3,080)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="folder of the run directories (default: temporary)")
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--samples-per-client", type=int, default=0, help="cap each owner's rows (0 = all; smoke tests)")
    parser.add_argument("--in-process", action="store_true",
                        help="the same head-mode DP federation without Flower/Ray (simulations/imbalance_inprocess.py)")
    parser.add_argument("--proto-fraction", type=float, default=None,
                        help="share of epsilon on the round-1 prototype head (default: fedflm's; 0 = none)")
    parser.add_argument("--record", type=Path, default=None, help="also write the figures as a benchmark record")
    args = parser.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="bench-imbalance-"))
    out.mkdir(parents=True, exist_ok=True)
    train, test, minority = imbalanced_files(out, args.keep, args.seed)
    figures: dict[str, float | int | str] = {"epsilon": args.epsilon, "minority_classes": len(minority),
                                             "eval_rows": args.eval_samples or 3080}
    print(f"imbalanced Banking77: {len(minority)} classes at {args.keep:.0%}, server rows "
          f"{args.eval_samples or 3080}, epsilon {args.epsilon:g}; runs in {out}")
    print("| loss | macro-F1 | minority recall | majority recall | accuracy | epsilon | wall s |")
    print("|---|---|---|---|---|---|---|")
    base = {"dataset": str(train), "eval_file": str(test), "eval_samples": args.eval_samples,
            "epsilon": args.epsilon, "seed": args.seed, "model": args.model,
            "samples_per_client": args.samples_per_client}
    if args.proto_fraction is not None:  # 0: as first measured, before issue 15's prototype round was the default
        base["proto_fraction"] = args.proto_fraction
    fed = None
    if args.in_process:
        from imbalance_inprocess import Federation

        from fedflm.config import RunConfig

        fed = Federation(RunConfig.from_flat(base))
    figures["engine"] = "in-process" if fed else "flower"
    if args.proto_fraction is not None:
        figures["proto_fraction"] = args.proto_fraction
    t_all = time.perf_counter()
    for loss in args.losses:
        t0 = time.perf_counter()
        if fed is not None:
            final, cm, eps = fed.run(RunConfig.from_flat({**base, "loss": loss}))
            names = list(fed.names)
        else:
            final, cm, names, eps = _flower(out, base, loss)
        minor, major = recalls(cm, names, minority)
        key = re.sub(r"[^0-9a-z]+", "_", loss)
        print(f"| {loss} | {final['macro_f1']:.4f} | {minor:.4f} | {major:.4f} | {final['accuracy']:.4f} | "
              f"{eps:.3f} | {time.perf_counter() - t0:.0f} |", flush=True)
        figures.update({f"{key}_macro_f1": round(final["macro_f1"], 4), f"{key}_minority_recall": round(minor, 4),
                        f"{key}_majority_recall": round(major, 4), f"{key}_epsilon": round(float(eps), 3)})
    from fedflm.report.benchtable import emit_bench

    emit_bench(figures, args.record, "imbalance", time.perf_counter() - t_all, "simulations/bench_imbalance.py",
               sys.argv[1:])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
