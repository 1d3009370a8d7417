"""Benchmark: de-identification recall / precision per entity type and records/s.

Evaluation set: records generated with Faker (values from Faker's providers in
26 locales and several formats; fedflm writes only the carrier sentences), see
fedflm/data/deid_synth.py for the scoring rule (a value counts as recalled only
if ALL its letters and digits are masked).

Also reported:
* person recall on names from 8 locales whose names were REMOVED from the
  lexicon (the lexicon comes from Faker too, so this estimates unseen names);
* stock Presidio (NoOp NLP engine, its predefined recognizers) on the same set;
* false positives on real text: records changed per 1,000 in Banking77 test +
  SST-2 dev (only if ../shared/data exists; nothing there is PII-labelled, so
  every change is a false positive or a real name);
* records/s per core = records / CPU seconds of this single-threaded process.

    python simulations/bench_deid.py [--n 3000] [--seed 11] [--engine patterns|spacy] [--no-baseline]

Prints tables and ``BENCH_JSON {...}`` last.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from fedflm.data.deid import HIGH_RISK, DeidConfig, Deidentifier, Span, _merge  # noqa: E402
from fedflm.data.deid_synth import HELDOUT_LOCALES, LOCALES, generate, score  # noqa: E402

TARGET_RECALL = 0.95
TARGET_RPS = 500.0
SHARED = ROOT.parent / "shared" / "data"


def run(deid: Deidentifier, texts: list[str]) -> tuple[list[list[Span]], float]:
    """Spans per text and CPU seconds, using the batched path prepare uses."""
    c0 = time.process_time()
    if deid._nlp is not None:
        ner = [deid._ner(d) for d in deid._nlp.pipe(texts, batch_size=256)]
        spans = [deid.analyze(t, n) for t, n in zip(texts, ner)]
    else:
        spans = [deid.analyze(t) for t in texts]
    return spans, time.process_time() - c0


def stock_presidio(texts: list[str]) -> list[list[Span]]:
    """Presidio as shipped: AnalyzerEngine + NoOp NLP engine + its predefined recognizers."""
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NoOpNlpEngine
    engine = AnalyzerEngine(nlp_engine=NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "none"}]),
                            supported_languages=["en"])
    out = []
    for t in texts:
        res = engine.analyze(t, language="en", score_threshold=0.4)
        out.append(_merge([Span(r.start, r.end, r.entity_type, r.score) for r in res]))
    return out


def real_text_changes(deid: Deidentifier) -> dict[str, float]:
    rows: list[str] = []
    bank = SHARED / "banking77" / "test.csv"
    sst = SHARED / "sst2" / "dev.tsv"
    if bank.exists():
        with bank.open(encoding="utf-8") as fh:
            rows += [r["text"] for r in csv.DictReader(fh)]
    if sst.exists():
        rows += [line.split("\t")[0] for line in sst.read_text(encoding="utf-8").splitlines()[1:]]
    if not rows:
        return {}
    spans, cpu = run(deid, rows)
    changed = sum(bool(s) for s in spans)
    return {"real_records": len(rows), "real_changed_per_1000": 1000 * changed / len(rows),
            "real_records_s_core": len(rows) / cpu}


def print_table(title: str, table: dict[str, dict[str, float]]) -> None:
    print(f"\n{title}")
    print(f"| {'entity':16s} | {'support':>7s} | {'recall':>6s} | {'precision':>9s} | high-risk |")
    print(f"|{'-' * 18}|{'-' * 9}|{'-' * 8}|{'-' * 11}|-----------|")
    for kind, row in table.items():
        if row["support"] == 0:
            continue
        mark = "yes" if kind in HIGH_RISK else ""
        flag = " <" if kind in HIGH_RISK and row["recall"] < TARGET_RECALL else ""
        print(f"| {kind:16s} | {row['support']:7d} | {row['recall']:6.3f} | {row['precision']:9.3f} | "
              f"{mark:9s} |{flag}")


def main() -> None:
    quick = os.environ.get("FEDFLM_BENCH_QUICK") == "1"
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=600 if quick else 3000, help="generated records")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--engine", choices=("patterns", "spacy"), default="patterns")
    parser.add_argument("--no-baseline", action="store_true", help="skip stock Presidio")
    args = parser.parse_args()

    records = generate(args.n, seed=args.seed, locales=LOCALES)
    texts = [r.text for r in records]
    deid = Deidentifier(DeidConfig(engine=args.engine))
    run(deid, texts[:50])  # warm-up
    spans, cpu = run(deid, texts)
    table = score(records, spans)
    rps = len(texts) / cpu
    print(f"fedflm de-identification, engine={args.engine}, {len(texts)} Faker records "
          f"({len(LOCALES)} locales), seed {args.seed}")
    print_table("recall = share of values fully masked; precision = masked spans of that type on a value "
                "of that type", table)
    print(f"\nthroughput: {rps:.0f} records/s per core (target >= {TARGET_RPS:.0f})")

    held = generate(max(200, args.n // 5), seed=args.seed + 1, locales=HELDOUT_LOCALES, kinds=("PERSON",))
    unseen = Deidentifier(DeidConfig(engine=args.engine, lexicon_exclude_locales=HELDOUT_LOCALES))
    held_table = score(held, run(unseen, [r.text for r in held])[0])
    person_unseen = held_table["PERSON"]["recall"]
    print(f"person recall on names from {len(HELDOUT_LOCALES)} locales left out of the lexicon: "
          f"{person_unseen:.3f} ({held_table['PERSON']['support']} names)")

    result: dict[str, float] = {"records": len(texts), "records_s_core": rps, "person_recall_unseen": person_unseen}
    for kind, row in table.items():
        result[f"recall_{kind}"] = row["recall"]
        result[f"precision_{kind}"] = row["precision"]
    result["min_high_risk_recall"] = min(table[k]["recall"] for k in HIGH_RISK if k in table)
    real = real_text_changes(deid)
    if real:
        print(f"real text (Banking77 test + SST-2 dev, {real['real_records']} records): "
              f"{real['real_changed_per_1000']:.1f} changed per 1,000 (false positives or real names), "
              f"{real['real_records_s_core']:.0f} records/s per core")
        result.update(real)
    if not args.no_baseline:
        base = score(records, stock_presidio(texts))
        print_table("stock Presidio (NoOp NLP engine, predefined recognizers) on the same records", base)
        for kind in HIGH_RISK:
            if kind in base:
                result[f"presidio_recall_{kind}"] = base[kind]["recall"]
    print("BENCH_JSON " + json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in result.items()}))


if __name__ == "__main__":
    main()
