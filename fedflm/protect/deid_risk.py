"""Residual-risk view of de-identified text: the tokens most likely to be missed PII.

For the data owner to review on their own console before training
(``fedflm data inspect STORE --risk``): capitalised words that are not ordinary
vocabulary (possible names, places) and long digit runs (possible account, card,
phone or ID numbers) that de-identification left in place, with how often each
occurs. Pure logic: nothing is logged or written here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Iterable

import regex as re

from fedflm.errors import ConfigError

_WORD = re.compile(r"(?<![\w<])\p{Lu}[\p{L}'’-]*\p{L}(?![\w>])")
_DIGITS = re.compile(r"(?<![\w])\d(?:[ .\-/]?\d){5,}(?![\w])")
DIGIT_RUN = "digit run (6+ digits)"
CAPITALISED = "capitalised word not in the vocabulary"


@dataclass(frozen=True)
class RiskToken:
    """One token to review: its text, why it is listed, and in how many places it occurs."""

    token: str
    reason: str
    count: int


def risk_tokens(texts: Iterable[str], vocab: frozenset[str], top: int = 30) -> list[RiskToken]:
    """The ``top`` most frequent risky tokens in ``texts``, most frequent first.

    ``vocab``: lower-cased ordinary words (see :func:`fedflm.protect.deid_lexicon.common_vocab`);
    capitalised words in it are not listed. ALL-CAPS words (acronyms, placeholders) are skipped.
    """
    if top < 1:
        raise ConfigError(f"--risk: the number of tokens to list must be >= 1, got {top}")
    counts: Counter = Counter()
    for text in texts:
        for m in _DIGITS.finditer(text):
            counts[(m.group(0), DIGIT_RUN)] += 1
        for m in _WORD.finditer(text):
            word = m.group(0)
            if not word.isupper() and word.lower() not in vocab:
                counts[(word, CAPITALISED)] += 1
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0][1], kv[0][0]))
    return [RiskToken(tok, reason, n) for (tok, reason), n in ranked[:top]]
