"""Canary records for the empirical audit, and their coin flips.

Two kinds:

* ``unique-token`` -- a sequence of random words from the model's own
  vocabulary (so every canary is a distinct, tokenizable string no real
  record resembles) with a uniformly random label;
* ``random-label`` -- a real record held out of the training data with its
  label replaced by a different one.

Each canary is included in training independently with probability 1/2, as
the one-run analysis requires. The coin flips come from ``secrets`` unless a
seed is given (tests, reproducible studies).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

import numpy as np
from datasets import Dataset
from transformers import PreTrainedTokenizerBase

from fedflm.errors import ConfigError

KINDS = ("unique-token", "random-label")
_WORD = re.compile(r"^[a-z]{3,}$")


@dataclass(frozen=True)
class Canaries:
    """``texts[i]`` with ``labels[i]``; ``included[i]`` says whether it is trained on."""

    texts: tuple[str, ...]
    labels: tuple[int, ...]
    included: tuple[bool, ...]
    kind: str

    def __len__(self) -> int:
        return len(self.texts)

    def training_rows(self) -> Dataset:
        rows = [(t, y) for t, y, inc in zip(self.texts, self.labels, self.included) if inc]
        return Dataset.from_dict({"text": [t for t, _ in rows], "label": [y for _, y in rows]})


def _rng(seed: int | None) -> np.random.Generator:
    return np.random.default_rng(secrets.randbits(128) if seed is None else seed)


def _vocabulary_words(tokenizer: PreTrainedTokenizerBase) -> list[str]:
    words = sorted(w for w in tokenizer.get_vocab() if _WORD.match(w))
    if len(words) < 20:
        raise ConfigError(f"tokenizer has only {len(words)} plain words; cannot build unique-token canaries")
    return words


def unique_token_canaries(tokenizer: PreTrainedTokenizerBase, m: int, num_labels: int,
                          rng: np.random.Generator, words_per_canary: int = 8) -> tuple[list[str], list[int]]:
    words = _vocabulary_words(tokenizer)
    texts: set[str] = set()
    while len(texts) < m:
        texts.add(" ".join(rng.choice(words, size=words_per_canary)))
    ordered = sorted(texts)
    rng.shuffle(ordered)
    return ordered, rng.integers(0, num_labels, size=m).tolist()


def random_label_canaries(pool: Dataset, m: int, num_labels: int,
                          rng: np.random.Generator) -> tuple[list[str], list[int], list[int]]:
    """Texts, flipped labels, and the pool indices used (to hold them out)."""
    if num_labels < 2:
        raise ConfigError("random-label canaries need at least 2 labels")
    if m > len(pool):
        raise ConfigError(f"need {m} records for random-label canaries, the client has {len(pool)}")
    idx = rng.choice(len(pool), size=m, replace=False).tolist()
    sub = pool.select(idx)
    shift = rng.integers(1, num_labels, size=m)
    labels = [(int(y) + int(s)) % num_labels for y, s in zip(sub["label"], shift)]
    return list(sub["text"]), labels, idx


def make_canaries(kind: str, m: int, *, tokenizer: PreTrainedTokenizerBase, pool: Dataset, num_labels: int,
                  seed: int | None = None) -> tuple[Canaries, Dataset]:
    """``m`` canaries with their coin flips, and ``pool`` minus any record they use."""
    if kind not in KINDS:
        raise ConfigError(f"canary kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if m < 2:
        raise ConfigError(f"need at least 2 canaries, got {m}")
    rng = _rng(seed)
    if kind == "unique-token":
        texts, labels = unique_token_canaries(tokenizer, m, num_labels, rng)
        rest = pool
    else:
        texts, labels, used = random_label_canaries(pool, m, num_labels, rng)
        keep = sorted(set(range(len(pool))) - set(used))
        rest = pool.select(keep)
    included = tuple(bool(b) for b in rng.random(m) < 0.5)
    return Canaries(tuple(texts), tuple(labels), included, kind), rest
