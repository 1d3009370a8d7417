"""Words English builds from its own words, which read as names where capitals are missing.

On the re-cased view of lower-case text (:mod:`fedflm.protect.deid_case`) every word outside the vocabulary
is capitalised, and :class:`~fedflm.protect.deid_recognizers.LexiconPersonRecognizer` judges a run of them
by whether its words are dictionary words (:func:`~fedflm.protect.deid_dictionary.is_ordinary`). The
dictionary (web2, 1934) lacks the words English has built since (``mindset``, ``switchblade``,
``twentysomething``, ``frightfest``), so such a word looked as foreign to English as a surname.

* :func:`built_word` says "an English word" without any list of this data's words: a closed compound of
  two common words of the vocabulary (``switch`` + ``blade``, ``mind`` + ``set``). The vocabulary leaves
  out every word of the name lists, so the surname elements that make English surnames compounds too
  (``-man``, ``-worth``, ``-hart``, ``holly-``) are not parts, and a word of the name lists is never a
  built word: ``sugarman``, ``butterworth``, ``goodman`` stay names; nor is a word whose head
  builds two or more names of the lists (``parton``: ``par`` + ``-ton``).
* :func:`name_words` drops a verb after a name of two or more words (``janice beard falters``,
  ``robert zemeckis agreed``): a dictionary word that is no name of the lists, which the re-cased view
  capitalised only because the vocabulary lacks it.
* :func:`unknown_words` (two or three words of no vocabulary read as a name; moved here from
  :mod:`deid_recognizers`) takes no plain word on the re-cased view: a built word counts as a dictionary word.
* :func:`mostly_words` turns down three names of the lists that no given name opens when two of them are
  plain words and no given names (``bible killer story``): surnames that are words, not a person.
"""

from __future__ import annotations

from collections import Counter
from functools import lru_cache

from fedflm.protect.deid_dictionary import dictionary_words, is_ordinary
from fedflm.protect.deid_lexicon import NameLexicon

#: letters of a trailing verb at least: a three-letter word after a name is as often a code or a stray value
#: (``hutton henry nan``, an address's empty field) as a verb
_VERB = 4
_PART = 3  # letters of each part of a compound at least: ``sex`` + ``pot``; two-letter parts match any word


def _splits(low: str, vocab: frozenset[str]):
    """The (first, head) splits of ``low`` into two common words: the first a dictionary word, the head one
    or an inflection of one, both in the vocabulary."""
    words = dictionary_words()
    for k in range(_PART, len(low) - _PART + 1):
        if low[:k] in words and low[:k] in vocab and low[k:] in vocab and is_ordinary(low[k:]):
            yield low[:k], low[k:]


@lru_cache(maxsize=4)
def name_heads(lexicon: NameLexicon, vocab: frozenset[str]) -> frozenset[str]:
    """Heads that build two or more names of the lists (``-ton`` of ``dayton``, ``-son``, ``-land``, ``-well``,
    ``-lee``, ``-more``, ``-wood``): a word ending in one is built like a surname (``parton``), not a word."""
    split = ((name, {h for _, h in _splits(name, vocab)}) for name in lexicon.first | lexicon.last if name.isalpha())
    heads = Counter(head for name, hs in split if hs and not is_ordinary(name) for head in hs)
    return frozenset(h for h, n in heads.items() if n >= 2)


def built_word(word: str, vocab: frozenset[str], lexicon: NameLexicon) -> bool:
    """True for a word that no dictionary holds but that is two common words written as one
    (``switchblade``, ``mindset``, ``twentysomething``, ``frightfest``); never a word of the name lists,
    nor one whose head builds names (``parton``: ``par`` + ``ton``, like ``dayton``, ``lawton``)."""
    low = word.lower()
    if not low.isalpha() or not vocab or lexicon.is_name(low) or is_ordinary(low):
        return False
    splits = list(_splits(low, vocab))
    return bool(splits) and not any(head in name_heads(lexicon, vocab) for _, head in splits)


def plain_word(word: str, vocab: frozenset[str], lexicon: NameLexicon) -> bool:
    """A dictionary word or a built word: what a name of the re-cased view may not be made of alone."""
    return is_ordinary(word) or built_word(word, vocab, lexicon)


def _foreign(word: str) -> bool:
    """True for a word with a letter outside English's a-z (``İnönü``, ``Kodrič``, ``Grațian``)."""
    return any(c.isalpha() and not c.isascii() for c in word)


def unknown_words(words: list[str], vocab: frozenset[str], lexicon: NameLexicon, strict: bool = False) -> bool:
    """Two or three capitalised words outside the corpora's vocabulary, not all of them English
    dictionary words, read as a name: ``Callie Khouri``, ``Ion Sever``, not ``Intelligible Story``.

    ``strict`` (re-cased lower- or upper-case text, where capitals say nothing): none of them may
    be a plain word (``whopping shootouts``, ``prickly indie``, ``switchblade sexpot`` are rare words,
    not a name) unless one is written with letters English does not use (``bayman inönü``)."""
    return bool(vocab) and 2 <= len(words) <= 3 and all(w.lower() not in vocab and len(w) > 2 for w in words) and (
        not any(plain_word(w, vocab, lexicon) for w in words) or any(map(_foreign, words)) if strict
        else not all(map(is_ordinary, words)))


def name_words(words: list[str], lexicon: NameLexicon) -> int:
    """How many of a re-cased run's ``words`` are the name: all but, after a given name of the lists and one
    word more, a trailing dictionary word that is no name of the lists (``jessica stein injects`` -> 2).
    ``damon runyon crooks`` stays 3 (``crooks`` is a surname), ``sturm und drung`` too (no given name opens
    it); two words are kept whole (``maria baker``: a surname of no list can be a dictionary word)."""
    n = len(words)
    if n >= 3 and lexicon.is_first(words[0]) and len(words[-1]) >= _VERB and is_ordinary(words[-1]) \
            and not lexicon.is_name(words[-1]):
        return n - 1
    return n


def mostly_words(plain: list[bool], firsts: list[bool]) -> bool:
    """True if, of a run of three or more names of the lists that no given name opens, two or more are plain
    words (:func:`plain_word`) and no given name: ``bible killer story`` (killer, story: surnames and words);
    ``hutton henry nan`` stays a name (henry, nan: given names), and so do ``garcía bernal``, ``zhang wei``."""
    return len(plain) >= 3 and sum(p and not f for p, f in zip(plain, firsts)) >= 2
