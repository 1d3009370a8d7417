"""The learned model's person spans in shouted text (all or mostly upper case), cut to their name words.

Written all upper case, every word looks like a name to the model, which then runs a span on from a
name over the words around it (``MICHAEL VICK WILL START FOR EAGLES``, ``PYRION CONTINUES HIS
STREAK``) or marks a run of words without any name (``BOXERS MAKE MILLIONS . MMA FIGHTERS``). On
WNUT-17 dev in upper case (simulations/bench_deid_wnut.py) such spans made the upper-case variant's
316 false person tokens over no entity, against 187 for the same sentences in lower case.

:func:`trim_shouted` cuts a person span of shouted text (:func:`is_shouted`) at both ends down to
its first and last word that could be a name: a word of the name lists, or a word that is no
dictionary word (:func:`deid_dictionary.is_ordinary`), no ordinary word of the caller's ``edge``
set (vocabulary and key words) and no chat noise (:mod:`deid_chat`). ``MICHAEL VICK WILL START
FOR EAGLES`` keeps ``MICHAEL VICK``; a span with no such word is dropped. Words inside the span stay:
``MARIA DE LA CRUZ`` is whole. A first word followed by a comma stays too: it is the surname of the
``Surname, Given`` form (``JUG, SARYA``), whatever word it is, and so does a generational suffix
after a name (``ROBERT DOWNEY JR``). A title before a name is cut off and stays visible (``COACH
DANTONIO`` keeps ``DANTONIO``), as the lexicon recognizer leaves titles.

Text with capitals (:func:`deid_case.is_cased`) shows the same run-on in lower case (``Dat first
verse``, ``Boxers make millions . MMA fighters make peanuts``): there only lower-case words are cut
(``shouted=False``), since a capitalised word may be a name the lists lack, and a trailing number
stays, as in :func:`deid_ner.trim_span`. In all-lower-case text nothing is cut: measured on WNUT-17
train that cost four names (a name there is as lower-case as the words around it).
"""

from __future__ import annotations

from typing import Callable

import regex as re

from fedflm.protect.deid_chat import is_chat_noise
from fedflm.protect.deid_dictionary import is_ordinary

_TOKEN = re.compile(r"\S+")
_EDGE_PUNCT = ".,;:!?\"'()[]«»“”‘’"
#: generational suffixes, part of the name before them (``ROBERT DOWNEY JR``)
SUFFIXES = frozenset("jr sr ii iii iv".split())


def is_shouted(text: str) -> bool:
    """True for text with more upper-case than lower-case letters (``CALL ME NOW``)."""
    upper = lower = 0
    for c in text:
        upper += c.isupper()
        lower += c.islower()
    return upper > lower


def trim_shouted(text: str, start: int, end: int, edge: frozenset[str], is_name: Callable[[str], bool],
                 shouted: bool = True) -> tuple[int, int] | None:
    """``(start, end)`` cut to its first and last name-like word (see the module text); None if none.

    ``shouted`` false (text with capitals, :func:`deid_case.is_cased`): only lower-case words are cut,
    and a trailing number stays (it may be the house number of an address the model took for a name)."""
    toks = [m.span() for m in _TOKEN.finditer(text, start, end)]

    def no_name(tok: tuple[int, int]) -> bool:
        word = text[tok[0]:tok[1]].strip(_EDGE_PUNCT)
        if not any(c.isalpha() for c in word):
            return shouted or not any(c.isdigit() for c in word)
        if not shouted and not word.islower():
            return False
        ordinary = word.lower() in edge or is_ordinary(word) or is_chat_noise(word)
        return ordinary and not is_name(word)

    while toks and no_name(toks[-1]) and not (len(toks) > 1 and _suffix(text, toks[-1])):
        toks.pop()
    while toks and no_name(toks[0]) and not (len(toks) > 1 and text[toks[0][1] - 1] == ","):
        toks.pop(0)
    if not toks:
        return None
    s, e = toks[0][0], toks[-1][1]
    while e != end and e > s and text[e - 1] in _EDGE_PUNCT:
        e -= 1  # cut before the word after it: "DAVIDSON ," ends at the name
    return (s, e) if e > s else None


def _suffix(text: str, tok: tuple[int, int]) -> bool:
    return text[tok[0]:tok[1]].strip(_EDGE_PUNCT).lower() in SUFFIXES

