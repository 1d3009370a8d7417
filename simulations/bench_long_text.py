"""Long texts (issue 22): truncate vs head-tail vs sliding windows on a late-signal document set.

    python simulations/bench_long_text.py                           # the table (DP epsilon 8, 2 owners)
    python simulations/bench_long_text.py --modes truncate sliding:32:16:max --train-docs 200
    python simulations/bench_long_text.py --record simulations/results/bench/long-text.json

The set (:func:`late_signal_documents`): each document is ``--fillers`` Banking77 queries (a
banking chatbot's questions: no sentiment) with one SST-2 sentence put among the later half of
them; the document's label is that sentence's. Owners' documents come from SST-2 train and
Banking77 train, the server's from SST-2 dev and Banking77 test, so no sentence is shared.
A document is about 5x the encoder budget (``--budget``, 32 tokens): truncation reads only its
first queries, head-tail a quarter of the budget from the start and the rest from the end (the
sentence is last in a third of the documents), sliding windows of the budget every half
budget read all of it (``--max-length``, 256, is then the document budget).

Every run is ``fedflm simulate`` with fedflm's defaults (head mode: DP prototypes in round 1, then
DP-SGD on the head; ``--rounds`` rounds), ``--owners`` IID owners, sample-level DP at
``--epsilon``. Prints one row per mode (accuracy and macro-F1 on the server's documents, epsilon
spent) and, last, ``BENCH_JSON {...}``; ``--record`` also writes it as a benchmark record.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def late_signal_documents(sentences: list[tuple[str, int]], fillers: list[str], per_doc: int,
                          seed: int) -> list[tuple[str, int]]:
    """One document per sentence: ``per_doc`` filler texts with the sentence among the later half."""
    rng = np.random.default_rng(seed)
    docs = []
    for text, label in sentences:
        parts = [fillers[int(i)] for i in rng.integers(len(fillers), size=per_doc)]
        parts.insert(int(rng.integers(per_doc // 2 + 1, per_doc + 1)), text)
        docs.append((" ".join(parts), label))
    return docs


def write_sets(folder: Path, train_docs: int, eval_docs: int, fillers: int, seed: int) -> tuple[Path, Path]:
    """(train CSV, eval CSV) of the late-signal set."""
    from fedflm.data.load import load_builtin

    sst2, bank = load_builtin("sst2"), load_builtin("banking77")
    rng = np.random.default_rng(seed)
    paths = []
    for k, (name, split, filler, n) in enumerate((("train", sst2.train, bank.train, train_docs),
                                                  ("eval", sst2.eval, bank.eval, eval_docs))):
        # SST-2 train holds phrases too: only sentences of 8+ words, like the dev set's
        rows = [(t, int(y)) for t, y in zip(split["text"], split["label"]) if len(t.split()) >= 8]
        pick = rng.choice(len(rows), size=min(n, len(rows)), replace=False)
        docs = late_signal_documents([rows[int(i)] for i in pick], list(filler["text"]), fillers, seed + k)
        path = folder / f"late-signal-{name}.csv"
        rows = ["text,label"] + [f'"{t.replace(chr(34), chr(39))}",{sst2.label_names[y]}' for t, y in docs]
        path.write_text("\n".join(rows) + "\n", encoding="utf-8")
        paths.append(path)
    return paths[0], paths[1]


def run_mode(out: Path, base: dict, mode: str, budget: int, doc_budget: int, in_process: bool) -> dict:
    """One federation: ``fedflm simulate`` (its final row from summary.json), or in one process."""
    max_length = doc_budget if mode.startswith("sliding") else budget
    cfg = {**base, "long_text": mode, "max_length": max_length, "out": str(out / mode.replace(":", "-"))}
    if in_process:
        from imbalance_inprocess import Federation

        from fedflm.config import RunConfig

        run = RunConfig.from_flat({**cfg, "proto_fraction": 0.0})  # the in-process engine has no prototype round
        metrics, _, eps = Federation(run).run(run)
        return {**metrics, "epsilon_max": eps if run.privacy.dp == "sample" else None}
    import fedflm

    result = fedflm.simulate(cfg)
    return json.loads((result.run_dir / "summary.json").read_text())["final"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--modes", nargs="+", default=["truncate", "head-tail", "sliding:32:16:mean", "sliding:32:16:max"])
    parser.add_argument("--budget", type=int, default=32, help="the encoder's tokens per row (truncate, head-tail)")
    parser.add_argument("--max-length", type=int, default=256, help="the document budget of sliding windows")
    parser.add_argument("--fillers", type=int, default=6, help="Banking77 queries per document")
    parser.add_argument("--train-docs", type=int, default=400)
    parser.add_argument("--eval-docs", type=int, default=200)
    parser.add_argument("--owners", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epsilon", type=float, default=8.0, help="per owner; 0 = no DP")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--out", type=Path, default=None, help="folder of the run directories (default: temporary)")
    parser.add_argument("--in-process", action="store_true",
                        help="the head-mode DP federation without Flower/Ray and without the prototype round "
                             "(simulations/imbalance_inprocess.py), for a machine too loaded for Ray")
    parser.add_argument("--record", type=Path, default=None, help="also write the figures as a benchmark record")
    args = parser.parse_args(argv)
    if os.environ.get("FEDFLM_BENCH_QUICK") == "1":  # bench_all.py --quick
        args.train_docs, args.eval_docs, args.rounds = 200, 100, 2
    out = args.out or Path(tempfile.mkdtemp(prefix="bench-long-text-"))
    out.mkdir(parents=True, exist_ok=True)
    train, test = write_sets(out, args.train_docs, args.eval_docs, args.fillers, args.seed)
    dp = {"dp": "sample", "epsilon": args.epsilon} if args.epsilon > 0 else {"dp": "none"}
    base = {"dataset": str(train), "eval_file": str(test), "clients": args.owners, "partition": "iid",
            "rounds": args.rounds, "model": args.model, "seed": args.seed, **dp}
    figures: dict[str, float | int | str] = {"train_docs": args.train_docs, "eval_docs": args.eval_docs,
                                             "owners": args.owners, "rounds": args.rounds, "epsilon": args.epsilon,
                                             "budget": args.budget, "fillers": args.fillers,
                                             "engine": "in-process" if args.in_process else "flower"}
    print(f"late-signal documents: {args.fillers} Banking77 queries + 1 SST-2 sentence in the later half; "
          f"{args.train_docs} train / {args.eval_docs} eval documents, {args.owners} owners, {args.rounds} rounds, "
          f"epsilon {args.epsilon:g}, encoder budget {args.budget}; runs in {out}")
    print("| long text | accuracy | macro-F1 | epsilon | wall s |")
    print("|---|---|---|---|---|")
    t_all = time.perf_counter()
    for mode in args.modes:
        t0 = time.perf_counter()
        final = run_mode(out, base, mode, args.budget, args.max_length, args.in_process)
        eps = final.get("epsilon_max")
        print(f"| {mode} | {final['accuracy']:.4f} | {final['macro_f1']:.4f} | "
              f"{'-' if eps is None else f'{eps:.2f}'} | {time.perf_counter() - t0:.0f} |", flush=True)
        key = mode.replace(":", "_").replace("-", "_")
        figures.update({f"{key}_accuracy": round(final["accuracy"], 4), f"{key}_macro_f1": round(final["macro_f1"], 4)})
    from fedflm.report.benchtable import emit_bench

    emit_bench(figures, args.record, "long_text", time.perf_counter() - t_all, "simulations/bench_long_text.py",
               sys.argv[1:], os.environ.get("FEDFLM_BENCH_QUICK") == "1")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
