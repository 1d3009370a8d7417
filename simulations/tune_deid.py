"""Tuning split for the de-identifier: what rule changes are judged on, never bench_deid's sets.

* Negatives: ``--rows`` full sentences (>= 15 words) drawn from the built-in SST-2 *train*
  split. The detector's vocabulary (:func:`fedflm.protect.deid_lexicon.common_vocab`) is
  rebuilt WITHOUT every train row contained in them (SST-2 train also holds each sentence's
  phrases), so their rare words are as unseen as a dev sentence's would be.
  Prints records changed per 1,000 and spans per detector type. Likewise ``--bank`` Banking77
  *train* messages (as written and all lower case), left out of the vocabulary the same way.
* Positives: our generator (``deid_synth``) with held-out names, seed ``--seed`` (the
  benchmark uses seed 11), every record in three case variants: recall per type, and records
  per CPU second (one core).
* ``--distractors N``: N person-free bank / support sentences holding a Faker company, city,
  country or state (``deid_synth.distractors``, seed ``--seed``), in the three case variants: spans
  per type and values masked per 1,000 (by kind; any masked span over the value counts).
* ``--adjacent N``: N bank / support sentences in which a person stands next to a company, a city or
  state, a legal-form word, a venue noun, a quotation, a place prefix, a compass word or in a surname
  list (:mod:`simulations.deid_adjacent`, seed ``--seed``), in the three case variants: person recall
  per template kind and per case (the recall side of the company / place rules).
* ``--lone N``: N bank / support sentences naming one person by one word, a given name (dictionary words
  such as ``anna`` included) or a surname, after a relation, contact or payee cue or opening a sentence
  before a verb (:data:`simulations.deid_adjacent.LONE_TEMPLATES`, seed ``--seed``), in the three case
  variants: person recall per kind and case.
* ``--presidio-dev``: the dev part of presidio-research's set (the templates bench_deid.py's
  split gives to development; never its held-out part): high-risk and person recall/precision.
* ``--recombined N``: N records refilled from the dev part of presidio-research's set: its templates with
  values of other dev records (:mod:`simulations.deid_recombine`, seed ``--seed``): high-risk, person and
  address recall / precision and what the false spans overlap; ``--recombined-dump FILE`` writes the false
  and missed spans with their records (scratch).
* ``--dump FILE``: writes each changed SST-2 row (index, text, masked spans and the rules that found
  each: :func:`simulations.deid_sources.sources`) to FILE, for hand-labelling; a scratch file
  (``/tmp``), never committed. ``--sample-seed`` / ``--skip`` draw another, disjoint sample: the
  first ``--skip`` rows of the seed's shuffle are left out (``--rows 2000 --skip 800`` is disjoint
  from the default 800).

    python simulations/tune_deid.py [--rows 800] [--bank 2000] [--n 300] [--seed 101] [--presidio-dev]
                                    [--distractors 1000] [--adjacent 800] [--lone 800] [--recombined 3000] [--dump /tmp/changed.tsv]
                                    [--sample-seed 0] [--skip 0]

Prints a summary and ``TUNE_JSON {...}`` last; never prints the texts (only ``--dump`` writes them).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from fedflm.protect.deid import HIGH_RISK, DeidConfig, Deidentifier  # noqa: E402
from fedflm.protect.deid_case import lower  # noqa: E402
from fedflm.protect.deid_dictionary import is_ordinary  # noqa: E402
from fedflm.protect.deid_lexicon import build_lexicon, common_vocab, heldout_names  # noqa: E402
from fedflm.protect.deid_synth import (DISTRACTOR_KINDS, LOCALES, case_variants, distractors, generate,  # noqa: E402
                                      score)

BUILTIN = ROOT / "fedflm" / "data" / "builtin"


def tuning_rows(n: int, seed: int = 0, skip: int = 0) -> tuple[list[str], frozenset[str]]:
    """``n`` long SST-2 train sentences and every train row contained in one of them; ``skip``: none of
    the ``skip`` sentences the seed draws first (the default sample when ``skip`` is its size)."""
    with gzip.open(BUILTIN / "sst2_train.tsv.gz", "rt", encoding="utf-8") as fh:
        rows = [line.split("\t")[0] for line in fh.read().splitlines()[1:]]
    long = sorted({r for r in rows if len(r.split()) >= 15})
    taken = set(random.Random(seed).sample(long, skip)) if skip else set()
    chosen = random.Random(seed).sample([r for r in long if r not in taken], n)
    joined = "\n".join(chosen)
    return chosen, frozenset(r for r in set(rows) if r in joined)


def bank_rows(n: int, seed: int = 0) -> list[str]:
    """``n`` distinct Banking77 *train* messages."""
    with gzip.open(BUILTIN / "banking77_train.csv.gz", "rt", encoding="utf-8") as fh:
        rows = sorted({r["text"] for r in csv.DictReader(fh)})
    return random.Random(seed).sample(rows, n)


def _changed(deid: Deidentifier, name: str, texts: list[str], note: str = "", dump: str = "") -> float:
    spans = deid.analyze_batch(texts)
    if dump:
        from simulations.deid_sources import dump_changed
        dump_changed(deid, texts, spans, dump)
    kinds = Counter(sp.entity for ss in spans for sp in ss)
    changed = 1000 * sum(bool(s) for s in spans) / len(texts)
    print(f"negatives: {len(texts)} {name}{note}: {changed:.1f} changed per 1,000; spans {dict(kinds)}")
    return changed


def negatives(engine: str, rows: int, bank: int, seed: int = 0, skip: int = 0, dump: str = "") -> dict:
    texts, held_out = tuning_rows(rows, seed, skip)
    deid = Deidentifier(DeidConfig(engine=engine), vocab=common_vocab(held_out=held_out))
    out = {"tune_sst2_changed_per_1000": _changed(
        deid, "SST-2 train sentences", texts, f" held out of the vocabulary ({len(held_out)} train rows left out)",
        dump)}
    if bank:
        msgs = bank_rows(bank)
        deid = Deidentifier(DeidConfig(engine=engine), vocab=common_vocab(held_out=frozenset(msgs)))
        out["tune_bank_changed_per_1000"] = _changed(deid, "Banking77 train messages held out of the vocabulary", msgs)
        out["tune_bank_lower_changed_per_1000"] = _changed(deid, "Banking77 train messages, all lower case",
                                                           [lower(t) for t in msgs])
    return out


def presidio_dev(engine: str) -> dict:
    """High-risk and person recall / precision on the dev templates of presidio-research's set."""
    from simulations.bench_deid import pooled, presidio_records, presidio_split

    dev, _ = presidio_split()
    records = presidio_records()
    recs = [records[i] for i in dev]
    table = score(recs, Deidentifier(DeidConfig(engine=engine)).analyze_batch([r.text for r in recs]))
    rec, prec = pooled(table, HIGH_RISK)
    print(f"presidio dev part: {len(recs)} records, high-risk recall {rec:.4f}, precision {prec:.4f}; person "
          f"recall {table['PERSON']['recall']:.4f}, precision {table['PERSON']['precision']:.4f}")
    return {"tune_presidio_dev_high_risk_recall": rec, "tune_presidio_dev_precision": prec,
            "tune_presidio_dev_person_recall": table["PERSON"]["recall"],
            "tune_presidio_dev_person_precision": table["PERSON"]["precision"]}


def presidio_recombined(engine: str, n: int, seed: int, dump: str = "") -> dict:
    """High-risk and person recall / precision on N records refilled from the dev part
    (:mod:`simulations.deid_recombine`), and what the false spans overlap."""
    from simulations.bench_deid import PRESIDIO, _PRESIDIO_TYPES, false_positive_kinds, pooled, presidio_split
    from simulations.deid_recombine import recombined

    records, labels = recombined(PRESIDIO, presidio_split()[0], n, seed, frozenset(_PRESIDIO_TYPES))
    spans = Deidentifier(DeidConfig(engine=engine)).analyze_batch([r.text for r in records])
    table = score(records, spans)
    rec, prec = pooled(table, HIGH_RISK)
    kinds = false_positive_kinds(records, spans, labels)
    print(f"presidio dev recombined: {n} records (seed {seed}), high-risk recall {rec:.4f}, precision {prec:.4f}; "
          f"person recall {table['PERSON']['recall']:.4f}, precision {table['PERSON']['precision']:.4f}; "
          f"address recall {table['STREET_ADDRESS']['recall']:.4f}, precision "
          f"{table['STREET_ADDRESS']['precision']:.4f}\n    false spans by what they overlap: {kinds}")
    if dump:
        _dump_false_spans(dump, records, spans, labels)
    return {"tune_recombined_high_risk_recall": rec, "tune_recombined_precision": prec,
            "tune_recombined_person_recall": table["PERSON"]["recall"],
            "tune_recombined_person_precision": table["PERSON"]["precision"],
            "tune_recombined_address_precision": table["STREET_ADDRESS"]["precision"],
            "tune_recombined_false_spans": sum(kinds.values())}


def _dump_false_spans(path: str, records, spans, labels) -> None:
    """Each masked span of a recombined record that misses its own type's values, and each missed
    high-risk value, with the record (dev-part values only; a scratch file)."""
    with open(path, "w", encoding="utf-8") as fh:
        for i, (rec, ss, labs) in enumerate(zip(records, spans, labels)):
            for sp in ss:
                if not any(g.entity == sp.entity and g.start < sp.end and sp.start < g.end for g in rec.gold):
                    over = [t for s, e, t in labs if s < sp.end and sp.start < e]
                    fh.write(f"FP\t{i}\t{sp.entity}\t{rec.text[sp.start:sp.end]!r}\t{over}\t{rec.text!r}\n")
            for g in rec.gold:
                if g.entity in HIGH_RISK and not any(sp.entity == g.entity and sp.start < g.end and g.start < sp.end
                                                     for sp in ss):
                    fh.write(f"FN\t{i}\t{g.entity}\t{rec.text[g.start:g.end]!r}\t\t{rec.text!r}\n")


def distractor_figures(engine: str, n: int, seed: int) -> dict:
    """Company and place values masked per 1,000 (by kind and case variant) in person-free sentences."""
    deid = Deidentifier(DeidConfig(engine=engine))
    out = {}
    for variant, recs in case_variants(distractors(n, seed=seed)).items():
        spans = deid.analyze_batch([r.text for r in recs])
        kinds = Counter(sp.entity for ss in spans for sp in ss)
        masked, total = Counter(), Counter()
        for rec, ss in zip(recs, spans):
            g = rec.gold[0]
            total[g.entity] += 1
            masked[g.entity] += any(sp.start < g.end and g.start < sp.end for sp in ss)
        key = variant.replace(" ", "_")
        rates = {k: 1000 * masked[k] / total[k] for k in DISTRACTOR_KINDS}
        out.update({f"tune_distractors_{key}_{k}_masked_per_1000": v for k, v in rates.items()})
        out[f"tune_distractors_{key}_person_spans"] = kinds["PERSON"]
        print(f"distractors {variant:10s}: {len(recs)} sentences; masked per 1,000: "
              + ", ".join(f"{k} {v:.1f}" for k, v in rates.items()) + f"; spans {dict(kinds)}")
    return out


def adjacent_figures(engine: str, n: int, seed: int, lone_names: bool = False) -> dict:
    """Person recall (all persons of a record masked) per template kind and case variant, on the
    adjacency sentences or (``lone_names``) the one-word names of :func:`simulations.deid_adjacent.lone`."""
    from simulations.deid_adjacent import ADJACENT_TEMPLATES, LONE_TEMPLATES, adjacent, lone

    lexicon = build_lexicon()
    known = tuple(sorted(w.capitalize() for w in ws if w.isalpha() and not is_ordinary(w))
                  for ws in (lexicon.first, lexicon.last))
    if lone_names:
        name, templates = "lone", LONE_TEMPLATES
        records = lone(n, seed, heldout_names(lexicon), tuple(sorted(w.capitalize() for w in ws if w.isalpha())
                                                              for ws in (lexicon.first, lexicon.last)))
    else:
        name, templates = "adjacent", ADJACENT_TEMPLATES
        records = adjacent(n, seed, heldout_names(lexicon), known, LOCALES)
    deid = Deidentifier(DeidConfig(engine=engine))
    out = {}
    for variant, recs in case_variants(records).items():
        spans = deid.analyze_batch([r.text for r in recs])
        hit, total = Counter(), Counter()
        for rec, ss in zip(recs, spans):
            kind = rec.locale.split("/")[0]
            total[kind] += 1
            hit[kind] += score([rec], [ss])["PERSON"]["recall"] == 1.0
        key = variant.replace(" ", "_")
        out[f"tune_{name}_{key}_person_recall"] = sum(hit.values()) / sum(total.values())
        out.update({f"tune_{name}_{key}_{k}_recall": hit[k] / total[k] for k in templates})
        print(f"{name} {variant:10s}: person recall {sum(hit.values()) / sum(total.values()):.3f}; "
              + ", ".join(f"{k} {hit[k] / total[k]:.3f}" for k in templates))
    return out


def positives(engine: str, n: int, seed: int) -> dict:
    deid = Deidentifier(DeidConfig(engine=engine))
    records = generate(n, seed=seed, locales=LOCALES, names=heldout_names(build_lexicon()))
    deid.analyze_batch(["warm-up: My name is Maria Garcia, 12 Main Street."] * 20)
    out, cpu, total = {}, 0.0, 0
    for variant, recs in case_variants(records).items():
        texts = [r.text for r in recs]
        c0 = time.process_time()
        spans = deid.analyze_batch(texts)
        cpu, total = cpu + time.process_time() - c0, total + len(texts)
        table = score(recs, spans)
        sup = sum(table[k]["support"] for k in HIGH_RISK)
        hit = sum(table[k]["recall"] * table[k]["support"] for k in HIGH_RISK if table[k]["support"])
        key = variant.replace(" ", "_")
        out[f"tune_{key}_person_recall"] = table["PERSON"]["recall"]
        out[f"tune_{key}_person_precision"] = table["PERSON"]["precision"]
        out[f"tune_{key}_address_recall"] = table["STREET_ADDRESS"]["recall"]
        out[f"tune_{key}_high_risk_recall"] = hit / sup
        print(f"positives {variant:10s}: person recall {table['PERSON']['recall']:.3f} "
              f"(precision {table['PERSON']['precision']:.3f}), address recall "
              f"{table['STREET_ADDRESS']['recall']:.3f}, high-risk recall {hit / sup:.3f}")
    out["tune_records_s_core"] = total / cpu
    print(f"throughput: {total / cpu:.0f} generated records/s on one core")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=800, help="held-out SST-2 train sentences")
    parser.add_argument("--bank", type=int, default=2000, help="held-out Banking77 train messages (0: none)")
    parser.add_argument("--presidio-dev", action="store_true", help="also score presidio-research's dev part")
    parser.add_argument("--n", type=int, default=300, help="generated records (x 3 case variants)")
    parser.add_argument("--seed", type=int, default=101, help="generator seed (the benchmark uses 11)")
    parser.add_argument("--distractors", type=int, default=0,
                        help="person-free company / place sentences (x 3 case variants; 0: none)")
    parser.add_argument("--adjacent", type=int, default=0,
                        help="sentences with a person next to a company / place word (x 3 case variants; 0: none)")
    parser.add_argument("--lone", type=int, default=0,
                        help="sentences naming one person by one word (x 3 case variants; 0: none)")
    parser.add_argument("--recombined", type=int, default=0,
                        help="records refilled from presidio's dev templates and values (0: none)")
    parser.add_argument("--recombined-dump", default="", help="write their false and missed spans here (scratch)")
    parser.add_argument("--engine", default="learned")
    parser.add_argument("--sample-seed", type=int, default=0, help="seed of the SST-2 train draw")
    parser.add_argument("--skip", type=int, default=0, help="leave out the first SKIP rows of that draw")
    parser.add_argument("--dump", default="", help="write the changed SST-2 rows and their rules here (scratch)")
    args = parser.parse_args()
    result = negatives(args.engine, args.rows, args.bank, args.sample_seed, args.skip, args.dump)
    result.update(positives(args.engine, args.n, args.seed))
    if args.distractors:
        result.update(distractor_figures(args.engine, args.distractors, args.seed))
    if args.adjacent:
        result.update(adjacent_figures(args.engine, args.adjacent, args.seed))
    if args.lone:
        result.update(adjacent_figures(args.engine, args.lone, args.seed, lone_names=True))
    if args.presidio_dev:
        result.update(presidio_dev(args.engine))
    if args.recombined:
        result.update(presidio_recombined(args.engine, args.recombined, args.seed, args.recombined_dump))
    print("TUNE_JSON " + json.dumps({k: round(v, 4) for k, v in result.items()}))


if __name__ == "__main__":
    main()
