"""Benchmark: de-identification recall / precision per entity type, on text it was not tuned on.

(a) fedflm's generator (fedflm/protect/deid_synth.py: Faker values in 26 locales, our
    evaluation templates) with EVERY record in three case variants (as written, all
    lower, all upper) and person names drawn ONLY from held-out lists: the names of
    8 Faker locales that neither the name lexicon nor the learned model's training
    data contain, minus any token that is in the lexicon.
(b) an outside benchmark we did not write: presidio-research's synthetic data set v2
    (MIT, simulations/data/), scored on its own labels. Its 209 templates are split by a
    fixed seed (``presidio_split``): records of a third of them are the dev part that rule
    changes may be judged on (simulations/tune_deid.py); the REPORTED figure is the other
    978 records, whose templates were never used for development. The full 1,500 are
    printed too, labelled, for comparison with figures before the split.
(c) real text with no PII labelled: records changed per 1,000 on the built-in SST-2
    dev and Banking77 test copies (every change is a false positive or a real name). SST-2
    dev is also split by hand labels (simulations/data/sst2_dev_person_labels.tsv: does the
    changed row name a real person, only a fictional character, or nobody?).

Scoring (fedflm/protect/deid_synth.py:score): a value counts as recalled only if ALL its
letters and digits are masked (by a span of any type); precision of a type = share of
masked spans of that type that overlap a labelled value of that type.
Throughput: records / CPU seconds of this single-threaded process (one core).

    python simulations/bench_deid.py [--engine learned|patterns|spacy] [--n 1000] [--seed 11]

Prints tables and ``BENCH_JSON {...}`` last.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import random
import time

from deid_bench_setup import ROOT  # first: one thread per library, offline, the repository on sys.path

from fedflm.protect.deid import ENGINES, HIGH_RISK, DeidConfig, Deidentifier, Span  # noqa: E402
from fedflm.protect.deid_lexicon import HELDOUT_LOCALES, build_lexicon, heldout_names  # noqa: E402
from fedflm.protect.deid_synth import LOCALES, Gold, Record, case_variants, generate, score  # noqa: E402

BUILTIN = ROOT / "fedflm" / "data" / "builtin"
PRESIDIO = ROOT / "simulations" / "data" / "presidio_synth_dataset_v2.json.gz"
SST2_LABELS = ROOT / "simulations" / "data" / "sst2_dev_person_labels.tsv"
GOALS = {"high_risk_recall_heldout": 0.97, "person_recall_lower": 0.95, "outside_high_risk_recall": 0.90,
         "precision": 0.95, "real_changed_per_1000": 5.0, "records_s_core": 300.0}
_PRESIDIO_TYPES = set(HIGH_RISK) | {"DATE_TIME"}
PRESIDIO_SPLIT_SEED = 18


def run(deid: Deidentifier, texts: list[str]) -> tuple[list[list[Span]], float]:
    """Spans per text and CPU seconds, through the batched path ``prepare`` uses."""
    c0 = time.process_time()
    spans = deid.analyze_batch(texts)
    return spans, time.process_time() - c0


def pooled(table: dict, kinds) -> tuple[float, float]:
    """Recall and precision pooled over ``kinds`` (micro average)."""
    sup = sum(table[k]["support"] for k in kinds if k in table)
    hit = sum(table[k]["recall"] * table[k]["support"] for k in kinds if k in table and table[k]["support"])
    pred = sum(table[k]["predicted"] for k in kinds if k in table)
    tp = sum(table[k]["precision"] * table[k]["predicted"] for k in kinds if k in table and table[k]["predicted"])
    return hit / sup if sup else float("nan"), tp / pred if pred else float("nan")


def print_table(title: str, table: dict) -> None:
    print(f"\n{title}")
    print(f"| {'entity':16s} | {'support':>7s} | {'recall':>6s} | {'precision':>9s} | high-risk |")
    print(f"|{'-' * 18}|{'-' * 9}|{'-' * 8}|{'-' * 11}|-----------|")
    for kind, row in table.items():
        if row["support"] or row["predicted"]:
            mark = "yes" if kind in HIGH_RISK else ""
            print(f"| {kind:16s} | {row['support']:7d} | {row['recall']:6.3f} | {row['precision']:9.3f} | {mark:9s} |")
    rec, prec = pooled(table, HIGH_RISK)
    print(f"| {'ALL HIGH-RISK':16s} | {sum(table[k]['support'] for k in HIGH_RISK if k in table):7d} | "
          f"{rec:6.3f} | {prec:9.3f} |           |")


def heldout_eval(deid: Deidentifier, n: int, seed: int, result: dict) -> float:
    names = heldout_names(build_lexicon())
    records = generate(n, seed=seed, locales=LOCALES, names=names)
    cpu_total, all_recs, all_spans, tables = 0.0, [], [], {}
    for variant, recs in case_variants(records).items():
        spans, cpu = run(deid, [r.text for r in recs])
        cpu_total += cpu
        all_recs += recs
        all_spans += spans
        tables[variant] = score(recs, spans)
    table = score(all_recs, all_spans)
    print_table(f"(a) generator, {n} records x 3 case variants, names from held-out lists "
                f"({len(names[0])} given names, {len(names[1])} surnames of {', '.join(HELDOUT_LOCALES)})", table)
    for variant, t in tables.items():
        rec, prec = pooled(t, HIGH_RISK)
        print(f"    {variant:10s}: high-risk recall {rec:.3f}, precision {prec:.3f}, "
              f"person recall {t['PERSON']['recall']:.3f}")
        result[f"a_{variant.replace(' ', '_')}_high_risk_recall"] = rec
        result[f"a_{variant.replace(' ', '_')}_person_recall"] = t["PERSON"]["recall"]
    rec, prec = pooled(table, HIGH_RISK)
    result.update(high_risk_recall_heldout=rec, precision_heldout=prec,
                  person_recall_lower=tables["lower"]["PERSON"]["recall"])
    for kind, row in table.items():
        result[f"a_recall_{kind}"], result[f"a_precision_{kind}"] = row["recall"], row["precision"]
    return len(all_recs) / cpu_total


def presidio_split(seed: int = PRESIDIO_SPLIT_SEED) -> tuple[list[int], list[int]]:
    """(dev, held-out) record indices of the presidio-research set, split by TEMPLATE.

    A fixed seed draws a third of the data set's templates (``template_id``) as the dev part;
    rule changes may be judged on dev records (``simulations/tune_deid.py --presidio-dev``), and
    only the held-out part, whose templates dev never shows, is reported as the outside figure.
    """
    with gzip.open(PRESIDIO, "rt", encoding="utf-8") as fh:
        templates = [d["template_id"] for d in json.load(fh)]
    ids = sorted(set(templates))
    dev = set(random.Random(seed).sample(ids, len(ids) // 3))
    return ([i for i, t in enumerate(templates) if t in dev],
            [i for i, t in enumerate(templates) if t not in dev])


def presidio_records() -> list[Record]:
    with gzip.open(PRESIDIO, "rt", encoding="utf-8") as fh:
        data = json.load(fh)
    return [Record(d["full_text"], tuple(Gold(s["start_position"], s["end_position"], s["entity_type"])
                                         for s in d["spans"] if s["entity_type"] in _PRESIDIO_TYPES), "en")
            for d in data]


def presidio_all_labels() -> list[list[tuple[int, int, str]]]:
    """Every labelled span of every record, of any type (ORGANIZATION, GPE, TITLE, ZIP_CODE, ...)."""
    with gzip.open(PRESIDIO, "rt", encoding="utf-8") as fh:
        data = json.load(fh)
    return [[(s["start_position"], s["end_position"], s["entity_type"]) for s in d["spans"]] for d in data]


def false_positive_kinds(records: list[Record], spans: list[list[Span]], labels: list[list]) -> dict:
    """What each masked span that misses its own type's values overlaps, counted per (type, what):
    another scored type, a labelled entity the benchmark does not score (ORGANIZATION, GPE, ...),
    or nothing labelled at all (masked text the benchmark calls no entity)."""
    out: dict[str, int] = {}
    for rec, ss, labs in zip(records, spans, labels):
        for sp in ss:
            if any(g.entity == sp.entity and g.start < sp.end and sp.start < g.end for g in rec.gold):
                continue
            hits = sorted({t for s, e, t in labs if s < sp.end and sp.start < e})
            what = "+".join(hits) if hits else "nothing labelled"
            key = f"{sp.entity} over {what}"
            out[key] = out.get(key, 0) + 1
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def outside_eval(deid: Deidentifier, result: dict) -> None:
    """Scores the held-out templates (the reported figure) and, for comparison with sessions
    before the split, the whole set (labelled as such)."""
    records, labels = presidio_records(), presidio_all_labels()
    spans, _ = run(deid, [r.text for r in records])
    _, held = presidio_split()
    parts = {"held-out": held, "full set": list(range(len(records)))}
    for part, idx in parts.items():
        recs, sps = [records[i] for i in idx], [spans[i] for i in idx]
        table = score(recs, sps)
        print_table(f"(b) presidio-research synthetic data set v2, {part}: {len(recs)} records "
                    f"({'templates never used for development, ' if part == 'held-out' else 'incl. the dev templates, '}"
                    f"split seed {PRESIDIO_SPLIT_SEED}), its own labels", table)
        kinds = false_positive_kinds(recs, sps, [labels[i] for i in idx])
        unlabelled = sum(n for k, n in kinds.items() if k.endswith("nothing labelled"))
        print(f"    masked spans that miss a value of their own type, by what they overlap: {kinds}")
        print(f"    masked spans overlapping no labelled entity of any type: {unlabelled} of {sum(len(s) for s in sps)}")
        key = "b" if part == "held-out" else "b_full"
        result[f"{key}_spans_over_nothing_labelled"] = unlabelled
        rec, prec = pooled(table, HIGH_RISK)
        if part == "held-out":
            result.update(outside_high_risk_recall=rec, outside_precision=prec)
        else:
            result.update(outside_full_high_risk_recall=rec, outside_full_precision=prec)
        for kind, row in table.items():
            result[f"{key}_recall_{kind}"], result[f"{key}_precision_{kind}"] = row["recall"], row["precision"]


def real_texts() -> dict[str, list[str]]:
    with gzip.open(BUILTIN / "banking77_test.csv.gz", "rt", encoding="utf-8") as fh:
        bank = [r["text"] for r in csv.DictReader(fh)]
    with gzip.open(BUILTIN / "sst2_dev.tsv.gz", "rt", encoding="utf-8") as fh:
        sst = [line.split("\t")[0] for line in fh.read().splitlines()[1:]]
    return {"banking77 test": bank, "sst2 dev": sst}


def sst2_person_labels() -> dict[int, tuple[str, str]]:
    """Hand labels of SST-2 dev rows (row -> (label, start of its text)), see the file's header."""
    out = {}
    for line in SST2_LABELS.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            row, label, start = line.split("\t")
            out[int(row)] = (label, start)
    return out


def sst2_by_label(texts: list[str], spans: list[list[Span]], result: dict) -> None:
    """Changed SST-2 dev rows split by the hand labels: the goal says "real text with no PII", yet
    SST-2 reviews name real actors and directors, whose names the de-identifier is meant to mask."""
    labels = sst2_person_labels()
    counts: dict[str, int] = {}
    for i, (text, ss) in enumerate(zip(texts, spans)):
        if ss:
            label, start = labels.get(i, ("unlabelled", ""))
            if start and not text.startswith(start):
                raise SystemExit(f"{SST2_LABELS.name}: row {i} does not start with {start!r}")
            counts[label] = counts.get(label, 0) + 1
    n = len(texts)
    no_real = sum(v for k, v in counts.items() if k != "real")
    no_person = counts.get("none", 0) + counts.get("unlabelled", 0)
    print(f"    sst2 dev changed rows by hand label ({SST2_LABELS.name}): {counts}")
    print(f"    sst2 dev changed rows naming NO real person: {1000 * no_real / n:.1f} per 1,000 ({no_real}); "
          f"naming no person at all (not even a fictional character): {1000 * no_person / n:.1f} per 1,000 "
          f"({no_person}); unlabelled rows count as no person")
    result.update(c_sst2_dev_no_real_person_changed_per_1000=1000 * no_real / n,
                  c_sst2_dev_no_person_changed_per_1000=1000 * no_person / n,
                  c_sst2_dev_unlabelled_changed=counts.get("unlabelled", 0))


def real_eval(deid: Deidentifier, result: dict) -> None:
    total = changed_total = 0
    print("\n(c) real text, no PII labelled: records changed per 1,000")
    for name, texts in real_texts().items():
        spans, _ = run(deid, texts)
        changed = sum(bool(s) for s in spans)
        kinds: dict[str, int] = {}
        for ss in spans:
            for sp in ss:
                kinds[sp.entity] = kinds.get(sp.entity, 0) + 1
        print(f"    {name:15s}: {1000 * changed / len(texts):5.1f} per 1,000 ({changed} of {len(texts)}; "
              f"spans by type {kinds})")
        result[f"c_{name.replace(' ', '_')}_changed_per_1000"] = 1000 * changed / len(texts)
        if name == "sst2 dev":
            sst2_by_label(texts, spans, result)
        total, changed_total = total + len(texts), changed_total + changed
    result["real_changed_per_1000"] = 1000 * changed_total / total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000, help="generated records (each in 3 case variants)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--engine", choices=ENGINES, default="learned")
    args = parser.parse_args()
    deid = Deidentifier(DeidConfig(engine=args.engine))
    run(deid, ["warm-up: My name is Maria Garcia, 12 Main Street."] * 20)
    result: dict = {"n": args.n, "seed": args.seed}
    result["records_s_core"] = heldout_eval(deid, args.n, args.seed, result)
    outside_eval(deid, result)
    real_eval(deid, result)
    met = {"high_risk_recall_heldout": result["high_risk_recall_heldout"] >= GOALS["high_risk_recall_heldout"],
           "person_recall_lower": result["person_recall_lower"] >= GOALS["person_recall_lower"],
           "outside_high_risk_recall": result["outside_high_risk_recall"] >= GOALS["outside_high_risk_recall"],
           "precision": min(result["precision_heldout"], result["outside_precision"]) >= GOALS["precision"],
           "real_changed_per_1000": result["real_changed_per_1000"] <= GOALS["real_changed_per_1000"],
           "records_s_core": result["records_s_core"] >= GOALS["records_s_core"]}
    print(f"\nthroughput: {result['records_s_core']:.0f} records/s on one core (engine {args.engine})")
    print("goals: " + ", ".join(f"{k} {'MET' if v else 'NOT met'} (goal {GOALS[k]})" for k, v in met.items()))
    print(f"note: real_changed_per_1000 counts every changed row, incl. SST-2 rows whose change is masking a real "
          f"person's name (the product's job); rows naming no real person: "
          f"{result['c_sst2_dev_no_real_person_changed_per_1000']:.1f} per 1,000 of SST-2 dev. Whether named real "
          f"people count against 'real text with no PII' is a wording question for the issue's author.")
    print("BENCH_JSON " + json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in result.items()
                                     if not (isinstance(v, float) and v != v)}))  # no NaN in JSON


if __name__ == "__main__":
    main()
