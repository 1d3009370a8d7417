"""Surnames of the US Census 1990: names the Faker lists of :mod:`deid_lexicon` lack.

The 5,000 most frequent surnames of the 1990 census (US Census Bureau data, public domain; the
copy in the PyPI package ``names`` 0.3.0, MIT), shipped as ``fedflm/data/builtin/census_surnames.txt.gz``
(written by ``simulations/make_census_surnames.py``). Two uses:

* :func:`lexicon_surnames`: those that are no ordinary English word (:func:`deid_dictionary.is_ordinary`)
  join the lexicon's surnames (``lebron``, ``barkley``, ``coulter``, ``witherspoon``);
* :func:`is_census_surname`: all 5,000, dictionary words included (``cage``, ``martin``, ``lee``,
  ``love``), name the word after a lone given name in text without capitals
  (:func:`deid_lone.surname_after`: ``nicolas cage``), where a dictionary word alone is no evidence.

Rarer census entries hold more junk: at rank 30,000 the words that followed a given name on WNUT-17 dev
were ``dry``, ``pretty``, ``won``, ``nice`` and ``band``. Surnames only: the census given names beyond
Faker's were rare spellings and words (``soo``, ``eda``, ``corazon``, ``trinidad``) and found no name there.
"""

from __future__ import annotations

import gzip
from functools import lru_cache

CENSUS_FILE = "census_surnames.txt.gz"


@lru_cache(maxsize=1)
def census_surnames() -> frozenset[str]:
    """The shipped census surnames, lower case."""
    from fedflm.data.builtin_files import builtin_file
    with gzip.open(builtin_file(CENSUS_FILE), "rt", encoding="ascii") as fh:
        return frozenset(line.strip() for line in fh if line.strip())


def lexicon_surnames() -> frozenset[str]:
    """Census surnames of at least three letters that are no ordinary English word."""
    from fedflm.protect.deid_dictionary import is_ordinary
    return frozenset(n for n in census_surnames() if len(n) >= 3 and not is_ordinary(n))


def is_census_surname(word: str) -> bool:
    """True for a word (any case) of the census surnames, dictionary words included."""
    return word.lower() in census_surnames()
