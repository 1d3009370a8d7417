"""A validation split of whole texts, carved from a training file whose rows include their own phrases.

SST-2's training file holds every phrase of the treebank's training sentences (67 k rows, most
of them a few words long); its dev set holds whole sentences (about 19 words). A random
``eval_fraction`` of the training file is therefore mostly short phrases, easier than the dev
set (session 10: validation 81.9 % vs dev 77.2 % for the same SST-2 eps-1 run), and every
validated sentence has its own sub-phrases, with labels, among the training rows.

:func:`whole_text_holdout` holds out ``n`` rows of at least ``min_words`` words that end like a
sentence (stratified by label), and drops from training every row that is a contiguous word span
of a held-out row, so the model never trains on a piece of a text it is validated on.
"""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Sequence

from fedflm.errors import ConfigError

SENTENCE_ENDS = (".", "!", "?")


def parse_whole_text(spec: str) -> tuple[int, int]:
    """``"N:MIN_WORDS"`` -> ``(N, MIN_WORDS)``, both >= 1; the error names the value."""
    parts = spec.split(":")
    try:
        n, min_words = (int(p) for p in parts) if len(parts) == 2 else (0, 0)
    except ValueError:
        n, min_words = 0, 0
    if n < 1 or min_words < 1:
        raise ConfigError(f"whole-text validation must be N:MIN_WORDS with both >= 1, got {spec!r}")
    return n, min_words


def _quotas(sizes: dict[int, int], n: int) -> dict[int, int]:
    """``n`` split over the labels in proportion to ``sizes`` (largest remainder: sums to ``n`` exactly)."""
    total = sum(sizes.values())
    exact = {y: n * size / total for y, size in sorted(sizes.items())}
    quota = {y: int(q) for y, q in exact.items()}
    for y in sorted(exact, key=lambda y: quota[y] - exact[y])[: n - sum(quota.values())]:
        quota[y] += 1
    return quota


def _words(text: str) -> list[str]:
    return text.split()


def _spans(words: Sequence[str]) -> set[str]:
    return {" ".join(words[i:j]) for i in range(len(words)) for j in range(i + 1, len(words) + 1)}


def whole_text_holdout(texts: Sequence[str], labels: Sequence[int], n: int, min_words: int,
                       seed: int) -> tuple[list[int], list[int]]:
    """(training row indices, validation row indices).

    Validation: ``n`` rows (stratified by label, seeded) with >= ``min_words`` words whose last
    word is ``.``, ``!`` or ``?``. Training: every other row that is not a contiguous word span of a
    validation row (compared after whitespace is collapsed). Raises when too few rows qualify.
    """
    if len(texts) != len(labels):
        raise ConfigError(f"whole-text validation: {len(texts)} texts but {len(labels)} labels")
    by_label: dict[int, list[int]] = defaultdict(list)
    for i, text in enumerate(texts):
        words = _words(text)
        if len(words) >= min_words and words[-1][-1:] in SENTENCE_ENDS:
            by_label[int(labels[i])].append(i)
    eligible = sum(len(v) for v in by_label.values())
    if eligible < n:
        raise ConfigError(f"whole-text validation: only {eligible} rows have >= {min_words} words and end "
                          f"like a sentence; asked for {n}")
    rng, val = random.Random(seed), []
    for label, k in _quotas({y: len(v) for y, v in by_label.items()}, n).items():
        val += rng.sample(by_label[label], k)
    held = set(val)
    spans = set().union(*(_spans(_words(texts[i])) for i in val)) if val else set()
    train = [i for i, text in enumerate(texts) if i not in held and " ".join(_words(text)) not in spans]
    return train, sorted(val)
