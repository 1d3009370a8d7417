"""Case views of a text: same-length re-cased copies that detectors run on.

Names, addresses and IBANs written all lower case (chat) or all upper case
(shouting) defeat detectors that rely on capitals. :func:`case_view` returns
a view of ``text`` in which such words are re-cased; the view has exactly the
length of ``text``, character by character, so a span found in the view is the
same span in the original and needs no mapping.
"""

from __future__ import annotations

import regex as re

_WORD = re.compile(r"(?<!\w)[^\W\d_]+(?:['’][^\W\d_]+)*(?!\w)")
_CAPITALISED = re.compile(r"(?<!\w)\p{Lu}\p{Ll}")


def is_cased(text: str) -> bool:
    """True for text written with capitals where they belong, as opposed to chat in all lower
    case or shouting in all upper case: fewer than half its letters are capitals, and it starts
    with one or has at least two capitalised words (one stray ``İ`` does not make text cased)."""
    letters = [c for c in text if c.isalpha()]
    upper = sum(c.isupper() for c in letters)
    if not 0 < upper < 0.5 * len(letters):
        return False
    return letters[0].isupper() or len(_CAPITALISED.findall(text)) >= 2


def lower(text: str) -> str:
    """``text`` lower-cased character by character (length kept)."""
    out = text.lower()
    return out if len(out) == len(text) else "".join(c2 if len(c2 := c.lower()) == 1 else c for c in text)


def upper(text: str) -> str:
    """``text`` upper-cased character by character (length kept; ``ß`` stays)."""
    out = text.upper()
    return out if len(out) == len(text) else "".join(c2 if len(c2 := c.upper()) == 1 else c for c in text)


def capitalize(word: str) -> str:
    """``word`` with its first letter upper case and the rest lower case, same length."""
    return upper(word[:1]) + lower(word[1:])


def _recase(text: str, recase) -> str | None:
    """``text`` with each whole word replaced by ``recase(word)`` (None keeps it); None if unchanged."""
    parts, pos, changed = [], 0, False
    for m in _WORD.finditer(text):
        new = recase(m.group(0))
        if new is not None and new != m.group(0):
            parts += [text[pos:m.start()], new]
            pos, changed = m.end(), True
    parts.append(text[pos:])
    return "".join(parts) if changed else None


def case_view(text: str, keep_lower: frozenset[str]) -> str | None:
    """``text`` re-cased the way ordinary writing would be, or None if nothing changes.

    Words written all lower or all upper case are capitalised, except ordinary words
    (``keep_lower``), which go lower case; words already in mixed case are kept.
    ``hi its maria gonzalez again`` -> ``hi its Maria Gonzalez again``;
    ``PLEASE PAY JOHN O'NEIL`` -> ``please pay John O'neil``.
    """
    def recase(word: str) -> str | None:
        if not (word.islower() or word.isupper()):
            return None
        return lower(word) if word.lower() in keep_lower else capitalize(word)
    return _recase(text, recase)


def address_view(text: str, stop_words: frozenset[str]) -> str | None:
    """``text`` with every all-lower or all-upper word capitalised (two-letter ones upper case,
    like states and compass points), except ``stop_words``, which go lower case; None if unchanged.

    ``ship to 12 high street, london sw1a 1aa`` -> ``ship to 12 High Street, London sw1a 1aa``.
    """
    def recase(word: str) -> str | None:
        if len(word) < 2 or not (word.islower() or word.isupper()):
            return None
        if word.lower() in stop_words:
            return lower(word)
        return upper(word) if len(word) == 2 else capitalize(word)
    return _recase(text, recase)
