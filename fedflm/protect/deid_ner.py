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
      that no name list holds (``Users``, ``Pedestrians``), accented loan words too (``animé``:
      :func:`deid_dictionary.accented_word`); a capitalised ``Mark`` stays.
    * STREET_ADDRESS: every word is a dictionary word other than a street word (``10 complete
      misses``, ``pun-laden dialogue``), or it ends in a unit and holds no street word (a
      quantity: ``110 claustrophobic minutes``), or its only numbers are years after a preposition
      and it holds no street word (``Balefire Global in Amsterdam, which later became Zillow in
      2014``). A unit with its number is an address (``Suite 757``, ``apt. 169``). A span without
      digits is kept otherwise: the model sometimes labels a name as an address, and it must stay
      masked (:func:`model_pieces` judges such a span as a person first).
    """
    from fedflm.protect.deid_dictionary import accented_word, is_ordinary
    words = _WORDS.findall(span)
    if label == "PERSON":
        if words and all((is_ordinary(w) or accented_word(w)) and not is_name(w) for w in words):
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
        return any(w.lower() in street or not is_ordinary(w) for w in words) or bool(_UNIT_NUMBER.search(span))
    return True


_NUMBER = re.compile(r"\d+")
_UNIT_NUMBER = re.compile(r"(?i:\b(?:apt|apartment|suite|ste|unit|flat|bldg)\.?[ \t]*#?[ \t]*\d)")
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
    name (``Dr. Anette Lahtela``, ``Alvir D. Pušaver``: a title, or a middle initial) is a PERSON,
    and a one-line "person" that ends in a house number after a capitalised word is a street
    (``Eyrarodda 66``, ``Pod Floriánem 1677``; not a year: ``Anna Berg 1990``)."""
    if label == "PERSON" and "\n" not in span and _ENDS_IN_HOUSE_NUMBER.search(span):
        return "STREET_ADDRESS"
    if label != "STREET_ADDRESS" or any(c.isdigit() for c in span) or "\n" in span:
        return label
    m = _PERSON_SHAPE.match(span)
    if not m or any(w.lower() in street for w in _WORDS.findall(span, m.end() - 1)):
        return label  # ("Dr" before a name is a title, not "Drive")
    return "PERSON"


_ENDS_IN_HOUSE_NUMBER = re.compile(r"\p{Lu}\p{L}+[ \t]+(?!(?:19|20)\d\d\b)\d{1,5}[A-Za-z]?$")
_LINE = re.compile(r"[^\n]+")
_QUOTE = re.compile(r"[\"“”„«»]")
_RUN_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
# what a number in an address span without a street word is when it is no house number
_DATE = re.compile(r"\d{1,4}[/.-]\d{1,2}[/.-]\d{2,4}")
_UNIT_WORDS = frozenset("apt apartment suite ste unit flat floor fl room rm bldg building level lot box no nr".split())


def model_pieces(text: str, start: int, end: int, label: str, street: frozenset[str], prefixes: frozenset[str],
                 cased: bool, is_name=lambda w: False) -> list[tuple[int, int, str]]:
    """A model span cut into the pieces judged one by one, each with the label it is judged as.

    * PERSON over line breaks: line by line, and a line holding a digit is an address line (a name is one
      line without digits: ``Dataweave\\n\\nFuglie 41 Popović Dam\\n Suite 860`` is a firm atop an address).
    * STREET_ADDRESS on one line ends at a sentence's end (``Suite 292. It serves great Greenlander food``)
      and is cut at quote marks and, in text with capitals, at runs of two or more lower-case English words
      (``Asya:"I'm Keira E. Forster's daughter"``, ``Usaa Group invested heavily in new microprocessor
      designs``): an address runs across none of them. A piece with no house number (a digit outside a
      date or a year) and no street word (:func:`has_street_word`) is judged as a PERSON, so a name the
      model took for an address stays masked, as a person, and a firm or a title is judged as one (``X-ray
      technician Freja Clausen``, ``Infocommerce Group, Biovia``); in text with capitals it needs a
      capitalised word, and what follows a lower-case ``in`` is where something is, a place (``Topcoder in
      Khandallah``); in text without capitals it needs a known name (``is_name``), else it stays the model's
      address (``bought at wal-mart``: no person). A piece that is a whole line of a text with line breaks stays an address (a city line)."""
    if label == "PERSON":
        if "\n" not in text[start:end]:
            return [(start, end, label)]
        return [(m.start(), m.end(), "STREET_ADDRESS" if any(c.isdigit() for c in m.group()) else label)
                for m in _LINE.finditer(text, start, end)]
    if label != "STREET_ADDRESS" or "\n" in text[start:end]:
        return [(start, end, label)]
    stop = _SENTENCE_END.search(text, start, end)
    out = []
    for s, e in _address_pieces(text, start, stop.start() + 1 if stop else end, street, cased):
        if has_street_word(text[s:e], street, prefixes) or "\n" in text and _whole_line(text, s, e):
            out.append((s, e, label))
            continue
        place = _IN.search(text, s, e) if cased else None
        e = place.start() if place else e
        words = _WORDS.findall(text, s, e)
        if has_house_number(text[s:e]) or not cased and not any(map(is_name, words)):
            out.append((s, e, label))
        elif not cased or any(w[:1].isupper() for w in words):
            out.append((s, e, "PERSON"))
    return out


_SENTENCE_END = re.compile(r"[.!?][ \t]+(?=(?:It|The|This|That|These|They|We|He|She|You|I|There|Please|Thanks?)\b)")
_IN = re.compile(r"[ \t,]in[ \t]+(?=[\p{Lu}\d])")


def _address_pieces(text: str, start: int, end: int, street: frozenset[str], cased: bool) -> list[tuple[int, int]]:
    """``text[start:end]`` split at quote marks and, if ``cased``, at runs of 2+ lower-case English words."""
    from fedflm.protect.deid_dictionary import is_ordinary
    from fedflm.protect.deid_lexicon import PARTICLES
    from spacy.lang.en.stop_words import STOP_WORDS

    def breaks(w: str) -> bool:
        low = w.lower()
        return (cased and w.islower() and len(w) >= 2 and (low in STOP_WORDS or is_ordinary(low))
                and low not in street and low not in PARTICLES and low not in _UNIT_WORDS)
    cuts: list[tuple[int, int]] = [m.span() for m in _QUOTE.finditer(text, start, end)]
    run: list[tuple[int, int]] = []
    for m in _RUN_WORD.finditer(text, start, end):
        if breaks(m.group()) and not (run and _QUOTE.search(text, run[-1][1], m.start())):
            run.append(m.span())
            continue
        if len(run) >= 2:
            cuts.append((run[0][0], run[-1][1]))
        run = [m.span()] if breaks(m.group()) else []
    if len(run) >= 2:
        cuts.append((run[0][0], run[-1][1]))
    pieces, pos = [], start
    for s, e in sorted(cuts):
        if s > pos:
            pieces.append((pos, s))
        pos = max(pos, e)
    if end > pos:
        pieces.append((pos, end))
    return pieces


def has_house_number(span: str) -> bool:
    """True if ``span`` holds a digit outside a date (``9/25/1945``) and a year after its preposition."""
    rest = _YEAR.sub(lambda m: m.group(0).replace(m.group(1), ""), _DATE.sub("", span))
    return any(c.isdigit() for c in rest)


def has_street_word(span: str, street: frozenset[str], prefixes: frozenset[str]) -> bool:
    """True if a word of ``span`` is a street word: a street type after the first word (``Mill Village``), an
    opening one first (``Rue``, ``Via``), or a compound with a street suffix (``Wingertweg``); a first
    ``Rapid``, ``Walk`` or ``Club`` is no street (``Rapid Cycle Solutions``, ``Walk Score``)."""
    from fedflm.protect.deid_address import street_compound
    words = _WORDS.findall(span)
    return any(w.lower() in prefixes or (i > 0 and w.lower() in street) or street_compound(w)
               for i, w in enumerate(words))


def _whole_line(text: str, start: int, end: int) -> bool:
    """True if ``text[start:end]`` is all of its line but bullets, spaces and punctuation."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    return not _WORDS.search(text, line_start, start) and not _WORDS.search(text, end, line_end)
