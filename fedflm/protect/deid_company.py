"""Company names by their legal-form tail or their firm word in front (``Johansen A/S``, ``Konečný a.s.``,
``Spółdzielnia Pęksa``, ``Inversiones Gonzalo S.L.L.``): person-looking spans that are firms.

Faker builds most company names from surnames (``{last} {suffix}``, ``{prefix} {last}``), and the
name lexicon, the lone-name rule and the learned model all take the surname for a person. The
designators of :mod:`fedflm.protect.deid_context` are whole words (``Inc``, ``GmbH``); the legal forms
written with dots or a slash (``S.A.``, ``s.r.o.``, ``A/S``, ``Sp. z o.o.``) and the firm words put in
front (``Grupo``, ``Fundacja``, ``Laboratorios``) are read here.

Source: Faker's company providers (MIT licence, an installed dependency; nothing is downloaded or
shipped): ``company_suffixes``, ``company_prefixes`` (es_MX spells it ``company_preffixes``),
``company_types`` and ``name_complements`` of every locale except
:data:`~fedflm.protect.deid_lexicon.HELDOUT_LOCALES`, in Latin script.

Case: a tail with a dot, a slash or an ampersand, or a word of four or more letters that is no English
word (``GmbH``, ``e figli``, ``Gruppen``), counts in any letter case; a short or English one (``AS``,
``AB``, ``Ky``, ``and Sons``) only in text with capitals and written as Faker writes it, since
``maria as well`` or ``ANNA AS WELL`` name a person. A firm word in front counts only if it is no
English word (``Grupo``, not ``Royal`` or ``Holding``: ``Holding Anna's hand``).
"""

from __future__ import annotations

from functools import lru_cache

import regex as re

from fedflm.protect.deid_dictionary import is_ordinary
from fedflm.protect.deid_lexicon import provider_values, training_locales

_TAIL_LISTS = ("company_suffixes", "name_complements")
_HEAD_LISTS = ("company_prefixes", "company_preffixes", "company_types")
_WORD = re.compile(r"[^\W\d_]+")
_SPACE = re.compile(r"\s+")
_MIN_LETTERS = 4  # a head or tail word this long that is no English word is sure in any case


def _provider_values(attrs: tuple[str, ...]) -> set[str]:
    """Latin-script entries of ``attrs`` of Faker's company providers (training locales and the base)."""
    package = "faker.providers.company"
    values = [v for module in [package, *(f"{package}.{loc}" for loc in training_locales(package))]
              for v in provider_values(module, attrs)]
    return {_SPACE.sub(" ", v.strip(" -")) for v in values if v.strip(" -")}  # "- ME" (pt_BR): the tail is "ME"


def _sure(value: str) -> bool:
    """A tail or head readable in any case: with a dot, slash or ampersand, or with a word of four or
    more letters and no English word (``GmbH``, ``e figli``; not ``AS``, ``and Sons``, ``Group``)."""
    if any(c in value for c in "./&"):
        return True
    words = _WORD.findall(value)
    return (any(len(w) >= _MIN_LETTERS for w in words)
            and not any(len(w) >= _MIN_LETTERS and is_ordinary(w.lower()) for w in words))


def _alternation(values: set[str]) -> str:
    """A regex alternation of ``values``, longest first, spaces matched as any run of blanks."""
    return "|".join(r"[ \t]+".join(re.escape(p) for p in v.split(" "))
                    for v in sorted(values, key=len, reverse=True))


@lru_cache(maxsize=1)
def _patterns() -> tuple[re.Pattern, re.Pattern, frozenset[str], re.Pattern]:
    """(tail in any case, tail as Faker writes it, head words lower-cased, the latter in any case but
    short English words: ``ab``, ``ag``, ``group``; not ``as``, ``me``, ``sa``)."""
    tails = _provider_values(_TAIL_LISTS)
    sure = {t for t in tails if _sure(t)}
    end = r"(?![\w&])"
    any_case = re.compile(r"(?i:" + _alternation(sure) + ")" + end)
    exact = re.compile(r"(?:" + _alternation(tails - sure) + ")" + end)
    heads = frozenset(h.lower() for h in _provider_values(_HEAD_LISTS)
                      if " " not in h and len(h) >= _MIN_LETTERS and not is_ordinary(h.lower()))
    weak = {t for t in tails - sure if not (len(t) <= _MIN_LETTERS and is_ordinary(t.lower()))}
    return any_case, exact, heads, re.compile(r"(?i:" + _alternation(weak) + ")" + end)


_BEFORE_TAIL = re.compile(r"\.?(?:[ \t]*,[ \t]*|[ \t]+-[ \t]+|[ \t]+)")
_HEAD_BEFORE = re.compile(r"([^\W\d_]+)[ \t]+$")
# more names of one firm before its tail ("Schmidt" + " & Rasmussen A/S", "Paolini" + ", Geraci e Agnesi s.r.l.")
_NEXT_NAME = re.compile(r"(?:[ \t]*,[ \t]*|[ \t]+(?:and|&|og|och|en|e|y|i|und|et)[ \t]+|[ \t]+|-)"
                        r"([^\W\d_][\w'’]*)", re.IGNORECASE)
_STOP = frozenset("the a an of at in on for from to by with is was are were as who which that this his her "
                  "their our my your its".split())
_MAX_NAMES = 3


def has_company_tail(text: str, start: int, end: int, cased: bool, surnames: bool = False) -> bool:
    """True if ``text[start:end]`` ends in a company's legal-form tail or one follows it
    (``Johansen A/S``, ``Peltonen Ky``, ``Despacho Integrales`` + ``S.L.``). ``surnames``: the span is
    made of surnames known as no given name; then in text without capitals a short tail counts in
    any case too (``gustafsson ab``, ``hernandez group``; ``johnson group`` and ``maria as well`` are
    left alone)."""
    for m in _BEFORE_TAIL.finditer(text, start, end):  # inside the span, after a word of it, to its end
        if m.start() > start and _tail_end(text, m.end(), cased, surnames) >= end:
            return True
    pos, joins = end, ("," if "," in text[start:end] else "")  # "Paolini, Geraci" + " e Agnesi s.r.l."
    for _ in range(_MAX_NAMES + 1):
        m = _BEFORE_TAIL.match(text, pos)
        if m and _tail_end(text, m.end(), cased, surnames) > m.end():
            return _list_shape(joins)
        m = _NEXT_NAME.match(text, pos)
        if not m or not _name_word(m.group(1), cased):
            return False
        joins += m.group(0)[:m.start(1) - m.start()].lower()
        pos = m.end()
    return False


def _list_shape(joins: str) -> bool:
    """Names joined by spaces, hyphens or ``&`` are one firm; by a comma or a word (``and``, ``og``)
    only in the ``A, B and C`` shape: ``Anna Berg, Acme GmbH`` and ``Anna Berg and Acme GmbH`` keep Anna."""
    words = bool(re.search(r"\b(?:and|og|och|en|e|y|i|und|et)\b", joins))
    return words == ("," in joins)


def _name_word(word: str, cased: bool) -> bool:
    """A word that can be one more name of a firm: capitalised in text with capitals, no English
    word where there are none (``schmidt & rasmussen a/s``, not ``anna and the kids ltd``)."""
    if word.lower() in _STOP:
        return False
    return word[:1].isupper() if cased else not is_ordinary(word.lower())


def _tail_end(text: str, pos: int, cased: bool, surnames: bool = False) -> int:
    """Where a tail starting at ``pos`` ends (``pos`` if none starts there)."""
    any_case, exact, _, weak = _patterns()
    m = any_case.match(text, pos)
    if m is None and cased:
        m = exact.match(text, pos)
        m = None if m and _reads_as_word(text, m) else m
    if m is None and surnames and not cased:
        m = weak.match(text, pos)
    return m.end() if m else pos


_NEXT_WORD = re.compile(r"[ \t]+(\p{Ll}+)")
# words that make ``as`` an English phrase (``as agreed``, ``as soon as``, ``as well``, ``as per``); hand list
# of the adverbial ``as`` phrases of payment and support messages; after a firm's ``AS`` a verb follows
# (``Johansen AS sent``, ``AS failed``), never these
_AS_PHRASE = frozenset("agreed discussed promised requested arranged planned expected instructed mentioned "
                       "usual always before soon well per of if possible needed a an the my our your his her "
                       "their".split())


def _reads_as_word(text: str, m: re.Match) -> bool:
    """A Norwegian / Danish ``AS`` tail followed by a word that makes it the English ``as`` in text
    with capitals (``Please pay Gregor Asplund AS agreed``; ``Johansen AS sent`` stays a firm)."""
    after = _NEXT_WORD.match(text, m.end())
    return m.group().lower() == "as" and after is not None and after.group(1) in _AS_PHRASE


def has_company_head(text: str, start: int, end: int) -> bool:
    """True if the span opens with, or follows, a firm word of Faker's company providers that is no
    English word (``Spółdzielnia Pęksa``, ``Laboratorios`` + ``Reynoso, Verduzco y Ornelas``), with a
    name after it (the head alone is no company)."""
    heads = _patterns()[2]
    words = _WORD.findall(text, start, end)
    if len(words) >= 2 and words[0].lower() in heads:
        return True
    line_start = text.rfind("\n", 0, start) + 1
    m = _HEAD_BEFORE.search(text, line_start, start)
    return bool(words) and bool(m) and m.group(1).lower() in heads


def names_a_company(text: str, start: int, end: int, cased: bool, surname=lambda w: False) -> bool:
    """True if ``text[start:end]`` is (part of) a company name by its tail or its head word;
    ``surname(word)``: a known surname that is no given name."""
    words = _WORD.findall(text, start, end)
    surnames = bool(words) and all(surname(w) for w in words)
    return has_company_tail(text, start, end, cased, surnames) or has_company_head(text, start, end)


# three surnames listed, the shape of a partnership's name (``Hawkins, Richardson and Santana``,
# ``Kristiansen, Isaksen og Myhre``, ``Paolini, Geraci e Agnesi``): Faker's company formats of the
# training locales join them with "and", "og", "e", "y", "en" or "&". No "and"/"&" right before the list and
# none after it (``A, B, C and D`` is no such list); a comma before it is checked by :func:`_opens_list`,
# one after it may go on to the next name of an outer list (``White, Willis and Hoffman, Reed Elsevier``)
_MEMBER = r"[^\W\d_][\w'’]*"
_SURNAME_LIST = re.compile(r"(?<!(?:&|\band)[ \t]*)(" + _MEMBER + r"),[ \t]+(" + _MEMBER + r"),?[ \t]+"
                           r"(?:and|&|og|och|e|y|en|und|et)[ \t]+(" + _MEMBER + r")"
                           r"(?![ \t]*(?:,[ \t]*(?:and|&)[ \t]|&|\band\b)[ \t]*\w)", re.IGNORECASE)
_COMMA_BEFORE = re.compile(r"(\S+)[ \t]*,[ \t]*$")
_THE = re.compile(r"(?i:the)[ \t]+")


def _opens_list(text: str, pos: int, line_start: int, is_name) -> bool:
    """True if no earlier name of the same list stands before ``pos``: no comma there, or the word before
    the comma is no name (a number or date, a weekday or month, a word in lower case: ``During 2017, Jones,
    Mitchell and Williams``, ``During Sunday, Hawkins, ...``); ``Smith, Hawkins, Richardson and Santana``
    lists four."""
    m = _COMMA_BEFORE.search(text, line_start, pos)
    if m is None:
        return True
    word = m.group(1).strip("\"'’()")
    return (any(c.isdigit() for c in word) or word.lower() in _CALENDAR
            or word.islower() and not is_name(word))


_CALENDAR = frozenset("monday tuesday wednesday thursday friday saturday sunday today yesterday tomorrow january "
                      "february march april may june july august september october november december".split())


def in_surname_list(text: str, start: int, end: int, cased: bool, is_last, given_only,
                    cued=lambda text, pos: False, is_name=None) -> bool:
    """True if ``text[start:end]`` lies in a list of exactly three words joined ``A, B and C``, each a
    known surname (``is_last``), none a name known only as a given name (``given_only``: ``Anna,
    Lena and Ola`` are people), capitalised in text with capitals, at most one English word in text
    without (``murdoch, harris and burton`` is a firm; ``smith, baker and cook`` is not judged);
    ``cued(text, pos)``: a person cue before the list at ``pos`` makes them people.

    A list written in lower case in text with capitals is judged as in text without (``The owens, duran
    and oneal office``); a ``The`` opening the span is no part of the name (``The Clark`` of ``The Clark,
    Romero and Hall office``); a comma before the list after a word that is no name (``During 2017,
    Jones, Mitchell and Williams``: :func:`_opens_list`) leaves it three names."""
    the = _THE.match(text, start, end)
    start = the.end() if the else start
    known = is_name or (lambda w: is_last(w) or given_only(w))
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    for m in _SURNAME_LIST.finditer(text, line_start, len(text) if line_end < 0 else line_end):
        if m.start() <= start and end <= m.end():
            words = m.groups()
            if cued(text, m.start()) or not _opens_list(text, m.start(), line_start, known):
                return False  # "I called Novak, Kovacs and Horvath": people
            if not all(is_last(w) and not given_only(w) for w in words):
                return False
            if cased and not all(w.islower() for w in words):
                return all(w[:1].isupper() for w in words)
            return sum(is_ordinary(w.lower()) for w in words) <= 1  # "murdoch, harris and burton"
    return False


def holds_surname_list(text: str, first: int, last: int, cased: bool, is_last, given_only, cued, is_name) -> bool:
    """True if ``text[first:last]`` holds a partnership's name by :func:`in_surname_list` (``White, Willis and
    Hoffman`` of ``White, Willis and Hoffman, Biovia and Opencounter``)."""
    return any(in_surname_list(text, m.start(1), m.end(1), cased, is_last, given_only, cued, is_name)
               for m in _SURNAME_LIST.finditer(text, first, last))


_PAIR = re.compile(r"(" + _MEMBER + r"),[ \t]+(" + _MEMBER + r")")
_THIRD = re.compile(r"[ \t]+(?:and|&)[ \t]+(" + _MEMBER + r")(?![\w'’-])", re.IGNORECASE)


def third_of_list(text: str, start: int, end: int, cased: bool, cued=lambda text, pos: False) -> int:
    """End of ``C`` when the person span ``text[start:end]`` is ``A, B``, a person cue stands before it
    (``cued(text, start)``: ``I called``, ``Dear``) and `` and C`` follows it, ``C`` capitalised in text
    with capitals, of three or more letters and no English word (``I called Sárközi, Pušková and Murin``:
    the lexicon and the model find the pair, not an unknown third name); else ``end``. Without the cue a
    firm's list is left alone (``White, Willis and Hoffman, Lucid and Loveland Technologies``)."""
    if not _PAIR.fullmatch(text, start, end) or not cued(text, start):
        return end
    m = _THIRD.match(text, end)
    if m is None:
        return end
    word = m.group(1)
    ok = len(word) >= 3 and not is_ordinary(word.lower()) and (word[:1].isupper() or not cased)
    return m.end(1) if ok else end


_CUED_LIST = re.compile(r"(?<!,[ \t]*)(" + _MEMBER + r"),[ \t]+(" + _MEMBER + r"),?[ \t]+(?:and|&)[ \t]+(" + _MEMBER
                        + r")(?![\w'’-])")


def cued_surname_list(text: str, cased: bool, cued) -> list[tuple[int, int]]:
    """(start, end) of ``A``, ``B`` and ``C`` in ``A, B and C`` right after a person cue or a verb of contact
    or payment (``cued(text, pos)``: ``Please pay Demirel, Mikulák and Senková``), in text with capitals only,
    each word capitalised, of three or more letters and no English word: the model finds no span in such a
    list of unknown surnames and the lists know few of them (``I called Cik, Seven and ...`` is not taken)."""
    out = []
    for m in _CUED_LIST.finditer(text) if cased else ():
        words = [m.group(i) for i in (1, 2, 3)]
        if (all(len(w) >= 3 and w[:1].isupper() and w[1:].islower() and not is_ordinary(w.lower()) for w in words)
                and cued(text, m.start())):
            out += [(m.start(i), m.end(i)) for i in (1, 2, 3)]
    return out


# nouns for a firm's premises or branch: after ``the`` and a name they make the name a firm's (``The Golden
# Helix office is at ...``); a person's are written with a possessive (``Maria's office``) and bank chat puts
# other nouns after a family name (``the Smith account``, ``the Smith family``); hand list
_PREMISES = frozenset("office offices headquarters hq branch store factory warehouse plant".split())
_PREMISES_AFTER = re.compile(r"[ \t]+([^\W\d_]+)(?![\w'’-])")
_THE_BEFORE = re.compile(r"(?<![\w'’])(?i:the)[ \t]+$")


def before_premises(text: str, start: int, end: int) -> bool:
    """True if ``the`` stands right before the person-looking ``text[start:end]`` (or opens it) and a noun
    for a firm's premises follows it: ``The Golden Helix office is at ...``, ``the t rowe price office``;
    not ``the Smith account`` or ``Maria's office``. The caller keeps a span opening with a given name."""
    m = _PREMISES_AFTER.match(text, end)
    if m is None or m.group(1).lower() not in _PREMISES:
        return False
    return bool(_THE.match(text, start, end) or _THE_BEFORE.search(text, max(0, start - 8), start))
