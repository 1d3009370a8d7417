"""Train fedflm's learned PII detector (spaCy NER: PERSON, STREET_ADDRESS) on synthetic data.

Data: :func:`fedflm.protect.deid_train_data.generate_training` (Faker values from the
training locales only, training templates, case and layout augmentation, PII-free
sentences from the built-in train splits, and ``--hard`` firm / place sentences where those names
are left unlabelled). 5 % of it is carved off as the
validation split that picks the epoch; no evaluation set is used here.

    python simulations/train_deid_ner.py [--n 30000] [--negatives 8000] [--hard 0] [--epochs 12] \
        [--minutes 20] [--out fedflm/protect/deid_model]

Writes the model directory and prints its SHA-256 (paste it into
``fedflm/protect/deid_ner.py:MODEL_SHA256``).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from fedflm.protect.deid_ner import model_sha256  # noqa: E402
from fedflm.protect.deid_train_data import LABELS, generate_training  # noqa: E402

NER_CONFIG = {"model": {
    "@architectures": "spacy.TransitionBasedParser.v2", "state_type": "ner", "extra_state_tokens": False,
    "hidden_width": 64, "maxout_pieces": 2, "use_upper": True, "nO": None,
    "tok2vec": {"@architectures": "spacy.HashEmbedCNN.v2", "pretrained_vectors": None, "width": 64,
                "depth": 3, "embed_size": 3000, "window_size": 1, "maxout_pieces": 3,
                "subword_features": True}}}


def examples(nlp, data):
    from spacy.training import Example
    out = []
    for text, spans in data:
        doc = nlp.make_doc(text)
        ents = []
        for s, e, label in spans:
            span = doc.char_span(s, e, label=label, alignment_mode="expand")
            if span is not None:
                ents.append((span.start_char, span.end_char, label))
        out.append(Example.from_dict(doc, {"entities": ents}))
    return out


def f1(nlp, dev) -> float:
    scores = nlp.evaluate(dev)
    return float(scores.get("ents_f") or 0.0)


def main() -> None:
    import spacy
    from spacy.util import compounding, minibatch
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=30000)
    parser.add_argument("--negatives", type=int, default=8000)
    parser.add_argument("--hard", type=int, default=0, help="firm / place hard-negative sentences")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--minutes", type=float, default=20.0, help="stop after this much training time")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "fedflm" / "protect" / "deid_model")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    spacy.util.fix_random_seed(args.seed)
    data = generate_training(args.n, seed=args.seed, negatives=args.negatives, hard=args.hard)
    cut = len(data) // 20
    nlp = spacy.blank("en")
    ner = nlp.add_pipe("ner", config=NER_CONFIG)
    for label in LABELS:
        ner.add_label(label)
    train, dev = examples(nlp, data[cut:]), examples(nlp, data[:cut])
    optimizer = nlp.initialize(lambda: train)
    best, t0, rng = -1.0, time.time(), random.Random(args.seed)
    for epoch in range(args.epochs):
        rng.shuffle(train)
        losses: dict = {}
        for batch in minibatch(train, size=compounding(8.0, 64.0, 1.001)):
            nlp.update(batch, drop=0.2, sgd=optimizer, losses=losses)
        with nlp.use_params(optimizer.averages):
            score = f1(nlp, dev)
            if score > best:
                best = score
                nlp.to_disk(args.out)
        print(f"epoch {epoch}: loss {losses.get('ner', 0):.0f}, validation F1 {score:.4f} "
              f"(best {best:.4f}), {time.time() - t0:.0f}s", flush=True)
        if time.time() - t0 > args.minutes * 60:
            break
    print(f"wrote {args.out}; MODEL_SHA256 = {model_sha256(args.out)!r}")


if __name__ == "__main__":
    main()
