"""Ordinary English words: a general dictionary, independent of any data set we measure on.

Lower-case text gives no capitals to tell a name from a word. The built-in vocabulary
(:func:`fedflm.protect.deid_lexicon.common_vocab`) comes from two small corpora and
misses most of English (``intelligible``, ``larceny``), and it leaves out every word
that is also a Faker name (``story``, ``bridge``, ``rock``). This module answers
"is this an ordinary English word?" from Webster's Second International dictionary
(public domain, shipped by the ``english-words`` package as its ``web2`` list), where
only proper nouns are capitalised: a word counts as ordinary if the dictionary holds
it in lower case, directly or after removing a regular inflection (``-s``, ``-es``,
``-ies``, ``-ed``, ``-ing``, ``-ly``, ``-er``, ``-est``).

``robert``, ``forster`` and ``khouri`` are not ordinary; ``story``, ``pace`` and
``theft`` are. Given names that are also words (``mark``, ``will``, ``rose``) are
ordinary here: callers use this only where capitals are missing.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

_SUFFIXES = (("ies", "y"), ("ied", "y"), ("ier", "y"), ("iest", "y"), ("ily", "y"), ("es", ""), ("s", ""),
             ("ed", ""), ("ed", "e"), ("ing", ""), ("ing", "e"), ("ly", ""), ("er", ""), ("er", "e"),
             ("est", ""), ("est", "e"), ("ingly", ""), ("ingly", "e"), ("edly", ""), ("edly", "e"),
             ("'s", ""), ("’s", ""))


@lru_cache(maxsize=1)
def dictionary_words() -> frozenset[str]:
    """The lower-case entries (common words, no proper nouns) of the web2 word list."""
    from english_words import get_english_words_set
    return frozenset(w for w in get_english_words_set(["web2"]) if w.islower())


def _stems(word: str):
    yield word
    for suffix, repl in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            stem = word[:-len(suffix)]
            yield stem + repl
            if repl == "" and len(stem) >= 4 and stem[-1] == stem[-2]:
                yield stem[:-1]  # doubled consonant: "rivetting" -> "rivet", "plotted" -> "plot"


def is_ordinary(word: str) -> bool:
    """True if ``word`` (any case) is an ordinary English word or a regular inflection of one.

    Hyphenated words are ordinary if every part is (``close-ups``, ``gross-out``).
    """
    low = word.lower().strip(".'’")
    if not low:
        return False
    words = dictionary_words()
    parts = [p for p in low.split("-") if p]
    return bool(parts) and all(any(s in words for s in _stems(p)) for p in parts)


def accented_word(word: str, vocab: frozenset[str] = frozenset()) -> bool:
    """True for a word written with accents whose plain letters spell an ordinary English word or a
    ``vocab`` word (``animé``, ``façade``, ``cliché``, ``résumé``, ``naïve``): a loan word keeping its
    accents, not a foreign name (callers keep words the name lists hold: ``ángel``)."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))
    return plain != word and (is_ordinary(plain) or plain.lower() in vocab)


_PREFIXES = ("re", "un", "mis", "non", "pre", "over", "under", "out", "dis")
_MIN_REST = 5  # what is left after the prefix: "written" (rewritten), not "ton" (Overton) or "vine" (Devine)


def prefixed_word(word: str) -> bool:
    """True for an English prefix on an ordinary word of at least five letters that web2 does not list
    as a whole (``rewritten``, ``underwritten``): a word, not a name the model may take it for."""
    low = word.lower()
    return any(low.startswith(p) and len(low) - len(p) >= _MIN_REST and is_ordinary(low[len(p):])
               for p in _PREFIXES)
