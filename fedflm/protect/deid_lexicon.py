"""Given-name and surname lexicon for person detection, taken from Faker and the US census.

Faker (MIT licence) ships first- and last-name lists for ~85 locales. We keep
the names written in Latin script (the detector works on capitalised Latin
tokens) and drop names that are also common English words in our stop list,
which would otherwise be masked whenever capitalised. The US Census 1990 surnames that are
no dictionary word (:mod:`deid_census`) join the surnames.

The names of :data:`HELDOUT_LOCALES` are never in the lexicon nor in the
learned detector's training data: the benchmark and the property test draw
their names from there (minus any token that also occurs in the lexicon or
among the census surnames, dictionary words included), so
they measure recall on names nothing was fitted on.
"""

from __future__ import annotations

import importlib
import pkgutil
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from fedflm.protect.deid_census import is_census_surname, lexicon_surnames

# Capitalised, these are far more often ordinary words than names in text.
COMMON_WORDS = frozenset("""
a about above after again all also am an and any are as at back be because been before being
best bill black blue brown but by can cash card case child city close cook could day dear did do
does down during each early east even ever few first five for four from gold good grace great
green grey gray had has have he her here him his hope how i if in into is it its joy just key
king last late law lee less like little long love low main many march may me might mine more most
much must my new next nice no north not now of off old on once one only or other our out over
own page park people price rich right rose said same see she should small so some south star
still strong such summer sun than that the their them then there these they this those three
through to today too two under until up very wall was way we well were west what when where which
while white who why will winter with wood would year yes yet you young your
monday tuesday wednesday thursday friday saturday sunday january february april june july august
september october november december bank transfer account money phone email address street road
""".split())

# Faker names that, capitalised in text, are far more often titles, ranks or languages
# ("The Princess Royal", "studying English", "Major General") than a person's name.
TITLE_WORDS = frozenset("""
princess prince royal queen duke duchess lady lord baron earl major general colonel captain governor
mayor judge doctor english german french spanish italian dutch irish scottish welsh british american danish
""".split())

# Words that never start or end a name or an address ("JOHN O'NEIL, IBAN DE89 ...", "... 00 TODAY").
KEY_WORDS = frozenset("iban ssn swift bic tel ip email e-mail card acct account".split())

# Reserved for evaluation: neither the lexicon nor the learned detector ever sees these names.
HELDOUT_LOCALES = ("hu_HU", "ro_RO", "tr_TR", "sk_SK", "hr_HR", "lt_LT", "sl_SI", "et_EE")

PARTICLES = frozenset("de del della dello dei di da do dos das du van von der den ter ten la le "
                      "y e bin ibn al el af zu st st.".split())


def _latin(name: str) -> bool:
    for ch in name:
        if ch.isalpha() and "LATIN" not in unicodedata.name(ch, ""):
            return False
    return bool(name)


def _provider_names(locale: str) -> tuple[set[str], set[str]]:
    mod = importlib.import_module(f"faker.providers.person.{locale}")
    provider = mod.Provider
    firsts: set[str] = set()
    lasts: set[str] = set()
    for attr, bucket in (("first_names", firsts), ("first_names_male", firsts),
                         ("first_names_female", firsts), ("last_names", lasts),
                         ("last_names_male", lasts), ("last_names_female", lasts)):
        values = getattr(provider, attr, ())
        if isinstance(values, (tuple, list, dict, set, frozenset)):
            bucket.update(str(v) for v in values)
    return firsts, lasts


def training_locales(package: str) -> list[str]:
    """Sorted locales of the Faker provider package ``package`` (``faker.providers.address``), without
    :data:`HELDOUT_LOCALES`."""
    mod = importlib.import_module(package)  # heavy package: imported on first use
    return sorted(m.name for m in pkgutil.iter_modules(mod.__path__) if m.name not in HELDOUT_LOCALES)


def provider_values(module: str, attrs: tuple[str, ...]) -> list[str]:
    """The non-empty Latin-script strings of ``attrs`` of the Faker provider in ``module`` (none if it has
    no ``Provider``): a weighted dict gives its keys, a (code, name) entry its longest string (``("AI",
    "Appenzell Innerrhoden")``)."""
    try:
        provider = importlib.import_module(module).Provider
    except (ImportError, AttributeError):
        return []
    out = []
    for attr in attrs:
        values = getattr(provider, attr, ())
        if isinstance(values, dict):
            values = tuple(values)
        if isinstance(values, (tuple, list)):
            out += [v for v in (max((x for x in e if isinstance(x, str)), key=len, default="")
                                if isinstance(e, tuple) else e for e in values)
                    if isinstance(v, str) and v and _latin(v)]
    return out


def faker_locales() -> list[str]:
    import faker.providers.person as person  # local import: heavy package
    return sorted(m.name for m in pkgutil.iter_modules(person.__path__))


@dataclass(frozen=True)
class NameLexicon:
    """Lower-cased name tokens: ``first`` (given names), ``last`` (surnames)."""

    first: frozenset[str]
    last: frozenset[str]

    def is_first(self, token: str) -> bool:
        return token.lower() in self.first

    def is_last(self, token: str) -> bool:
        return token.lower() in self.last

    def is_name(self, token: str) -> bool:
        low = token.lower()
        return low in self.first or low in self.last


def heldout_names(lexicon: NameLexicon) -> tuple[list[str], list[str]]:
    """Given names and surnames of :data:`HELDOUT_LOCALES` none of whose tokens is in ``lexicon``."""
    firsts: set[str] = set()
    lasts: set[str] = set()
    for locale in HELDOUT_LOCALES:
        f, la = _provider_names(locale)
        firsts.update(n for n in f if _latin(n))
        lasts.update(n for n in la if _latin(n))

    def unseen(name: str) -> bool:
        toks = [t.lower() for t in _tokens(name)]
        return bool(toks) and not any(t in lexicon.first or t in lexicon.last or t in COMMON_WORDS
                                      or is_census_surname(t) for t in toks)
    return sorted(n for n in firsts if unseen(n)), sorted(n for n in lasts if unseen(n))


def _tokens(name: str) -> list[str]:
    return [t for t in name.replace("-", " ").split() if t.lower() not in PARTICLES]


def _place_words() -> set[str]:
    """Country names (Faker's English list): capitalised, they are places, not people."""
    from faker.providers.address.en_US import Provider
    return {t.lower() for c in Provider.countries for t in c.replace(",", " ").split() if len(t) > 3}


@lru_cache(maxsize=8)
def build_lexicon(exclude_locales: tuple[str, ...] = ()) -> NameLexicon:
    """Union of Faker's Latin-script names over all locales but ``exclude_locales`` and the held-out ones."""
    first: set[str] = set()
    last: set[str] = set()
    for locale in faker_locales():
        if locale in exclude_locales or locale in HELDOUT_LOCALES:
            continue
        firsts, lasts = _provider_names(locale)
        first.update(t.lower() for n in firsts if _latin(n) for t in _tokens(n))
        last.update(t.lower() for n in lasts if _latin(n) for t in _tokens(n))
    last |= lexicon_surnames()
    drop = COMMON_WORDS | TITLE_WORDS | _place_words() | {t for t in first | last if len(t) < 2}
    return NameLexicon(frozenset(first - drop), frozenset(last - drop))


@lru_cache(maxsize=2)
def common_vocab(min_count: int = 3, held_out: frozenset[str] = frozenset()) -> frozenset[str]:
    """Lower-cased ordinary words: they stay lower case in a re-cased view (:mod:`deid_case`).

    Words seen ``min_count`` times in the built-in *train* splits (Banking77, SST-2),
    spaCy's English stop words and :data:`COMMON_WORDS`. Lexicon names are left out
    (capitalised in the view, the person recognizer judges them) unless Banking77's
    name-free customer messages use them as words (``chase``, ``bill``).
    ``held_out``: SST-2 or Banking77 train rows to leave out (a tuning split, see ``simulations/tune_deid.py``).
    """
    import csv
    import gzip
    from collections import Counter

    import regex as re
    from spacy.lang.en.stop_words import STOP_WORDS

    from fedflm.data.builtin_files import builtin_file

    word = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
    bank: Counter = Counter()
    sst: Counter = Counter()
    with gzip.open(builtin_file("banking77_train.csv.gz"), "rt", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["text"] not in held_out:
                bank.update(word.findall(row["text"].lower()))
    with gzip.open(builtin_file("sst2_train.tsv.gz"), "rt", encoding="utf-8") as fh:
        next(fh)
        for line in fh:
            if line.split("\t")[0] not in held_out:
                sst.update(word.findall(line.lower()))
    lex = build_lexicon()
    # SST-2 names real people (actors, directors): a lexicon name counts as a word only if
    # Banking77 (customer messages without names) uses it.
    words = {w for w, n in (bank + sst).items() if n >= min_count and not lex.is_name(w)}
    words |= {w for w, n in bank.items() if n >= min_count}
    return frozenset(words | set(STOP_WORDS) | COMMON_WORDS)
