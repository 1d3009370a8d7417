"""fedflm's learned PII detector: a small spaCy NER model shipped inside the package.

The model (``fedflm/protect/deid_model/``, a few MB) was trained by
``simulations/train_deid_ner.py`` on synthetic, case-augmented data
(:mod:`fedflm.protect.deid_train_data`); it finds PERSON and STREET_ADDRESS spans
in any letter case. It is pinned: :func:`load_model` refuses a model directory
whose SHA-256 (over every file, names included) differs from
:data:`MODEL_SHA256`. Nothing is downloaded.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import regex as re

from fedflm.errors import DeidError

MODEL_DIR = Path(__file__).resolve().parent / "deid_model"
MODEL_SHA256 = "b7e1fc8ea5d87cf11d54739bddd83fee5b55dec0062551eb2d4b02dd2ee45e7f"


def model_sha256(path: Path = MODEL_DIR) -> str:
    """SHA-256 over the sorted relative file names and contents of the model directory."""
    digest = hashlib.sha256()
    files = sorted(p for p in Path(path).rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    for p in files:
        digest.update(p.relative_to(path).as_posix().encode() + b"\0")
        digest.update(p.read_bytes())
    return digest.hexdigest()


@lru_cache(maxsize=2)
def load_model(path: Path = MODEL_DIR, expected_sha256: str | None = None):
    """The spaCy pipeline at ``path``, after checking its hash against the pinned one."""
    expected = MODEL_SHA256 if expected_sha256 is None else expected_sha256
    if not Path(path).is_dir():
        raise DeidError(f"learned de-identification model missing at {path}; reinstall fedflm "
                        f"or use --deid-engine patterns")
    actual = model_sha256(Path(path))
    if actual != expected:
        raise DeidError(f"learned de-identification model at {path} has SHA-256 {actual}, "
                        f"expected the pinned {expected}: refusing to use it")
    import spacy
    return spacy.load(path)


_TOKEN = re.compile(r"\S+")
_EDGE_PUNCT = ".,;:!?\"'()[]"
_LETTERS = re.compile(r"\p{L}{2,}")  # a name or an address holds a word, not only digits


def trim_span(text: str, start: int, end: int, ordinary: frozenset[str],
              numbers: bool = False) -> tuple[int, int] | None:
    """``(start, end)`` without leading/trailing words in ``ordinary`` (lower-cased); None if no word is left.

    The model sometimes takes a neighbouring word along (``maria gonzalez again``,
    ``… 0130 00 TODAY``); ordinary words are not part of a name or an address's edges.
    ``numbers``: also trim leading tokens without a letter (a name does not start with ``1971,``;
    a trailing number stays: it may be the house number of an address the model took for a name).
    """
    toks = [(m.start() + start, m.end() + start) for m in _TOKEN.finditer(text[start:end])]
    def ordinary_tok(t: tuple[int, int], lead: bool = False) -> bool:
        word = text[t[0]:t[1]].strip(_EDGE_PUNCT).lower()
        return bool(word) and (word in ordinary or lead and numbers and not any(c.isalpha() for c in word))
    while toks and ordinary_tok(toks[-1]):
        toks.pop()
    while toks and ordinary_tok(toks[0], lead=True):
        toks.pop(0)
    if not toks:
        return None
    s, e = toks[0][0], toks[-1][1]
    while e > s and (text[e - 1].isspace() or text[e - 1] in _EDGE_PUNCT and not (
            text[e - 1] == "." and e - s > 1 and text[e - 2].isalpha() and e - 2 - s < 2)):
        e -= 1  # "lindqvist ," ends at the name, not at the space before the comma
    return (s, e) if e > s and _LETTERS.search(text, s, e) else None


_WORDS = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")


def plausible(span: str, label: str, street: frozenset[str], is_name=lambda w: False) -> bool:
    """False for a model span that reads as ordinary English rather than a name or an address.

    * PERSON: every word is a dictionary word (:func:`deid_dictionary.is_ordinary`) and none
      is capitalised (``wild``, ``major kudos``), or it is one capitalised dictionary word
      that no name list holds (``Users``, ``Pedestrians``); a capitalised ``Mark`` stays.
    * STREET_ADDRESS: every word is a dictionary word other than a street word (``10 complete
      misses``, ``pun-laden dialogue``), or it ends in a unit and holds no street word (a
      quantity: ``110 claustrophobic minutes``), or its only numbers are years after a preposition
      and it holds no street word (``Balefire Global in Amsterdam, which later became Zillow in
      2014``). A span without digits is kept otherwise: the model
      sometimes labels a name as an address, and it must stay masked.
    """
    from fedflm.protect.deid_dictionary import is_ordinary
    words = _WORDS.findall(span)
    if label == "PERSON":
        if words and all(is_ordinary(w) and not is_name(w) for w in words):
            return False  # "Users", "Princess Royal", "studying English": no name among them
        titled = any(w[:1].isupper() and not w.isupper() for w in words)
        return titled or not all(map(is_ordinary, words))
    if label == "STREET_ADDRESS":
        if not any(w.lower() in street for w in words):
            if words and words[-1].lower() in _UNITS:
                return False  # a quantity: "110 claustrophobic minutes", "25 euros"
            numbers = [m.span() for m in _NUMBER.finditer(span)]
            years = {m.span(1) for m in _YEAR.finditer(span)}
            if numbers and all(n in years for n in numbers):
                return False  # its only numbers are years: "Balefire Global in Amsterdam ... in 2014"
        return any(w.lower() in street or not is_ordinary(w) for w in words)
    return True


_NUMBER = re.compile(r"\d+")
# a year after its preposition ("in 2014", "since 1998"), not a house number
_YEAR = re.compile(r"(?i:\b(?:in|since|during|until|till|from|by|of)[ \t]+)((?:1[89]|20)\d\d)\b")
# what a number counts, not where someone lives (plural forms; street words are checked apart)
_UNITS = frozenset(
    "seconds minutes mins hours hrs days nights weeks months years yrs decades centuries times pages chapters "
    "episodes scenes movies films songs people persons euros dollars pounds bucks cents percent miles kilometers "
    "kilometres km feet inches meters metres kilos kg grams calories degrees points votes stars".split())
_PERSON_SHAPE = re.compile(r"^(?:(?:Dr|Mr|Mrs|Ms|Prof|Sir|Dame)\.?\s+\p{Lu}|\p{Lu}\p{L}+\s+\p{Lu}\.?\s+\p{Lu}\p{L})")


def model_label(span: str, label: str, street: frozenset[str]) -> str:
    """The model's label, except that a digit-less "address" without a street word shaped like a
    name (``Dr. Anette Lahtela``, ``Alvir D. Pušaver``: a title, or a middle initial) is a PERSON."""
    if label != "STREET_ADDRESS" or any(c.isdigit() for c in span) or "\n" in span:
        return label
    m = _PERSON_SHAPE.match(span)
    if not m or any(w.lower() in street for w in _WORDS.findall(span, m.end() - 1)):
        return label  # ("Dr" before a name is a title, not "Drive")
    return "PERSON"
