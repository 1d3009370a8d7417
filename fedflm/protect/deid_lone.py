"""Lone known names in text without capitals to go by (all lower case chat, all upper case shouting).

Written with capitals, a single given name with no cue (``Casey is a great person``) is found by the
lexicon recognizer: a capitalised word the name lists hold. Written ``casey is a great person`` or
``CASEY IS A GREAT PERSON`` the capitals say nothing, and the re-cased view (:mod:`deid_case`)
judges runs strictly (two words, or a cue before), so the lone name passed. On WNUT-17 dev
(simulations/bench_deid_wnut.py) such names were most of what the lower- and upper-case variants
lost against the text as written.

:func:`lone_names` finds, in such text only, each word that

* a name list of the lexicon holds as a given name or surname (:class:`NameLexicon`),
* is no ordinary English word (:func:`deid_dictionary.is_ordinary`: ``mark``, ``will``, ``grace``,
  ``brett`` stay), no word of the built-in vocabulary (``vocab``: words of the name-free Banking77
  messages such as ``chase``) and no chat noise (:mod:`deid_chat`),
* has at least three letters, and is not one of :data:`NOT_LONE_NAMES`;

and joins such words next to each other (one space between) into one span: ``ryan gosling``.
A word followed by a family firm's tail (``johnson and sons``, ``rossi e figli``:
:data:`deid_context.FAMILY_TAIL_ANY_CASE`) is taken for a firm: a lone word is weak evidence.
A hyphenated word counts only if each of its parts does (``avant-garde``, ``wal-mart`` are no names).
"""

from __future__ import annotations

import regex as re

from fedflm.protect.deid_chat import is_chat_noise
from fedflm.protect.deid_context import FAMILY_TAIL_ANY_CASE
from fedflm.protect.deid_dictionary import is_ordinary
from fedflm.protect.deid_lexicon import KEY_WORDS, NameLexicon

#: words of the name lists that, written without capitals and with no cue, far more often name an
#: industry, an award, a faith or people, a place, or are a verb form, than a person. Drawn from the
#: words this rule found most often in SST-2 *train* reviews and on WNUT-17 dev that were no person.
NOT_LONE_NAMES = frozenset("""
hollywood bollywood oscar oscars indie held christian christians muslim muslims alabama brooklyn london
venice asia imo lotta
""".split())
_PART = r"[^\W\d_]+(?:['’][^\W\d_]+)*"
_WORD = re.compile(rf"(?<![\w@#/.-]){_PART}(?:-{_PART})*(?![\w@/-])")
_POSSESSIVE = re.compile(r"['’]s$", re.IGNORECASE)
_JOIN = re.compile(r"[ \t]+")
MIN_LETTERS = 3


def lone_name(word: str, lexicon: NameLexicon, vocab: frozenset[str]) -> bool:
    """True for a word of the name lists that is no ordinary word, vocabulary word or chat noise."""
    bare = _POSSESSIVE.sub("", word)
    low = bare.lower()
    if "-" in bare:
        return all(lone_name(part, lexicon, vocab) for part in bare.split("-"))
    return (len(bare) >= MIN_LETTERS and lexicon.is_name(bare) and low not in vocab and low not in KEY_WORDS
            and low not in NOT_LONE_NAMES and not is_ordinary(bare) and not is_chat_noise(bare))


def lone_names(text: str, lexicon: NameLexicon, vocab: frozenset[str]) -> list[tuple[int, int]]:
    """(start, end) of the lone known names of ``text`` (see the module text), neighbours joined;
    a possessive ``'s`` stays outside the span."""
    out: list[tuple[int, int]] = []
    for m in _WORD.finditer(text):
        if not lone_name(m.group(0), lexicon, vocab) or FAMILY_TAIL_ANY_CASE.match(text, m.end()):
            continue
        end = m.end() - (len(p.group(0)) if (p := _POSSESSIVE.search(m.group(0))) else 0)
        if out and _JOIN.fullmatch(text, out[-1][1], m.start()):
            out[-1] = (out[-1][0], end)
        else:
            out.append((m.start(), end))
    return out
