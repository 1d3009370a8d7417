"""fedflm's shipped NER model: pinned by hash, refused when altered; span trimming."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fedflm.errors import DeidError
from fedflm.protect.deid_lexicon import build_lexicon
from fedflm.protect.deid import Deidentifier
from fedflm.protect.deid_address import street_prefixes, street_words
from fedflm.protect.deid_ner import (MODEL_DIR, MODEL_SHA256, has_house_number, has_street_word, load_model,
                                     model_label, model_pieces, model_sha256, plausible, trim_span)


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
    ("Suite 757", "STREET_ADDRESS", True),             # a unit with its number: an address line of its own
    ("apt. 169", "STREET_ADDRESS", True),
    ("APT #12", "STREET_ADDRESS", True),
    ("suite of rooms", "STREET_ADDRESS", False),       # a unit word without a number
    ("animé", "PERSON", False),                         # an accented loan word: anime
    ("Façade", "PERSON", False),
    ("Zélimir", "PERSON", True),                        # accents on no English word: a name
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


@pytest.mark.parametrize("span,expected", [
    ("Eyrarodda 66", "STREET_ADDRESS"),         # a name and a house number: a street
    ("Pod Floriánem 1677", "STREET_ADDRESS"),
    ("Quellinrodda 12b", "STREET_ADDRESS"),
    ("Helka Varsi 1990", "PERSON"),            # a year, not a house number
    ("Helka Varsi", "PERSON"),
    ("Helka Varsi\n12", "PERSON"),             # over lines: judged line by line before
])
def test_model_label_names_a_person_ending_in_a_house_number_a_street(span: str, expected: str) -> None:
    # Execute / Assert
    assert model_label(span, "PERSON", frozenset({"street"})) == expected


@pytest.mark.parametrize("text,span,expected", [
    # a dialogue line: cut at the quote mark, each name a person
    ('Helka Varsi:"I\'m Quellin\'s daughter".', 'Helka Varsi:"I\'m Quellin\'s daughter".',
     [("Helka Varsi:", "PERSON"), ("I'm Quellin's daughter", "PERSON")]),
    # a title before a name: no house number, no street word
    ("correct it to X-ray technician Helka Varsi?", "X-ray technician Helka Varsi?",
     [("X-ray technician Helka Varsi?", "PERSON")]),
    # a run of lower-case English words ends a piece; a year is no house number; lower-case pieces go
    ("During 1990, Quellmatics invested heavily in new microprocessor designs",
     "During 1990, Quellmatics invested heavily in new microprocessor designs",
     [("During 1990, Quellmatics ", "PERSON")]),
    # what follows "in" is a place; a date is no house number
    ("and the following year at Tarvo Labs in Varsila, which later became Quell Inc in 9/25/1945.",
     "Tarvo Labs in Varsila, which later became Quell Inc in 9/25/1945.",
     [("Tarvo Labs", "PERSON"), (" Quell Inc", "PERSON")]),
    # an address ends at a sentence's end
    ("It is at Suite 292. It serves great Quellish food.", "Suite 292. It serves great Quellish food.",
     [("Suite 292.", "STREET_ADDRESS")]),
    # addresses stay addresses: a house number, a street word, a street compound, a line of a postal address
    ("send it to Eyrarodda 66 please", "Eyrarodda 66", [("Eyrarodda 66", "STREET_ADDRESS")]),
    ("we met at Mill Village", "Mill Village", [("Mill Village", "STREET_ADDRESS")]),
    ("we met at Rue Quellin", "Rue Quellin", [("Rue Quellin", "STREET_ADDRESS")]),
    ("we met at Quellinweg", "Quellinweg", [("Quellinweg", "STREET_ADDRESS")]),
    ("Helka Varsi\n12 Quellin Street\nTARVONA\nFinland", "TARVONA", [("TARVONA", "STREET_ADDRESS")]),
    ("12 rue de la paix in Tarvona", "12 rue de la paix in Tarvona", [("12 rue de la paix in Tarvona", "STREET_ADDRESS")]),
])
def test_model_pieces_cut_an_address_and_judge_a_piece_without_number_or_street_as_a_person(
        text: str, span: str, expected: list) -> None:
    # Prepare
    start = text.index(span)
    cased = any(c.isupper() for c in text) and any(c.islower() for c in text)
    # Execute
    pieces = model_pieces(text, start, start + len(span), "STREET_ADDRESS", street_words(), street_prefixes(), cased)
    # Assert
    assert [(text[s:e], lab) for s, e, lab in pieces] == expected


@pytest.mark.parametrize("span,expected", [
    ("Eyrarodda 66", True), ("66029 Ombù 9091", True), ("Quellin 1990", True),  # a house number (no preposition)
    ("Quell Inc in 9/25/1945", False), ("Quell Inc in 1990", False), ("During 1990, Quell", False),
])
def test_house_numbers_are_digits_outside_dates_and_years(span: str, expected: bool) -> None:
    # Execute / Assert
    assert has_house_number(span) is expected


@pytest.mark.parametrize("span,expected", [
    ("Mill Village", True), ("Via Quellina", True), ("Quellinweg", True),
    ("Rapid Cycle Solutions", False),   # an English street type opens no street's name
    ("Walk Score", False), ("During", False), ("Helka Varsi", False),
])
def test_street_words_sit_where_streets_hold_them(span: str, expected: bool) -> None:
    # Execute / Assert
    assert has_street_word(span, street_words(), street_prefixes()) is expected


@pytest.mark.parametrize("text,expected", [
    ('Tarvo: "Who are you?"\nHelka Varsi:"I\'m Quellin\'s daughter".',
     '<PERSON>: "Who are you?"\n<PERSON>:"I\'m <PERSON> daughter".'),
    ("Please correct the name on my card to X-ray technician Helka Varsi?",
     "Please correct the name on my card to <PERSON>?"),  # a person, title and all: not an address
    ("The letter arrived at Suite 757 last night.", "The letter arrived at <ADDRESS> last night."),
    ("Please return it to apt. 169 in case of an issue.", "Please return it to <ADDRESS> in case of an issue."),
    ("I moved to 12 Quellin Street last week, my landlord is Helka Varsi.",
     "I moved to <ADDRESS> last week, my landlord is <PERSON>."),
    # still masked: a name and an address next to the words the cuts key on
    ("The parcel for Helka Varsi went to Quellinweg 12 instead.", "The parcel for <PERSON> went to <ADDRESS> instead."),
    ("Send it to Helka Varsi at Via Quellina, Tarvona please.", "Send it to <PERSON> at <ADDRESS> please."),
])
def test_model_addresses_over_names_titles_and_sentences(deid: Deidentifier, text: str, expected: str) -> None:
    # Execute / Assert
    assert deid.redact(text)[0] == expected


@pytest.mark.parametrize("text,expected", [
    ("bought at wal-mart", "STREET_ADDRESS"),        # no known name: the model's address stays (no person)
    ("if you keep luda , jason & michelle", "PERSON"),  # known names: persons
])
def test_model_pieces_without_capitals_need_a_known_name_for_a_person(text: str, expected: str) -> None:
    # Prepare
    start = text.index("wal") if "wal" in text else text.index("luda")
    # Execute
    pieces = model_pieces(text, start, len(text), "STREET_ADDRESS", street_words(), street_prefixes(), False,
                          build_lexicon().is_name)
    # Assert
    assert [lab for _, _, lab in pieces] == [expected]
