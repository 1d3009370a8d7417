"""Long texts (issue 22): truncate vs head-tail vs sliding windows on a late-signal document set.

    python simulations/bench_long_text.py --in-process --epsilon 8 0 --seeds 0 1 2   # the table
    python simulations/bench_long_text.py --modes truncate sliding:32:16:max --train-docs 200
    python simulations/bench_long_text.py ... --record simulations/results/bench/long-text.json

The set (:func:`late_signal_documents`, :func:`write_sets`): each document is filler texts until at
least ``--budget`` words, then the one text that carries the label, then 0 .. ``--fillers`` more
fillers. A word is at least one token, so the signal starts past the first ``--budget`` tokens and
truncation to the encoder budget never reads it. ``--signal banking77`` (default): the label is
the intent of one Banking77 query (the first ``--intents`` intents) among SST-2 sentences (movie
reviews); ``--signal sst2``: the sentiment of one SST-2 sentence among Banking77 queries. Owners'
documents come from the train splits, the server's from the test/dev splits, so no text is
shared. Head-tail reads a quarter of the budget from the start and the rest from the end (it sees
the signal when few fillers follow it); sliding windows of the budget every half budget read
all of it (``--max-length``, 256, is then the document budget).

Every run is fedflm's head mode with its defaults (round 1: DP prototypes, then DP-SGD on the head;
``--rounds`` rounds), ``--owners`` IID owners, sample-level DP at each ``--epsilon`` (0 = no DP),
for each ``--seeds`` (the set and the federation). ``--in-process`` runs it without Flower/Ray
(``simulations/imbalance_inprocess.py``), else each run is ``fedflm simulate``. Prints one row per
mode, DP setting and seed (accuracy and macro-F1 on the server's documents, epsilon spent), the
mean over seeds, and, last, ``BENCH_JSON {...}``; ``--record`` also writes it as a benchmark record.
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


def late_signal_documents(sentences: list[tuple[str, int]], fillers: list[str], per_doc: int, budget: int,
                          seed: int) -> list[tuple[str, int]]:
    """One document per sentence: filler texts until at least ``budget`` words, the sentence, then 0 ..
    ``per_doc`` more fillers. A word is at least one token, so the sentence starts past the first
    ``budget`` tokens: truncation to ``budget`` tokens never reads any of it."""
    rng = np.random.default_rng(seed)
    docs = []
    for text, label in sentences:
        head: list[str] = []
        while sum(len(t.split()) for t in head) < budget:
            head.append(fillers[int(rng.integers(len(fillers)))])
        tail = [fillers[int(i)] for i in rng.integers(len(fillers), size=int(rng.integers(0, per_doc + 1)))]
        docs.append((" ".join([*head, text, *tail]), label))
    return docs


def write_sets(folder: Path, train_docs: int, eval_docs: int, fillers: int, budget: int, seed: int,
               signal: str = "banking77", intents: int = 8) -> tuple[Path, Path]:
    """(train CSV, eval CSV) of the late-signal set. ``signal`` banking77: the label is the intent of
    one Banking77 query (of the first ``intents`` intents by label id) among SST-2 sentences (movie
    reviews: no banking topic); sst2: the label is one SST-2 sentence's sentiment among Banking77
    queries (no sentiment)."""
    from fedflm.data.load import load_builtin

    sst2, bank = load_builtin("sst2"), load_builtin("banking77")
    sig, noise = (bank, sst2) if signal == "banking77" else (sst2, bank)
    rng = np.random.default_rng(seed)
    paths = []
    for k, (name, split, filler, n) in enumerate((("train", sig.train, noise.train, train_docs),
                                                  ("eval", sig.eval, noise.eval, eval_docs))):
        if signal == "banking77":
            rows = [(t, int(y)) for t, y in zip(split["text"], split["label"]) if int(y) < intents]
            texts = [t for t in filler["text"] if len(t.split()) >= 8]  # SST-2 train holds phrases too
        else:  # SST-2 train holds phrases too: only sentences of 8+ words, like the dev set's
            rows = [(t, int(y)) for t, y in zip(split["text"], split["label"]) if len(t.split()) >= 8]
            texts = list(filler["text"])
        pick = rng.choice(len(rows), size=min(n, len(rows)), replace=False)
        docs = late_signal_documents([rows[int(i)] for i in pick], texts, fillers, budget, seed * 2 + k)
        path = folder / f"late-signal-{name}.csv"
        rows = ["text,label"] + [f'"{t.replace(chr(34), chr(39))}",{sig.label_names[y]}' for t, y in docs]
        path.write_text("\n".join(rows) + "\n", encoding="utf-8")
        paths.append(path)
    return paths[0], paths[1]


def cut_of(mode: str) -> str:
    """The windows a mode reads (``sliding:32:16:max`` and ``sliding:32:16:mean`` read the same)."""
    return ":".join(mode.split(":")[:3])


def run_flower(out: Path, base: dict, mode: str, budget: int, doc_budget: int) -> dict:
    """One ``fedflm simulate`` federation: its final row from summary.json."""
    import fedflm

    max_length = doc_budget if mode.startswith("sliding") else budget
    cfg = {**base, "long_text": mode, "max_length": max_length, "out": str(out / mode.replace(":", "-"))}
    result = fedflm.simulate(cfg)
    return json.loads((result.run_dir / "summary.json").read_text())["final"]


def run_in_process(out: Path, base: dict, modes: list[str], dps: list[dict], budget: int,
                   doc_budget: int) -> dict[tuple[str, str], dict]:
    """Every (mode, DP setting) in one process (simulations/imbalance_inprocess.py): the frozen
    features of each cut computed once and shared by its pools and DP settings."""
    from dataclasses import replace

    from imbalance_inprocess import Federation

    from fedflm.config import RunConfig

    results: dict[tuple[str, str], dict] = {}
    for cut in dict.fromkeys(cut_of(m) for m in modes):
        max_length = doc_budget if cut.startswith("sliding") else budget
        flat = {**base, "long_text": cut, "max_length": max_length, "out": str(out / cut.replace(":", "-"))}
        fed = Federation(RunConfig.from_flat({**flat, **dps[0]}))
        for mode in (m for m in modes if cut_of(m) == cut):
            if fed.eval_data.sliding is not None:  # the pool only decides how evaluation joins windows
                fed.eval_data.sliding = replace(fed.eval_data.sliding, pool=mode.split(":")[3] if
                                                mode.count(":") == 3 else "mean")
            for dp in dps:
                run = RunConfig.from_flat({**flat, **dp})
                metrics, _, eps = fed.run(run)
                results[(mode, dp_name(dp))] = {**metrics, "epsilon_max": eps if dp["dp"] == "sample" else None}
    return results


def dp_name(dp: dict) -> str:
    return f"eps{dp['epsilon']:g}" if dp["dp"] == "sample" else "nodp"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--modes", nargs="+", default=["truncate", "head-tail", "sliding:32:16:mean", "sliding:32:16:max"])
    parser.add_argument("--budget", type=int, default=32, help="the encoder's tokens per row (truncate, head-tail)")
    parser.add_argument("--max-length", type=int, default=256, help="the document budget of sliding windows")
    parser.add_argument("--fillers", type=int, default=2, help="at most this many Banking77 queries after the sentence")
    parser.add_argument("--signal", choices=["banking77", "sst2"], default="banking77",
                        help="banking77: a query's intent among movie-review sentences; sst2: a review's "
                             "sentiment among banking queries")
    parser.add_argument("--intents", type=int, default=8, help="banking77 signal: the first N intents")
    parser.add_argument("--train-docs", type=int, default=600)
    parser.add_argument("--eval-docs", type=int, default=300)
    parser.add_argument("--owners", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epsilon", type=float, nargs="+", default=[8.0], help="per owner; 0 = no DP")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--out", type=Path, default=None, help="folder of the run directories (default: temporary)")
    parser.add_argument("--in-process", action="store_true",
                        help="the head-mode federation without Flower/Ray (simulations/imbalance_inprocess.py), "
                             "for a machine too loaded for Ray; every mode and epsilon shares one feature cache")
    parser.add_argument("--record", type=Path, default=None, help="also write the figures as a benchmark record")
    args = parser.parse_args(argv)
    if os.environ.get("FEDFLM_BENCH_QUICK") == "1":  # bench_all.py --quick
        args.train_docs, args.eval_docs, args.rounds, args.seeds = 200, 100, 2, args.seeds[:1]
    out = args.out or Path(tempfile.mkdtemp(prefix="bench-long-text-"))
    dps = [{"dp": "sample", "epsilon": e} if e > 0 else {"dp": "none"} for e in args.epsilon]
    figures: dict[str, float | int | str] = {"train_docs": args.train_docs, "eval_docs": args.eval_docs,
                                             "owners": args.owners, "rounds": args.rounds,
                                             "epsilon": " ".join(f"{e:g}" for e in args.epsilon),
                                             "seeds": " ".join(map(str, args.seeds)),
                                             "budget": args.budget, "fillers": args.fillers,
                                             "signal": args.signal, "intents": args.intents,
                                             "engine": "in-process" if args.in_process else "flower"}
    what = (f"SST-2 sentences up to {args.budget}+ words, then 1 Banking77 query (label: its intent, "
            f"{args.intents} intents)" if args.signal == "banking77" else
            f"Banking77 queries up to {args.budget}+ words, then 1 SST-2 sentence (label: its sentiment)")
    print(f"late-signal documents: {what} past the first {args.budget} tokens, then 0-{args.fillers} more "
          f"fillers; {args.train_docs} train / {args.eval_docs} "
          f"eval documents, {args.owners} owners, {args.rounds} rounds, encoder budget {args.budget}; runs in {out}")
    print("| long text | DP | seed | accuracy | macro-F1 | epsilon |")
    print("|---|---|---|---|---|---|")
    t_all = time.perf_counter()
    acc: dict[tuple[str, str], list[float]] = {}
    for seed in args.seeds:
        folder = out / f"seed{seed}"
        folder.mkdir(parents=True, exist_ok=True)
        train, test = write_sets(folder, args.train_docs, args.eval_docs, args.fillers, args.budget, seed,
                                 args.signal, args.intents)
        base = {"dataset": str(train), "eval_file": str(test), "clients": args.owners, "partition": "iid",
                "rounds": args.rounds, "model": args.model, "seed": seed}
        if args.in_process:
            results = run_in_process(folder, base, args.modes, dps, args.budget, args.max_length)
        else:
            results = {(m, dp_name(dp)): run_flower(folder / dp_name(dp), {**base, **dp}, m, args.budget,
                                                     args.max_length) for dp in dps for m in args.modes}
        for (mode, dpn), final in results.items():
            eps = final.get("epsilon_max")
            print(f"| {mode} | {dpn} | {seed} | {final['accuracy']:.4f} | {final['macro_f1']:.4f} | "
                  f"{'-' if eps is None else f'{eps:.2f}'} |", flush=True)
            acc.setdefault((mode, dpn), []).append(final["accuracy"])
            key = f"{mode.replace(':', '_').replace('-', '_')}_{dpn}_seed{seed}"
            figures.update({f"{key}_accuracy": round(final["accuracy"], 4),
                            f"{key}_macro_f1": round(final["macro_f1"], 4)})
    print("\n| long text | DP | accuracy, mean over seeds | min | max |\n|---|---|---|---|---|")
    for (mode, dpn), a in acc.items():
        print(f"| {mode} | {dpn} | {np.mean(a):.4f} | {min(a):.4f} | {max(a):.4f} |")
        figures[f"{mode.replace(':', '_').replace('-', '_')}_{dpn}_mean_accuracy"] = round(float(np.mean(a)), 4)
    from fedflm.report.benchtable import emit_bench

    emit_bench(figures, args.record, "long_text", time.perf_counter() - t_all, "simulations/bench_long_text.py",
               sys.argv[1:], os.environ.get("FEDFLM_BENCH_QUICK") == "1")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
