"""Canary records for the empirical audit, and their coin flips.

Three kinds:

* ``unique-token`` -- a sequence of random words from the model's own
  vocabulary (so every canary is a distinct, tokenizable string no real
  record resembles) with a uniformly random label;
* ``far-token`` -- ``unique-token`` strings chosen from a larger public pool of
  them (``FAR_POOL_FACTOR`` x m) by greedy farthest-point selection on the
  frozen encoder's sentence vectors (``encode``: the public base model, never
  the owner's data), so that the canaries lie far from each other; labels
  balanced over the classes in random order. Only the auditor's own strings
  and the public encoder decide which canaries are used;
* ``random-label`` -- a real record held out of the training data with its
  label replaced by a different one.

Each canary is included in training independently with probability 1/2, as
the one-run analysis requires. The coin flips come from ``secrets`` unless a
seed is given (tests, reproducible studies).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from datasets import Dataset
from transformers import PreTrainedTokenizerBase

from fedflm.errors import ConfigError

KINDS = ("unique-token", "far-token", "random-label")
FAR_POOL_FACTOR = 4  # far-token: candidates per canary
Encoder = Callable[[Sequence[str]], "np.ndarray"]  # texts -> [n, hidden] sentence vectors
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


def farthest_points(vectors: np.ndarray, m: int) -> list[int]:
    """Greedy farthest-point selection by cosine about the rows' mean (sentence vectors share a
    large common direction; a linear head sees the differences): start at the row farthest from the
    mean, then repeatedly add the row whose largest cosine to the chosen rows is smallest.
    Deterministic (ties go to the lowest index)."""
    v = np.asarray(vectors, dtype=np.float64)
    if v.ndim != 2 or len(v) < m:
        raise ConfigError(f"need at least {m} candidate vectors, got shape {v.shape}")
    v = v - v.mean(0)
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    chosen = [int(np.argmax(norms[:, 0]))]
    v = v / np.maximum(norms, 1e-12)
    nearest = v @ v[chosen[0]]  # per row: largest cosine to a chosen row
    for _ in range(m - 1):
        nearest[chosen] = np.inf
        j = int(np.argmin(nearest))
        chosen.append(j)
        nearest = np.maximum(nearest, v @ v[j])
    return chosen


def far_token_canaries(tokenizer: PreTrainedTokenizerBase, encode: Encoder, m: int, num_labels: int,
                       rng: np.random.Generator) -> tuple[list[str], list[int]]:
    """``m`` of ``FAR_POOL_FACTOR * m`` unique-token strings, far apart under ``encode``; balanced labels."""
    pool, _ = unique_token_canaries(tokenizer, FAR_POOL_FACTOR * m, num_labels, rng)
    texts = [pool[i] for i in farthest_points(np.asarray(encode(pool)), m)]
    return texts, rng.permutation(np.arange(m) % num_labels).tolist()


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
                  seed: int | None = None, encode: Encoder | None = None) -> tuple[Canaries, Dataset]:
    """``m`` canaries with their coin flips, and ``pool`` minus any record they use.

    ``encode``: the public encoder's sentence vectors (far-token only; it never sees ``pool``)."""
    if kind not in KINDS:
        raise ConfigError(f"canary kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if m < 2:
        raise ConfigError(f"need at least 2 canaries, got {m}")
    rng = _rng(seed)
    if kind == "unique-token":
        texts, labels = unique_token_canaries(tokenizer, m, num_labels, rng)
        rest = pool
    elif kind == "far-token":
        if encode is None:
            raise ConfigError("far-token canaries need the public encoder (encode=)")
        texts, labels = far_token_canaries(tokenizer, encode, m, num_labels, rng)
        rest = pool
    else:
        texts, labels, used = random_label_canaries(pool, m, num_labels, rng)
        keep = sorted(set(range(len(pool))) - set(used))
        rest = pool.select(keep)
    included = tuple(bool(b) for b in rng.random(m) < 0.5)
    return Canaries(tuple(texts), tuple(labels), included, kind), rest
