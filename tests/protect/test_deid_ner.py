"""fedflm's shipped NER model: pinned by hash, refused when altered; span trimming."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fedflm.errors import DeidError
from fedflm.protect.deid_lexicon import build_lexicon
from fedflm.protect.deid_ner import (MODEL_DIR, MODEL_SHA256, load_model, model_label, model_sha256, plausible,
                                     trim_span)


def test_shipped_model_matches_the_pinned_hash() -> None:
    # Execute
    actual = model_sha256(MODEL_DIR)
    # Assert: a 64-hex pin, equal to the files on disk, and the model loads under it
    assert len(MODEL_SHA256) == 64 and actual == MODEL_SHA256
    assert load_model().pipe_names == ["ner"]


def test_an_altered_model_is_refused(tmp_path: Path) -> None:
    # Prepare: a copy of the model with one byte of its metadata changed
    copy = tmp_path / "model"
    shutil.copytree(MODEL_DIR, copy)
    meta = copy / "meta.json"
    meta.write_bytes(meta.read_bytes().replace(b"pipeline", b"pipelinf", 1))
    # Execute / Assert
    with pytest.raises(DeidError, match="refusing to use it"):
        load_model(copy)


def test_a_missing_model_names_the_way_out(tmp_path: Path) -> None:
    # Execute / Assert
    with pytest.raises(DeidError, match="--deid-engine patterns"):
        load_model(tmp_path / "absent")


@pytest.mark.parametrize("text,start,end,expected", [
    ("hi its maria gonzalez again, ok", 7, 27, "maria gonzalez"),
    ("JEAN-LUC PICARD CALLED.", 0, 23, "JEAN-LUC PICARD"),
    ("to 0044 0532 0130 00 TODAY", 3, 26, None),          # digits only once trimmed: not a name
    ("Mr. J. Smith.", 4, 13, "J. Smith"),
    ("by oskar lindqvist , sadly", 3, 19, "oskar lindqvist"),   # no trailing space before the comma
])
def test_trim_drops_ordinary_words_at_the_edges(text: str, start: int, end: int, expected) -> None:
    # Prepare
    ordinary = frozenset({"again", "called", "today"})
    # Execute
    cut = trim_span(text, start, end, ordinary)
    # Assert
    assert (text[cut[0]:cut[1]] if cut else None) == expected


@pytest.mark.parametrize("text,start,end,expected", [
    ("During 1971, Mayo Quell grew", 7, 23, "Mayo Quell"),      # a year before a name is no part of it
    ("Call J. Quell now", 5, 13, "J. Quell"),                    # an initial stays
    ("Go to Quell Allé 9 now", 6, 18, "Quell Allé 9"),           # a trailing (house) number stays
    ("Call 1971 now", 5, 9, None),                               # nothing but a number
])
def test_trim_drops_leading_numbers_from_persons(text: str, start: int, end: int, expected) -> None:
    # Execute
    cut = trim_span(text, start, end, frozenset(), numbers=True)
    # Assert
    assert (text[cut[0]:cut[1]] if cut else None) == expected


_STREET = frozenset({"street", "road", "rua"})


@pytest.mark.parametrize("span,label,expected", [
    ("wild", "PERSON", False),                    # a dictionary word in lower case
    ("major kudos", "PERSON", False),
    ("Mark", "PERSON", True),                     # capitalised in mixed-case text: the model decides
    ("maria gonzalez", "PERSON", True),           # not dictionary words
    ("mark kowalczyk", "PERSON", True),
    ("pun-laden dialogue", "STREET_ADDRESS", False),   # only dictionary words
    ("Justína Sezal Marjanović", "STREET_ADDRESS", True),  # a name the model calls an address stays masked
    ("10 complete misses", "STREET_ADDRESS", False),   # only dictionary words
    ("12 high street", "STREET_ADDRESS", True),        # a street word
    ("rua augusta, 1500", "STREET_ADDRESS", True),
    ("77 marszalkowska", "STREET_ADDRESS", True),      # a word outside the dictionary
    ("110 claustrophobic minutes", "STREET_ADDRESS", False),  # a quantity: ends in a unit
    ("110 CLAUSTROPHOBIC MINUTES", "STREET_ADDRESS", False),
    ("110 Claustrophobic Minutes", "STREET_ADDRESS", False),
    ("12 Miles Street", "STREET_ADDRESS", True),       # a unit word, but a street word too
    ("12 MILES STREET", "STREET_ADDRESS", True),
    ("Balefire Global in Amsterdam, which later became Zillow in 2014", "STREET_ADDRESS", False),  # a year
    ("balefire global in amsterdam, which later became zillow in 2014", "STREET_ADDRESS", False),
    ("BALEFIRE GLOBAL IN AMSTERDAM SINCE 1998", "STREET_ADDRESS", False),
    ("Quellin 2014", "STREET_ADDRESS", True),          # a house number: no preposition before it
    ("Quellin Street in 2014", "STREET_ADDRESS", True),  # a street word
    ("Quellin in 2014, 12 Tarvona", "STREET_ADDRESS", True),  # another number
])
def test_plausible_drops_model_spans_that_read_as_ordinary_english(span: str, label: str, expected: bool) -> None:
    # Execute / Assert
    assert plausible(span, label, _STREET, build_lexicon().is_name) is expected


@pytest.mark.parametrize("span,expected", [
    ("Dr. Helka Varsi", "PERSON"),            # a title before a name (not "Drive")
    ("Helka R. Varsi", "PERSON"),             # a middle initial
    ("Helka Varsi Street", "STREET_ADDRESS"),  # a street word
    ("12 Helka Varsi", "STREET_ADDRESS"),      # a number
    ("Helka Varsi", "STREET_ADDRESS"),         # no sign either way: the model's label stays
])
def test_model_label_names_person_shaped_addresses(span: str, expected: str) -> None:
    # Execute / Assert
    assert model_label(span, "STREET_ADDRESS", frozenset({"street", "drive", "dr"})) == expected
