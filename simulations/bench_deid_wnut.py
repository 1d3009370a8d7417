"""Benchmark: person detection of the default de-identifier on real casual text, WNUT-17.

WNUT-17 "Emerging Entities" (Derczynski, Nichols, van Erp, Limsopatham 2017; CC-BY 4.0;
https://github.com/leondz/emerging_entities_17) is Twitter, Reddit, YouTube and StackOverflow
text, much of it lower case, labelled for person, location, corporation, group, product and
creative-work. It is not shipped with fedflm: pass the folder that holds its files.

* ``--part dev``: ``emerging.dev.conll`` (1,009 sentences; what rule changes may be judged on);
* ``--part train``: ``wnut17train.conll`` (3,394 sentences; tuning data as well, e.g. its
  corporation / location / group names that are false persons);
* ``--part test``: ``emerging.test.annotated`` (1,287 sentences; the adjudicated test gold the shared
  task scored on -- ``emerging.test.conll`` joins several annotators' tags with commas).

Each sentence's text is its tokens joined by single spaces; it runs through the de-identifier the
way simulations/bench_deid.py runs presidio records (``Deidentifier.analyze_batch``), as written,
all lower case and all upper case (same-length case views, fedflm.protect.deid_case). Scores
(fedflm/protect/deid_conll.py): person recall by token and by span, person precision by token and
by span with the false ones split by gold type, sentences without a gold person changed per 1,000.
Throughput: sentences / CPU seconds of this single-threaded process (one core).

    python simulations/bench_deid_wnut.py --wnut DIR [--part dev|train|test] [--engine learned]

Prints tables and ``BENCH_JSON {...}`` last.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import deid_bench_setup  # noqa: F401  (first: one thread per library, offline, the repository on sys.path)

from fedflm.errors import FedflmError  # noqa: E402
from fedflm.protect.deid import ENGINES, DeidConfig, Deidentifier  # noqa: E402
from fedflm.protect.deid_case import lower, upper  # noqa: E402
from fedflm.protect.deid_conll import OUTSIDE, PersonScore, Sentence, read_conll, score_person, sentence_text  # noqa: E402

FILES = {"dev": "emerging.dev.conll", "train": "wnut17train.conll", "test": "emerging.test.annotated"}
VARIANTS = {"as written": str, "lower": lower, "upper": upper}
GOLD_TYPES = ("location", "corporation", "group", "product", "creative-work", OUTSIDE)


def evaluate(deid: Deidentifier, sentences: list[Sentence]) -> tuple[dict[str, PersonScore], float]:
    """Scores per case variant (and pooled, ``all``), and sentences per CPU second over all variants."""
    written = [sentence_text(s.tokens)[0] for s in sentences]
    scores: dict[str, PersonScore] = {}
    cpu = 0.0
    for variant, recase in VARIANTS.items():
        texts = [recase(t) for t in written]
        c0 = time.process_time()
        spans = deid.analyze_batch(texts)
        cpu += time.process_time() - c0
        scores[variant] = score_person(sentences, texts, spans)
    scores["all"] = PersonScore()  # the three variants pooled
    for variant in VARIANTS:
        _add(scores["all"], scores[variant])
    return scores, len(sentences) * len(VARIANTS) / cpu


def _add(total: PersonScore, part: PersonScore) -> None:
    for name, value in vars(part).items():
        setattr(total, name, getattr(total, name) + value)


def print_tables(part: str, n: int, scores: dict[str, PersonScore]) -> None:
    print(f"\nWNUT-17 {part}: {n} sentences; person figures of the de-identifier (token / span level)")
    head = ("case", "gold tok", "tok rec", "tok rec any", "gold spans", "span rec", "span rec any",
            "span full", "pred tok", "tok prec", "pred spans", "span prec", "no-person changed/1000")
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("-" * (len(h) + 2) for h in head) + "|")
    for variant, sc in scores.items():
        f = sc.figures()
        row = (variant, sc.gold_tokens, f["token_recall"], f["token_recall_any"], sc.gold_spans, f["span_recall"],
               f["span_recall_any"], f["span_recall_full"], sc.pred_tokens, f["token_precision"], sc.pred_spans,
               f["span_precision"], f["no_person_changed_per_1000"])
        print("| " + " | ".join(f"{v:{len(h)}.3f}" if isinstance(v, float) else f"{v:>{len(h)}}"
                                for v, h in zip(row, head)) + " |")
    print("\nfalse PERSON tokens by gold type (tokens masked as PERSON that are no gold person)")
    print("| case | " + " | ".join(GOLD_TYPES) + " |")
    print("|------|" + "|".join("-" * (len(g) + 2) for g in GOLD_TYPES) + "|")
    for variant, sc in scores.items():
        print(f"| {variant} | " + " | ".join(f"{sc.false_tokens.get(g, 0):>{len(g)}}" for g in GOLD_TYPES) + " |")
    for variant, sc in scores.items():
        print(f"    false PERSON spans, {variant}, by the gold types they overlap: {dict(sc.false_spans.most_common())}")
    sc = scores["all"]
    print(f"    sentences without a gold person: {sc.no_person // len(VARIANTS)} per variant; changed (any span): "
          + ", ".join(f"{v} {scores[v].no_person_changed}" for v in VARIANTS))


def bench_json(part: str, n: int, scores: dict[str, PersonScore], rate: float) -> dict:
    result: dict = {"part": part, "sentences": n, "sentences_s_core": rate}
    for variant, sc in scores.items():
        key = variant.replace(" ", "_")
        result.update({f"{key}_{k}": v for k, v in sc.figures().items()})
        result.update({f"{key}_false_tokens_{g}": sc.false_tokens.get(g, 0) for g in GOLD_TYPES})
        result.update({f"{key}_gold_person_tokens": sc.gold_tokens, f"{key}_gold_person_spans": sc.gold_spans,
                       f"{key}_pred_person_tokens": sc.pred_tokens, f"{key}_pred_person_spans": sc.pred_spans})
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wnut", type=Path, required=True,
                        help=f"folder holding {FILES['dev']}, {FILES['train']} and {FILES['test']} (github.com/leondz/emerging_entities_17)")
    parser.add_argument("--part", choices=tuple(FILES), default="dev")
    parser.add_argument("--engine", choices=ENGINES, default="learned")
    args = parser.parse_args()
    path = args.wnut / FILES[args.part]
    if not path.is_file():
        raise SystemExit(f"{path}: not found (get it from https://github.com/leondz/emerging_entities_17)")
    try:
        sentences = read_conll(path)
    except (FedflmError, UnicodeDecodeError) as exc:
        raise SystemExit(str(exc)) from None
    deid = Deidentifier(DeidConfig(engine=args.engine))
    deid.analyze_batch(["warm-up: My name is Maria Garcia, 12 Main Street."] * 20)
    scores, rate = evaluate(deid, sentences)
    print_tables(f"{args.part} ({path.name})", len(sentences), scores)
    print(f"\nthroughput: {rate:.0f} sentences/s on one core (engine {args.engine}, 3 case variants)")
    result = bench_json(args.part, len(sentences), scores, rate)
    print("BENCH_JSON " + json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in result.items()
                                     if not (isinstance(v, float) and v != v)}))  # no NaN in JSON


if __name__ == "__main__":
    main()
