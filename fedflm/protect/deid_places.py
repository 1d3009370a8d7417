"""Place names: a gazetteer that tells a country, region or city from a person's name.

The name lexicon (:mod:`fedflm.protect.deid_lexicon`) holds many words that also name places
(``Berlin``, ``Texas``, ``Madrid`` are Faker surnames), and the lexicon's rule for two or three
unknown capitalised words takes ``San Bernardino`` or ``Store Merløse`` for a name. This module
says when a person-looking span is a whole place name instead.

Source: Faker's address providers (MIT licence, an installed dependency; nothing is downloaded
or shipped): the ``countries``, ``states``, ``provinces``, ``regions``, ``departments`` and
``cities`` lists (and ``cantons``, ``counties``, ``estados``, ``distritos``, whose entries may be
(code, name) pairs), and the capitals and time-zone cities of its date-time provider, of every locale except :data:`~fedflm.protect.deid_lexicon.HELDOUT_LOCALES`,
in Latin script. Two tiers, so that a surname is not lost to a town of the same name:

* **regions** (countries, states, provinces, regions, departments): a span that is one of them
  is a place unless it is a known given name (``Victoria``, ``Virginia`` stay people);
* **towns** (cities): a span of several words that is one of them is a place too (``San
  Bernardino``); a one-word town only if it is no known name at all (``Naantali``; the surnames
  ``Roth`` and ``Jessen`` stay people).

Faker lists few real US cities, so two hand rules add what a place name looks like:

* a span of several words that opens with a place prefix (:data:`PLACE_PREFIXES`: ``san diego``,
  ``santa monica``, ``fort worth``, ``las vegas``) and whose first word is no given name;
* a span followed by, or ending in, a noun that heads the name of a venue or a place
  (:data:`PLACE_HEADS`: ``the chelsea hotel``, ``columbia pictures``, ``miami beach``). Followed by
  one (``beach`` aside), even a given name (``chelsea``) is a place; ending in one, only if its first
  word is no given name (``john beach`` stays a person: ``Beach`` is a surname).

Either way a person cue before the span (``Mr.``, ``Dear``, ``my name is``) keeps it a person:
see :func:`names_a_place`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import regex as re

from fedflm.protect.deid_lexicon import HELDOUT_LOCALES, _latin, provider_values, training_locales

_REGION_LISTS = ("countries", "states", "provinces", "regions", "departments", "region_names", "cantons", "counties",
                 "estados", "distritos")
_TOWN_LISTS = ("cities", "city_names")
_MIN_LETTERS = 4  # "Fo", "Li", "Ta" (country names in some languages) are too short to be sure
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
#: first words of many US, Spanish, Portuguese and French place names, never a person's first word
PLACE_PREFIXES = frozenset("san santa santo são sao saint sainte fort puerto porto los las".split())
#: nouns that end the name of a venue or a place, not a person's name (hand list)
PLACE_HEADS = frozenset("hotel motel beach pictures studios airport stadium".split())
_HEAD_AFTER = re.compile(r"[ \t]+([^\W\d_]+)(?![\w'’-])")
_SPACE = re.compile(r"\s+")
_THE_BEFORE = re.compile(r"(?<![\w'’])the\s+$", re.IGNORECASE)
_OWNED = re.compile(r"[ \t]?['’](?:s(?![\w'’])|[ \t])", re.IGNORECASE)  # "columbia pictures ' idea", "... hotel's bar"


def _provider_lists(locale: str, attrs: tuple[str, ...], keep_case: bool = False) -> set[str]:
    """Lower-cased (or, ``keep_case``, as written) Latin-script entries of ``attrs`` of the Faker
    address provider of ``locale`` (:func:`deid_lexicon.provider_values`)."""
    values = provider_values(f"faker.providers.address.{locale}", attrs)
    return set(values) if keep_case else {_norm(v) for v in values}


def _norm(name: str) -> str:
    return _SPACE.sub(" ", name.strip()).lower()


def _locales() -> list[str]:
    return training_locales("faker.providers.address")


def _long_enough(name: str) -> bool:
    return sum(c.isalpha() for c in name) >= _MIN_LETTERS


@lru_cache(maxsize=1)
def regions() -> frozenset[str]:
    """Lower-cased countries, states, provinces and regions of the training locales."""
    from fedflm.protect.deid_address import countries
    names = set(countries())
    for locale in _locales():
        names |= _provider_lists(locale, _REGION_LISTS)
    return frozenset(n for n in names if _long_enough(n))


@lru_cache(maxsize=1)
def towns() -> frozenset[str]:
    """Lower-cased city names of the training locales, and the world's capitals and time-zone cities
    of Faker's date-time provider (``Montreal``, ``Buenos Aires``: Faker's English providers make up
    their city names, so no list of theirs holds a real one)."""
    names: set[str] = set()
    for locale in _locales():
        names |= _provider_lists(locale, _TOWN_LISTS)
    held_out = set().union(*(_provider_lists(loc, _TOWN_LISTS) for loc in HELDOUT_LOCALES))
    world = _world_cities() - (held_out - names)  # no town only a held-out locale lists ("Budapest")
    return frozenset(n for n in names | world if _long_enough(n))


def _world_cities() -> set[str]:
    """Capitals and the city part of the time zones (``America/Buenos_Aires``) of Faker's countries."""
    from faker.providers.date_time import Provider  # local import: heavy package
    out: set[str] = set()
    for country in getattr(Provider, "countries", ()):
        zones = [z.rsplit("/", 1)[-1].replace("_", " ") for z in getattr(country, "timezones", ())]
        out.update(_norm(c) for c in [getattr(country, "capital", ""), *zones] if c and _latin(c))
    return out


def names_a_place(span: str, is_first: Callable[[str], bool], is_name: Callable[[str], bool]) -> bool:
    """True if the person-looking ``span`` is, as a whole, a place name of the gazetteer whose first
    word is no given name (``is_first``): a region, or a town of several words (``San Bernardino``,
    ``Den Hoorn``), or a one-word town that is no known name at all (``is_name``: ``Naantali``, not
    ``Roth``). The caller checks the person cues around it."""
    key = _norm(span)
    words = _WORD.findall(span)
    if not words or not _long_enough(key) or is_first(words[0]):
        return False
    if len(words) > 1 and (words[0].lower() in PLACE_PREFIXES or words[-1].lower() in PLACE_HEADS):
        return True
    if key in regions():
        return True
    if key in towns() and (len(words) > 1 or not is_name(words[0])):
        return True
    return _place_shape(words, is_name)


#: particles inside Romance place names (``Villafranca del Cid``, ``Castel del Rio``, ``Rio de Janeiro``)
_PLACE_PARTICLES = frozenset("del della delle dei de di da do dos das".split())


def _place_shape(words: list[str], is_name: Callable[[str], bool]) -> bool:
    """A place by its shape, its first word no known name (``is_name``): a word, a Romance particle and more
    (``Villafranca del Cid``; ``Maria del Carmen``, ``Andrea del Sarto`` open with names), or a region of the
    gazetteer and one word that is no known name either (a district: ``Bremen Ohlenhof``); not a town: small
    towns share unknown given names (``Geta Krištof``, ``Arina Bôriková``)."""
    first = words[0]
    if len(first) < _MIN_LETTERS or is_name(first):
        return False
    if len(words) >= 3 and words[1].lower() in _PLACE_PARTICLES:
        return True
    return len(words) == 2 and first.lower() in regions() and not is_name(words[1])


def before_place_head(text: str, start: int, end: int, cased: bool, is_name: Callable[[str], bool]) -> bool:
    """True if the word right after ``end`` heads a venue's or place's name (:data:`PLACE_HEADS` but
    ``beach``, a surname too: ``the chelsea hotel``, ``Columbia Pictures``) and the run reads as a
    name, not as a person followed by a noun (``I sent John pictures``, ``i sent maria lopez pictures``
    stay people): ``the`` stands right before the span, or a possessive right after the head (``columbia
    pictures ' idea``), or the head is capitalised in text with
    capitals, or, in text without capitals, no word of the span is in the name lists."""
    m = _HEAD_AFTER.match(text, end)
    if not m or m.group(1).lower() not in PLACE_HEADS or m.group(1).lower() == "beach":
        return False
    if _THE_BEFORE.search(text, max(0, start - 8), start) or _OWNED.match(text, m.end()):
        return True  # "the chelsea hotel", "columbia pictures ' idea": the head's possessive owns what follows
    if cased:
        return m.group(1)[0].isupper()
    return not any(is_name(w.lower()) for w in _WORD.findall(text, start, end))


# Faker writes most city names of its English, French, Italian, Spanish and Portuguese providers from
# a name and an affix ("East Jessica", "Nadia Ville", "Pearsonborough", "San Héctor los bajos"): no
# list holds them, so they are read by their shape, with the affixes of the same providers
_AFFIX_LISTS = ("city_prefixes", "city_adjectives", "city_suffixes")
_MIN_GLUED = 4  # glued endings this long ("mouth", "borough", "ville"), not "ton" or "by" (Clinton, Ashby)


_HONORIFICS = frozenset({"sri", "seri"})  # Malay city prefixes that also stand before people's names


@lru_cache(maxsize=1)
def city_affixes() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """(prefix words without a final dot, separate suffixes, glued endings), lower-cased, of the city names
    of the training locales: ``north``, ``san``; ``ville``, ``los bajos``, ``do sul``; ``mouth``, ``borough`` (glued or
    apart as the locale's ``city_formats`` write them). Suffixes shorter than four letters are left out
    (``by``, ``ton``: Ashby, Clinton)."""
    prefixes, separate, glued = set(), set(), set()
    for locale in _locales():
        starts = _provider_lists(locale, ("city_prefixes", "city_adjectives"), keep_case=True)  # Nueva, Vieja
        formats = " ".join(_provider_lists(locale, ("city_formats",), keep_case=True))
        for value in _provider_lists(locale, _AFFIX_LISTS, keep_case=True):
            word = value.strip(" -").lower()
            if not word or "-" in word:
                continue
            if value in starts:
                if " " not in word and len(word.strip(".'")) >= 3 and word not in _HONORIFICS:
                    prefixes.add(word.rstrip("."))  # "St." and "St" alike
            elif max(len(w) for w in word.split()) >= _MIN_GLUED:
                if "}}{{city_suffix}}" in formats and not value.startswith(" "):
                    glued.add(word)  # "{{first_name}}{{city_suffix}}": Jacquesmouth
                if "}} {{city_suffix}}" in formats or value.startswith(" "):
                    separate.add(word)  # "{{first_name}} {{city_suffix}}": Nadia Ville, Anna terme
    return frozenset(prefixes), frozenset(separate), frozenset(glued)


_NEXT_WORDS = re.compile(r"[ \t]+([^\W\d_]+(?:[ \t]+[^\W\d_]+){0,2})")
_PREV_WORD = re.compile(r"([^\W\d_]+\.?)[ \t]+$")


def generated_city(text: str, start: int, end: int, cased: bool, is_name: Callable[[str], bool],
                   ordinary: Callable[[str], bool], is_last: Callable[[str], bool] = lambda w: False) -> bool:
    """True if the person-looking ``text[start:end]`` is a city in the shape Faker builds them:
    a name glued to an ending that leaves no known name (``Pearsonborough``, ``Jacquesmouth``; not
    ``Melville``, a surname), a name with a suffix that is no surname and no English word after it
    (``Nadia Ville``, ``San Héctor los bajos``; ``is_last``: not ``Anna Hill``), or, in text with
    capitals, a capitalised prefix and one name (``East Jessica``, ``Port Martyn``; ``north daniel``
    in lower case is left alone: north, new and lake are English words there)."""
    prefixes, separate, glued = city_affixes()
    words = _WORD.findall(text, start, end)
    if not words:
        return False
    last = words[-1]
    low = last.lower()
    if not is_name(last) and any(low.endswith(g) and len(low) - len(g) >= 3 and is_name(low[:-len(g)])
                                 for g in glued):
        return True
    joined = " ".join(w.lower() for w in words)
    after = _NEXT_WORDS.match(text, end)
    nexts = [] if after is None else [" ".join(after.group(1).split()[:k]).lower() for k in (1, 2, 3)]
    if any((s in nexts or joined.endswith(" " + s)) and _no_name(s, is_last, ordinary) for s in separate):
        return True  # "Nadia Ville", "San Jaime los altos", "San Héctor" + " los bajos"
    if not cased:
        return False
    before = _PREV_WORD.search(text, text.rfind("\n", 0, start) + 1, start)
    head = words[0] if len(words) == 2 else before.group(1) if before and len(words) == 1 else ""
    return bool(head) and head[:1].isupper() and head.lower().rstrip(".") in prefixes \
        and (is_name(words[-1]) or not ordinary(words[-1].lower()))


def _no_name(suffix: str, is_last: Callable[[str], bool], ordinary: Callable[[str], bool]) -> bool:
    """A suffix of several words (``los bajos``, ``de la montaña``), or one word that is no surname
    (``is_last``) and no English word (``paulista``, ``ville``; not ``hill``)."""
    return " " in suffix or not (is_last(suffix) or ordinary(suffix))

