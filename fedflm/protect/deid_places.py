"""Place names: a gazetteer that tells a country, region or city from a person's name.

The name lexicon (:mod:`fedflm.protect.deid_lexicon`) holds many words that also name places
(``Berlin``, ``Texas``, ``Madrid`` are Faker surnames), and the lexicon's rule for two or three
unknown capitalised words takes ``San Bernardino`` or ``Store Merløse`` for a name. This module
says when a person-looking span is a whole place name instead.

Source: Faker's address providers (MIT licence, an installed dependency; nothing is downloaded
or shipped): the ``countries``, ``states``, ``provinces``, ``regions``, ``departments`` and
``cities`` lists of every locale except :data:`~fedflm.protect.deid_lexicon.HELDOUT_LOCALES`,
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

import importlib
import pkgutil
from collections.abc import Callable
from functools import lru_cache

import regex as re

from fedflm.protect.deid_lexicon import HELDOUT_LOCALES, _latin

_REGION_LISTS = ("countries", "states", "provinces", "regions", "departments", "region_names")
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


def _provider_lists(locale: str, attrs: tuple[str, ...]) -> set[str]:
    """Lower-cased Latin-script entries of ``attrs`` of the Faker address provider of ``locale``."""
    try:
        provider = importlib.import_module(f"faker.providers.address.{locale}").Provider
    except (ImportError, AttributeError):
        return set()
    out: set[str] = set()
    for attr in attrs:
        values = getattr(provider, attr, ())
        if isinstance(values, dict):
            values = tuple(values)
        if isinstance(values, (tuple, list)):
            out.update(_norm(v) for v in values if isinstance(v, str) and _latin(v))
    return out


def _norm(name: str) -> str:
    return _SPACE.sub(" ", name.strip()).lower()


def _locales() -> list[str]:
    import faker.providers.address as address  # local import: heavy package
    return sorted(m.name for m in pkgutil.iter_modules(address.__path__) if m.name not in HELDOUT_LOCALES)


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
    """Lower-cased city names of the training locales."""
    names: set[str] = set()
    for locale in _locales():
        names |= _provider_lists(locale, _TOWN_LISTS)
    return frozenset(n for n in names if _long_enough(n))


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
    return key in towns() and (len(words) > 1 or not is_name(words[0]))


def before_place_head(text: str, start: int, end: int, cased: bool, is_name: Callable[[str], bool]) -> bool:
    """True if the word right after ``end`` heads a venue's or place's name (:data:`PLACE_HEADS` but
    ``beach``, a surname too: ``the chelsea hotel``, ``Columbia Pictures``) and the run reads as a
    name, not as a person followed by a noun (``I sent John pictures``, ``i sent maria lopez pictures``
    stay people): ``the`` stands right before the span, or the head is capitalised in text with
    capitals, or, in text without capitals, no word of the span is in the name lists."""
    m = _HEAD_AFTER.match(text, end)
    if not m or m.group(1).lower() not in PLACE_HEADS or m.group(1).lower() == "beach":
        return False
    if _THE_BEFORE.search(text, max(0, start - 8), start):
        return True
    if cased:
        return m.group(1)[0].isupper()
    return not any(is_name(w.lower()) for w in _WORD.findall(text, start, end))
