"""Given names that are also English words, marked by a cue in casual text without capitals.

:mod:`deid_lone` skips a given name that is an ordinary word (``emma``, ``nick``, ``jack``): with no
capital to go by, ``jack`` is as likely the tool. Casual text often says more around the word:

* ``greeting``: a greeting or thanks addressed to it, the name ending the clause or followed by
  ``for`` (``happy new year amber ,``, ``great video shan !``, ``hats off to nick for``);
* ``pronoun_and``: coordination with a personal pronoun (``you and desi``, ``abbey and i``);
* ``name_and``: coordination with a lone known name (:func:`deid_lone.lone_name`: ``joseph and mary``);
* ``tell_verb``: the object of a verb of telling or meeting, before the clause ends or goes on
  (``tell brad that``);
* ``subject_verb``: the subject of a clause after a conjunction, before its verb (``when jack was``,
  ``unless brett pulls``);
* ``possessive_any``: a possessive (``oliver's best piece``, ``jack's mom``).

A determiner before the word (``my friend's``, ``my sister and i``, ``new york's``: :data:`DETERMINERS`)
says it is a common noun or a place, and a few given names of the lists are mostly nouns of address
or common nouns in chat (``man``, ``guy``, ``friend``: :data:`COMMON_NOUNS`). Measured on WNUT-17 dev,
every cue gained more person spans than it added false ones, and none fires on the 10,003 Banking77
*train* messages (as written or lower case) with Banking77 left out of the vocabulary
(simulations/bench_deid_wnut.py, simulations/tune_deid.py).

:func:`cue_names` returns such words. A word counts only if the name lists hold it as a given name
(:meth:`NameLexicon.is_first`), it has at least three letters, and it is no word of the built-in
vocabulary (Banking77 uses ``max`` as a word), no key word, no chat noise, and not in
:data:`deid_lone.NOT_LONE_NAMES`. ``will`` and ``bill`` are no given names of the lists.
"""

from __future__ import annotations

import regex as re

from fedflm.protect.deid_census import is_census_surname
from fedflm.protect.deid_lexicon import NameLexicon
from fedflm.protect.deid_lone import NOT_LONE_NAMES, free_word, lone_name

#: given names of the lists that casual text uses far more often as a noun of address or a common noun
COMMON_NOUNS = frozenset("""
man men guy guys dude bro bruh girl girls boy boys mate buddy friend friends sister brother mom dad baby babe
honey sweetie boss sir lady ladies folks fam everyone everybody joke king queen prince princess male female
""".split())
#: a word after one of these is a common noun or a place (``my friend's``, ``my sister and i``, ``new york's``)
DETERMINERS = frozenset("a an the my your ur his her our their its this that these those some any every no new".split())
_BEFORE = re.compile(r"([^\W\d_]+)['’]?\s*$")
_W = r"(?P<name>[^\W\d_]{3,})"
_END = r"(?=\s*(?:[,!.?:;)]|$|[^\w\s'’]))"
CUES: dict[str, re.Pattern] = {
    "greeting": re.compile(
        r"(?<![\w'’])(?:hey|hi|hiya|hello|thanks|thank\s+you|thx|ty|congrats|congratulations|happy\s+birthday"
        r"|happy\s+new\s+year|merry\s+christmas|great\s+video|nice\s+video|good\s+job|well\s+done|love\s+you"
        r"|miss\s+you|bye|goodbye|go|rip|hats\s+off\s+to|shout\s*outs?\s+to)\s*,?\s+" + _W + r"(?:" + _END + r"|(?=\s+for\b))",
        re.IGNORECASE),
    "pronoun_and": re.compile(
        r"(?<![\w'’])(?:me|you|him|her|us|them)\s+(?:and|&)\s+" + _W + r"(?![\w'’])"
        r"|(?<![\w'’])" + _W.replace("name", "name2") + r"\s+(?:and|&)\s+(?:i|me)(?![\w'’])",
        re.IGNORECASE),
    "tell_verb": re.compile(
        r"(?<![\w'’])(?:told|tell|tells|telling|ask|asked|asks|asking|texted|messaged|thanked|hugged|kissed|met|meet"
        r"|called)\s+" + _W + r"(?=\s*(?:[,!.?:;)]|$|[^\w\s'’])|\s+(?:that|about|to|if|how|what|why|i|he|she|we|you)(?![\w'’]))",
        re.IGNORECASE),
    "subject_verb": re.compile(
        r"(?<![\w'’])(?:when|if|how|but|unless|because|cause|cuz|til|until|while|since|why|where|that)\s+" + _W
        + r"\s+(?:was|is|has|had|did|does|said|says|told|went|got|gets|looks|looked|just|definitely|always|never"
        r"|really|pulls|wants|wanted|loves|loved|hates|hated)(?![\w'’])", re.IGNORECASE),
    "possessive_any": re.compile(r"(?<![\w'’])" + _W + r"\s?['’]\s?s(?![\w'’])", re.IGNORECASE),
    "name_and": re.compile(r"(?<![\w'’])" + _W + r"\s+(?:and|&)\s+" + _W.replace("name", "name2") + r"(?![\w'’])",
                           re.IGNORECASE),
}


# a full name after a verb of contact or payment in bank and support messages (``i spoke with peter brown``,
# ``I SPOKE WITH PETER BROWN FROM ACME LTD``): a given name and a surname of the lists, even English words
#: verbs of contact or payment, and nouns of a payee, after which a name stands (also :mod:`deid_compass`)
CONTACT_VERBS = (r"(?:spoke|spoken|speak|talked|talk)\s+(?:with|to)|called|phoned|rang|emailed|met|pay|paid"
                 r"|refund\s+(?:for|to)|landlord|tenant")
_CONTACT_FULL = re.compile(
    r"(?<![\w'’])(?:" + CONTACT_VERBS + r")\s+(?P<first>[^\W\d_]{3,})\s+(?P<last>[^\W\d_]{3,})(?![\w'’])",
    re.IGNORECASE)


def contact_full_names(text: str, lexicon: NameLexicon) -> list[tuple[int, int]]:
    """(start, end) of ``first last`` right after a verb of contact or payment (:data:`_CONTACT_FULL`), the
    first word a given name of the lists (no common noun, no lone-name exclusion), the second a surname of the
    lists or of the US census (``brown``, an English word the lists drop)."""
    out = []
    for m in _CONTACT_FULL.finditer(text):
        first, last = m.group("first").lower(), m.group("last").lower()
        if (lexicon.is_first(first) and (lexicon.is_last(last) or is_census_surname(last)) and first not in COMMON_NOUNS
                and first not in NOT_LONE_NAMES and last not in NOT_LONE_NAMES):
            out.append((m.start("first"), m.end("last")))
    return out


def cue_word(word: str, lexicon: NameLexicon, vocab: frozenset[str]) -> bool:
    """True for a given name of the lists that no vocabulary, key word or chat noise claims."""
    low = word.lower()
    return (free_word(low, vocab) and lexicon.is_first(low) and low not in NOT_LONE_NAMES
            and low not in COMMON_NOUNS)


def cue_names(text: str, lexicon: NameLexicon, vocab: frozenset[str],
              cues: tuple[str, ...] | None = None) -> list[tuple[int, int]]:
    """(start, end) of each given name a cue marks in ``text`` (see the module text)."""
    out = set()
    for cue in cues or tuple(CUES):
        for m in CUES[cue].finditer(text, overlapped=cue == "name_and"):
            groups = [g for g in ("name", "name2") if g in m.re.groupindex and m.group(g)]
            if cue == "name_and":  # either side, if the other is a lone known name
                groups = [g for g, other in (("name", "name2"), ("name2", "name"))
                          if lone_name(m.group(other), lexicon, vocab)]
            for g in groups:
                if cue_word(m.group(g), lexicon, vocab) and not _after_determiner(text, m.start(g)):
                    out.add((m.start(g), m.end(g)))
    return sorted(out | set(contact_full_names(text, lexicon)))


def _after_determiner(text: str, start: int) -> bool:
    """True if the word before ``start`` is one of :data:`DETERMINERS`."""
    before = _BEFORE.search(text, max(0, start - 30), start)
    return bool(before) and before.group(1).lower() in DETERMINERS
