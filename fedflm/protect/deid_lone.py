"""Lone names in text without capitals to go by (all lower case chat, all upper case shouting).

Written with capitals, a single given name with no cue (``Casey is a great person``) is found by the
lexicon recognizer: a capitalised word the name lists hold. Written ``casey is a great person`` or
``CASEY IS A GREAT PERSON`` the capitals say nothing, and the re-cased view (:mod:`deid_case`)
judges runs strictly (two words, or a cue before), so the lone name passed. On WNUT-17 dev
(simulations/bench_deid_wnut.py) such names were most of what the lower- and upper-case variants
lost against the text as written. Casual text that does use capitals often writes a name in
lower case all the same (``Good luck to you and davis``): there the caller (``Deidentifier.analyze``)
keeps the lone names written in lower case.

:func:`lone_names` finds each word that

* a name list of the lexicon holds as a given name or surname (:class:`NameLexicon`),
* is no ordinary English word (:func:`deid_dictionary.is_ordinary`: ``mark``, ``will``, ``grace``,
  ``brett`` stay), no word of the built-in vocabulary (``vocab``: words of the name-free Banking77
  messages such as ``chase``) and no chat noise (:mod:`deid_chat`),
* has at least three letters, and is not one of :data:`NOT_LONE_NAMES`;

and joins such words next to each other (one space between) into one span: ``ryan gosling``.
A word followed by a family firm's tail (``johnson and sons``, ``rossi e figli``:
:data:`deid_context.FAMILY_TAIL_ANY_CASE`) is taken for a firm: a lone word is weak evidence.
A hyphenated word counts only if each of its parts does (``avant-garde``, ``wal-mart`` are no names).

A lone given name is grown over the next word when that is a surname of the lexicon or the census,
even a dictionary word (:func:`surname_after`: ``nicolas cage``, ``steve martin``, ``stan lee``), or a
word no dictionary holds (``adam sandler``, ``susan sarandon``: SST-2 train check samples masked the
given name alone, leaving the surname).

Names no list holds (``bye capwin``) are left to the learned model, which in such text also reads
the re-cased view (:func:`view_model_names`), keeping only its one-word spans of unknown words.
"""

from __future__ import annotations

from typing import Callable

import regex as re
from spacy.lang.en.stop_words import STOP_WORDS

from fedflm.protect.deid_census import is_census_surname
from fedflm.protect.deid_chat import is_chat_noise
from fedflm.protect.deid_context import FAMILY_TAIL_ANY_CASE
from fedflm.protect.deid_dictionary import accented_word, is_ordinary, prefixed_word
from fedflm.protect.deid_lexicon import KEY_WORDS, PARTICLES, NameLexicon

#: words of the name lists that, written without capitals and with no cue, far more often name an
#: industry, an award, a faith or people, a place, or are a verb form, than a person. Drawn from the
#: words this rule found most often in SST-2 *train* reviews and on WNUT-17 dev that were no person
#: (``monty``: ``the full monty``, ``monty python``; ``box``: ``box office``; ``bible``; issue-18b notes).
NOT_LONE_NAMES = frozenset("""
hollywood bollywood oscar oscars indie held christian christians muslim muslims alabama brooklyn london
venice asia imo lotta monty box bible
""".split())
_PART = r"[^\W\d_]+(?:['’][^\W\d_]+)*"
_WORD = re.compile(rf"(?<![\w@#/.-]){_PART}(?:-{_PART})*(?![\w@/-])")
_POSSESSIVE = re.compile(r"['’]s$", re.IGNORECASE)
_JOIN = re.compile(r"[ \t]+")
_NEXT_WORD = re.compile(rf"[ \t]+({_PART})(?![\w@/-])")
MIN_LETTERS = 3


def free_word(word: str, vocab: frozenset[str]) -> bool:
    """True for a word of at least three letters that no vocabulary word, key word or chat noise claims
    (what every rule here asks of a word before it may be a name)."""
    low = word.lower()
    return len(word) >= MIN_LETTERS and low not in vocab and low not in KEY_WORDS and not is_chat_noise(word)


def lone_name(word: str, lexicon: NameLexicon, vocab: frozenset[str]) -> bool:
    """True for a word of the name lists that is no ordinary word, vocabulary word or chat noise."""
    bare = _POSSESSIVE.sub("", word)
    if "-" in bare:
        return all(lone_name(part, lexicon, vocab) for part in bare.split("-"))
    return (free_word(bare, vocab) and lexicon.is_name(bare) and bare.lower() not in NOT_LONE_NAMES
            and not is_ordinary(bare))


def lone_names(text: str, lexicon: NameLexicon, vocab: frozenset[str]) -> list[tuple[int, int]]:
    """(start, end) of the lone known names of ``text`` (see the module text), neighbours joined;
    a possessive ``'s`` stays outside the span."""
    out: list[tuple[int, int]] = []
    for m in _WORD.finditer(text):
        if not lone_name(m.group(0), lexicon, vocab) or FAMILY_TAIL_ANY_CASE.match(text, m.end()) \
                or a_noun(text, m.start(), _bare_end(m), lexicon.is_name):
            continue
        end = _bare_end(m)
        if out and _JOIN.fullmatch(text, out[-1][1], m.start()):
            out[-1] = (out[-1][0], end)
        else:
            out.append((m.start(), end))
    return out


_ARTICLE_BEFORE = re.compile(r"(?:^|(?<![\w'’-])([^\W\d_]+)[ \t]+|[^\w'’-])an?[ \t]+$", re.IGNORECASE)
_CLAUSE_END = re.compile(r"[ \t]*(?:[.,;:!?)]|$)")


def a_noun(text: str, start: int, end: int, is_name: Callable[[str], bool]) -> bool:
    """True for a word between an indefinite article and a clause's end (``sorority boys is a bowser .``):
    a noun, not a person, who is named without an article (``a spielberg film``, with a noun after it,
    is left to the other rules). Not after a name, where ``A`` is a middle initial (``THOMAS A EDISON``)."""
    m = _ARTICLE_BEFORE.search(text, max(0, start - 40), start)
    return bool(m and _CLAUSE_END.match(text, end) and not (m.group(1) and is_name(m.group(1).lower())))


def surname_after(text: str, start: int, end: int, lexicon: NameLexicon, cased: bool) -> int:
    """End of the name span ``text[start:end]`` grown over a surname after it; else ``end``.

    Only in text without capitals (``cased`` false) and only for a span of one given name: the next
    word counts if the lexicon or the census (:mod:`deid_census`) holds it as a surname, even a
    dictionary word (``nicolas cage``, ``kevin love``), unless it is a stop word (``maria so``), a key
    word, chat noise, too short, or a family firm's tail follows it. A possessive ``'s`` stays outside.
    :func:`grown_name_end` also takes a surname no list holds."""
    nxt = _word_after_given(text, start, end, lexicon, cased)
    return nxt[1] if nxt is not None and _listed_surname(nxt[0], lexicon) else end


def grown_name_end(text: str, start: int, end: int, lexicon: NameLexicon, cased: bool,
                   names_place: Callable[[int], bool]) -> int:
    """End of the name span ``text[start:end]`` grown over a listed surname (:func:`surname_after`), else
    over an unlisted one (:func:`unlisted_surname`: ``adam sandler``) unless ``names_place(new_end)`` says
    the grown span is a place (``johnny knoxville``: the given name alone stays); else ``end``."""
    nxt = _word_after_given(text, start, end, lexicon, cased)
    if nxt is None:
        return end
    word, word_end = nxt
    if _listed_surname(word, lexicon) or unlisted_surname(word) and not names_place(word_end):
        return word_end
    return end


def _word_after_given(text: str, start: int, end: int, lexicon: NameLexicon, cased: bool) -> tuple[str, int] | None:
    """The word after a span of one given name in text without capitals, and its end (a possessive ``'s``
    left out), if it may be a surname at all (:func:`surname_after`'s conditions but the lists); else None."""
    if cased or not lexicon.is_first(text[start:end]):
        return None
    m = _NEXT_WORD.match(text, end)
    if not m:
        return None
    word = _POSSESSIVE.sub("", m.group(1))
    low = word.lower()
    if (len(word) < MIN_LETTERS or low in STOP_WORDS or low in KEY_WORDS or is_chat_noise(word)
            or FAMILY_TAIL_ANY_CASE.match(text, m.end())):
        return None
    return word, m.start(1) + len(word)


def _listed_surname(word: str, lexicon: NameLexicon) -> bool:
    return lexicon.is_last(word) or is_census_surname(word)


def unlisted_surname(word: str) -> bool:
    """True for a word of four or more letters that no dictionary holds, prefixed or accented forms included
    (``sandler``, ``sarandon``, ``gondry`` after ``adam``, ``susan``, ``michel``): after a given name, a
    surname no list holds. Shorter words are mostly foreign articles (``los``, ``las``: ``san héctor los
    bajos`` is a town)."""
    return (len(word) > MIN_LETTERS and word.lower() not in PARTICLES and not is_ordinary(word)
            and not accented_word(word) and not prefixed_word(word))


def _bare_end(m: re.Match) -> int:
    """End of the word matched by ``m`` without a possessive ``'s``."""
    p = _POSSESSIVE.search(m.group(0))
    return m.end() - (len(p.group(0)) if p else 0)


def unknown_word(word: str, vocab: frozenset[str]) -> bool:
    """True for a word of at least three letters that is no vocabulary word, dictionary word (prefixed ones
    too: ``rewritten``), accented loan word (``animé``), word of :data:`NOT_LONE_NAMES` (``venice``) or chat
    noise."""
    bare = _POSSESSIVE.sub("", word)
    return (free_word(bare, vocab) and not is_ordinary(bare) and bare.lower() not in NOT_LONE_NAMES
            and not accented_word(bare, vocab) and not prefixed_word(bare))


def view_model_names(nlp, views: list[tuple[str, str]], vocab: frozenset[str],
                     model_spans: Callable[[str, int, int, str], list[tuple[int, int, str]]]
                     ) -> list[list[tuple[int, int, str]]]:
    """The learned model's one-word PERSON spans on the re-cased view of texts without capitals.

    ``views``: (text, its :func:`deid_case.case_view`) pairs. On the view a name the lexicon does not
    know stands capitalised among lower-case words (``bye Capwin !``), as it would in written text,
    and the model takes it; the raw lower- or upper-case text hides it. Only a span of ONE word that
    is no vocabulary word, dictionary word or chat noise (:func:`unknown_word`) is kept: longer view
    spans were mostly runs of chat and foreign words on WNUT-17 dev. ``model_spans`` judges a raw
    model span against the text (``Deidentifier._model_spans``)."""
    out: list[list[tuple[int, int, str]]] = []
    for (text, _), doc in zip(views, nlp.pipe([v for _, v in views], batch_size=256)):
        found = []
        for ent in doc.ents:
            if ent.label_ != "PERSON":
                continue
            for s, e, label in model_spans(text, ent.start_char, ent.end_char, ent.label_):
                words = list(_WORD.finditer(text, s, e))
                if label == "PERSON" and len(words) == 1 and unknown_word(words[0].group(), vocab):
                    found.append((words[0].start(), _bare_end(words[0]), label))  # the word alone: no ", "
        out.append(found)
    return out
