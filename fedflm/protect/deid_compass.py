"""Compass-word surnames: ``West``, ``North``, ``South``, ``East`` after a name (issue 18e).

All four are US census surnames (ranks 109, 1,797, 2,620 and 2,723 of the 1990 list shipped with
:mod:`deid_census`), and a name span often stops before them: the model reads ``Dumitrana East`` as
``Dumitrana`` plus a direction, and the shouted-text cut (:mod:`deid_shout`) drops the English word
from ``JOHN NORTH CALLED``. :func:`compass_tail` grows a person span of one or two words over such a word
right after it when the word is written as the name is (capitalised after a capitalised name, all
lower or all upper in text without capitals) and what follows does not make it part of a place
(``West Virginia``, ``North Carolina``, ``west of``, ``east coast``: a capitalised word in text with
capitals, or a word of :data:`PLACE_ON`).
"""

from __future__ import annotations

import regex as re

from fedflm.protect.deid_cue import CONTACT_VERBS
from fedflm.protect.deid_dictionary import is_ordinary
from fedflm.protect.deid_lone import free_word

COMPASS = frozenset({"west", "north", "south", "east"})
#: words after a compass word that make it a direction or part of a place name, not a surname; a short
#: hand list: the place words of the four (US states, countries and regions written with them) and the
#: direction nouns that follow them in English
PLACE_ON = frozenset("""
of coast side end bank wing bound ward wards facing virginia carolina dakota africa african korea korean
timor sudan ossetia america american asia asian europe european germany london yorkshire sussex midlands
ham bromwich pole indies bay beach street st road avenue park village county district region island
""".split())
_NEXT = re.compile(r"[ \t]+([^\W\d_]+)(?![\w'’-])")
_WORD = re.compile(r"[^\W\d_]+")


def _written_as(word: str, name: str) -> bool:
    """True if ``word`` has the case shape of ``name``'s last word (Title, UPPER or lower)."""
    if name.isupper():
        return word.isupper()
    if name.islower():
        return word.islower()
    return word[:1].isupper() and word[1:].islower()


def compass_tail(text: str, start: int, end: int, cased: bool) -> int:
    """End of the person span ``text[start:end]`` grown over a compass-word surname after it; else ``end``."""
    words = _WORD.findall(text, start, end)
    m = _NEXT.match(text, end)
    if (not words or len(words) > 2 or not m or m.group(1).lower() not in COMPASS
            or not _written_as(m.group(1), words[-1])):
        return end
    after = _NEXT.match(text, m.end())
    if after and (after.group(1).lower() in PLACE_ON or (cased and after.group(1)[:1].isupper())):
        return end
    return m.end()


# a contact or payment cue (as deid_cue's full names), a word and a compass word: ``Please pay Georgeta North``
_CUED = re.compile(
    r"(?<![\w'’])(?:" + CONTACT_VERBS + r"|money\s+to)\s+"
    r"(?P<name>[^\W\d_]{3,}[ \t]+(?:west|north|south|east))(?![\w'’-])",
    re.IGNORECASE)


def cued_compass_names(text: str, vocab: frozenset[str], cased: bool) -> list[tuple[int, int]]:
    """(start, end) of ``name compass-word`` right after a contact or payment cue (:data:`_CUED`), any case:
    the model and the lists find no unknown given name there (``The refund for Aistis West``). The first word
    must be no English or vocabulary word (not ``pay Bank West``), written as the compass word is, and the
    word after must not make a place of it (:func:`compass_tail`); ``cased``: :func:`deid_case.is_cased` of
    ``text``."""
    out = []
    for m in _CUED.finditer(text):
        first = _WORD.match(text, m.start("name")).group()
        if (free_word(first, vocab) and not is_ordinary(first.lower())
                and compass_tail(text, m.start("name"), m.start("name") + len(first), cased)
                == m.end("name")):
            out.append((m.start("name"), m.end("name")))
    return out
