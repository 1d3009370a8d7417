"""Residual-risk view of de-identified text: the tokens most likely to be missed PII.

For the data owner to review on their own console before training
(``fedflm data inspect STORE --risk``): capitalised words that are not ordinary
vocabulary (possible names, places) and long digit runs (possible account, card,
phone or ID numbers) that de-identification left in place, with how often each
occurs. In text without capitals (all lower case chat, all upper case shouting:
:func:`deid_case.is_cased`) capitals mark nothing, so there it lists the words
that are most often missed names instead: words of the name lists that
de-identification kept because they are also English words (``emma``, ``nick``),
and words that are neither vocabulary, dictionary words nor chat noise
(possible names no list holds). Pure logic: nothing is logged or written here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Callable, Iterable

import regex as re

from fedflm.errors import ConfigError
from fedflm.protect.deid_case import is_cased
from fedflm.protect.deid_chat import is_chat_noise
from fedflm.protect.deid_dictionary import is_ordinary

_WORD = re.compile(r"(?<![\w<])\p{Lu}[\p{L}'’-]*\p{L}(?![\w>])")
_DIGITS = re.compile(r"(?<![\w])\d(?:[ .\-/]?\d){5,}(?![\w])")
DIGIT_RUN = "digit run (6+ digits)"
CAPITALISED = "capitalised word not in the vocabulary"
UNCASED_NAME = "name-list word, text without capitals"
UNCASED_UNKNOWN = "unknown word, text without capitals"
#: words of at least three letters, not inside a placeholder (``<PERSON>``)
_ANY_WORD = re.compile(r"(?<![\w<])[^\W\d_]{3,}(?:['’][^\W\d_]+)*(?![\w>])")


@dataclass(frozen=True)
class RiskToken:
    """One token to review: its text, why it is listed, and in how many places it occurs."""

    token: str
    reason: str
    count: int


def risk_tokens(texts: Iterable[str], vocab: frozenset[str], top: int = 30,
                is_name: Callable[[str], bool] = lambda word: False) -> list[RiskToken]:
    """The ``top`` most frequent risky tokens in ``texts``, most frequent first.

    ``vocab``: lower-cased ordinary words (see :func:`fedflm.protect.deid_lexicon.common_vocab`);
    capitalised words in it are not listed. ALL-CAPS words in cased text (acronyms, placeholders)
    are skipped. ``is_name``: whether a word is in the name lists (``NameLexicon.is_name``); in text
    without capitals a vocabulary word is not listed either, a name-list word is, and any other
    word only if it is no dictionary word and no chat noise.
    """
    if top < 1:
        raise ConfigError(f"--risk: the number of tokens to list must be >= 1, got {top}")
    counts: Counter = Counter()
    for text in texts:
        for m in _DIGITS.finditer(text):
            counts[(m.group(0), DIGIT_RUN)] += 1
        words = _cased_words(text, vocab) if is_cased(text) else _uncased_words(text, vocab, is_name)
        for word, reason in words:
            counts[(word, reason)] += 1
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0][1], kv[0][0]))
    return [RiskToken(tok, reason, n) for (tok, reason), n in ranked[:top]]


def _cased_words(text: str, vocab: frozenset[str]) -> Iterable[tuple[str, str]]:
    for m in _WORD.finditer(text):
        word = m.group(0)
        if not word.isupper() and word.lower() not in vocab:
            yield word, CAPITALISED


def _uncased_words(text: str, vocab: frozenset[str], is_name: Callable[[str], bool]) -> Iterable[tuple[str, str]]:
    for m in _ANY_WORD.finditer(text):
        word = m.group(0)
        if word.lower() in vocab:
            continue
        if is_name(word):
            yield word.lower(), UNCASED_NAME  # one row for `emma` and `EMMA`
        elif not is_ordinary(word) and not is_chat_noise(word):
            yield word.lower(), UNCASED_UNKNOWN
