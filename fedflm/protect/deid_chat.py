"""Chat noise: interjections, internet abbreviations and drawn-out words, which are never names.

Casual text (WNUT-17's tweets and comments; simulations/bench_deid_wnut.py) is full of words such as
``lol``, ``lmao``, ``plz``, ``Hahahaha`` or ``Aaawww`` that are in no dictionary and no training split,
so the name recognizers took them, alone or in pairs, for unknown names. A person span made ONLY of
such words is dropped (:func:`chat_only`); a span that also holds another word loses the noise at its
edges (:func:`chat_trimmed`: ``OMG JASON`` is ``JASON``) and is judged as before.
No listed word is a name of the lexicon, and a drawn-out word that is one (``Aaaqil``) stays a name.

Handles, hashtags and web addresses (:func:`web_word`) are no words of a name either: on the re-cased
view of text without capitals, ``@stjosephs empls`` or ``#lfc http://t.co/...`` read as two unknown
capitalised words in a row, a name to the lexicon recognizer's strict rule.
"""

from __future__ import annotations

from typing import Callable

import regex as re

from fedflm.protect.deid_dictionary import is_ordinary

CHAT_WORDS = frozenset("""
lol lols lmao lmfao rofl omg omfg wtf wth smh tbh idk imho btw ftw plz pls plox thx bruh
haha hehe heh hah lmk ikr fml ugh aww aw yay woah whoa oops yep yup nope meh hmm gg xd xoxo
tho gonna wanna gotta kinda sorta dunno lemme gimme yall ur
""".split())
_WORD = re.compile(r"[^\W\d_]+")
#: a letter three times in a row (``Aaawww``, ``sooo``) or a pair of letters three times (``hahaha``, ``LOLOLOL``)
_DRAWN_OUT = re.compile(r"([^\W\d_])\1\1|([^\W\d_]{2})\2\2")
_RUN = re.compile(r"([^\W\d_])\1+")
_LAUGH = re.compile(r"([^\W\d_]{2})\1+[^\W\d_]?")


def is_chat_noise(word: str) -> bool:
    """True for a chat interjection or abbreviation, or a drawn-out one (``Aaawww``, ``loool``), a
    drawn-out ordinary word (``sooo``, ``ROOOAAADDD``) or laughter (``Hahahahhaha``, ``kekekeke``).
    A drawn-out name (``Jonyeee``) is none of these and is no noise."""
    w = word.lower()
    if w in CHAT_WORDS:
        return True
    if not _DRAWN_OUT.search(w):
        return False
    single, double = _RUN.sub(r"\1", w), _RUN.sub(r"\1\1", w)
    return (single in CHAT_WORDS or double in CHAT_WORDS or is_ordinary(single) or is_ordinary(double)
            or bool(_LAUGH.fullmatch(single)))


def chat_only(span: str, is_name: Callable[[str], bool]) -> bool:
    """True when every word of ``span`` is chat noise and no known name (Faker lists ``Aaaqil``)."""
    return chat_trimmed(span, 0, len(span), is_name) is None


def chat_trimmed(text: str, start: int, end: int, is_name: Callable[[str], bool]) -> tuple[int, int] | None:
    """``text[start:end]`` without the chat-noise words at its edges that are no known name (``anna plz``,
    ``OMG JASON``, ``JAMES LOL`` on WNUT-17: a recognizer took the noise for part of the name); None
    when nothing else is left (:func:`chat_only`); the span as it was when no edge word is noise."""
    words = list(_WORD.finditer(text, start, end))
    noise = [is_chat_noise(w.group()) and not is_name(w.group()) for w in words]
    if not words or not (noise[0] or noise[-1]):
        return start, end
    if all(noise):
        return None
    first = noise.index(False)
    last = len(noise) - 1 - noise[::-1].index(False)
    return (words[first].start() if noise[0] else start), (words[last].end() if noise[-1] else end)


def web_word(text: str, start: int, end: int) -> bool:
    """True if the word ``text[start:end]`` belongs to a handle or hashtag (its whitespace-delimited chunk
    starts with ``@`` or ``#``) or to a web address (the chunk holds ``://`` or starts with ``www.``)."""
    left = max(text.rfind(" ", 0, start), text.rfind("\n", 0, start), text.rfind("\t", 0, start)) + 1
    right = min((i for i in (text.find(c, end) for c in " \n\t") if i >= 0), default=len(text))
    chunk = text[left:right]
    return chunk[:1] in ("@", "#") or "://" in chunk or chunk[:4].lower() == "www."
