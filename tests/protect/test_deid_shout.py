"""Model person spans in shouted text are cut to their name words (fedflm.protect.deid_shout); the names
themselves stay masked."""

from __future__ import annotations

import pytest

from fedflm.protect.deid import Deidentifier
from fedflm.protect.deid_lexicon import build_lexicon
from fedflm.protect.deid_shout import is_shouted, trim_shouted
from deid_support import persons


@pytest.mark.parametrize("text,expected", [
    ("CALL ME NOW", True), ("OMG Lisa is here", False), ("call me now", False), ("12 34", False),
])
def test_is_shouted(text: str, expected: bool) -> None:
    # Execute / Assert
    assert is_shouted(text) is expected


@pytest.mark.parametrize("text,expected", [
    ("MICHAEL VICK WILL START FOR EAGLES", "MICHAEL VICK"),
    ("PYRION CONTINUES HIS STREAK", "PYRION"),
    ("MAURO RANALLO ' S VOICE", "MAURO RANALLO"),
    ("ROBERT DOWNEY JR", "ROBERT DOWNEY JR"),     # a generational suffix stays
    ("JUG, SARYA", "JUG, SARYA"),                 # Surname, Given: the surname stays, a word or not
    ("MARIA DE LA CRUZ", "MARIA DE LA CRUZ"),     # inner particles stay
    ("DAVIDSON , CHARLOTTE", "DAVIDSON , CHARLOTTE"),
    ("THIS ACTING IS SO BAD", None),              # no name word at all
])
def test_trim_shouted(text: str, expected: str | None) -> None:
    # Prepare
    lex = build_lexicon()
    # Execute
    cut = trim_shouted(text, 0, len(text), frozenset({"the", "for", "his", "s"}), lex.is_name)
    # Assert
    assert (text[cut[0]:cut[1]] if cut else None) == expected


@pytest.mark.parametrize("text,expected", [
    ("REPORT : MICHAEL VICK WILL START FOR EAGLES ON SUNDAY", ["MICHAEL VICK"]),
    ("PYRION CONTINUES HIS STREAK AS THE WORLD ' S WORST DETECTIVE .", ["PYRION"]),
    ("I ' M JUST HERE TO HEAR MAURO RANALLO ' S VOICE .", ["MAURO RANALLO"]),
])
def test_shouted_model_span_keeps_only_the_name(deid: Deidentifier, text: str, expected: list[str]) -> None:
    # Execute / Assert
    assert persons(deid, text) == expected


@pytest.mark.parametrize("text,name", [
    ("THE TRANSFER FROM JUG, SARYA DID NOT ARRIVE.", "JUG, SARYA"),
    ("I SPOKE WITH SÜNER GÜRSAL KOVAĽOVÁ YESTERDAY.", "SÜNER GÜRSAL KOVAĽOVÁ"),
    ("IS JOAQUIN PHOENIX OUR MODERN DAY ANDY KAUFMAN ?", "ANDY KAUFMAN"),
])
def test_shouted_names_stay_masked(deid: Deidentifier, text: str, name: str) -> None:
    # Execute / Assert
    assert name in persons(deid, text)


@pytest.mark.parametrize("text,expected", [
    ("Dat first verse", "Dat"),                                  # lower-case dictionary words cut
    ("Boxers make millions . MMA fighters make peanuts", "Boxers make millions . MMA"),
    ("Hendrix died 40", "Hendrix died 40"),                      # a trailing number stays (a house number?)
    ("Jake Paul", "Jake Paul"), ("dana", "dana"),                # capitalised words and names stay
    ("first verse", None),
])
def test_trim_in_cased_text_cuts_only_lower_case_words(text: str, expected: str | None) -> None:
    # Prepare
    lex = build_lexicon()
    # Execute
    cut = trim_shouted(text, 0, len(text), frozenset({"the", "for"}), lex.is_name, shouted=False)
    # Assert
    assert (text[cut[0]:cut[1]] if cut else None) == expected


@pytest.mark.parametrize("text,expected", [
    ("Dat first verse killed every thing . . . .", ["Dat"]),
    ("Mr. Okafor flew to Reguengos de Monsaraz on Tuesday.", ["Okafor"]),   # was "Okafor flew"
    ("Boxers make millions . MMA fighters make peanuts , attribute that directly to dana !",
     ["Boxers make millions . MMA", "dana"]),
])
def test_cased_model_span_loses_its_lower_case_words(deid: Deidentifier, text: str, expected: list[str]) -> None:
    # Execute / Assert
    assert persons(deid, text) == expected


@pytest.mark.parametrize("text,name", [
    ("Good luck to you and davis , see you soon", "davis"),
    ("Gonna watch Jake Paul tonight", "Jake Paul"),
    ("I spoke with Süner Gürsal Kovaľová yesterday.", "Süner Gürsal Kovaľová"),
])
def test_cased_names_stay_masked(deid: Deidentifier, text: str, name: str) -> None:
    # Execute / Assert
    assert name in persons(deid, text)
