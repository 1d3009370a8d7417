"""US Census 1990 surnames (fedflm.protect.deid_census): surnames the Faker lists lack join the lexicon
(``lebron``, ``cowell``), and in text without capitals a lone given name grows over the surname after it,
even a dictionary word (``nicolas cage``: deid_lone.surname_after), or a word no dictionary holds
(``adam sandler``). The held-out evaluation names stay
names no list knows."""

from __future__ import annotations

import pytest

from fedflm.protect.deid import Deidentifier
from fedflm.protect.deid_case import lower, upper
from fedflm.protect.deid_census import census_surnames, is_census_surname, lexicon_surnames
from fedflm.protect.deid_lexicon import build_lexicon, heldout_names, _tokens
from fedflm.protect.deid_lone import grown_name_end, surname_after, unlisted_surname

from deid_support import persons

UNCASED = pytest.mark.parametrize("recase", [lower, upper], ids=["lower", "upper"])


def test_the_shipped_file_holds_the_5000_most_frequent_surnames() -> None:
    # Prepare / Execute
    names = census_surnames()
    # Assert
    assert len(names) == 5000 and {"smith", "lebron", "cage", "martin"} <= names
    assert all(n == n.lower() and n.isalpha() for n in names)


@pytest.mark.parametrize("word,in_lexicon", [
    ("lebron", True), ("cowell", True), ("witherspoon", True),   # no dictionary word: a lexicon surname
    ("cage", False), ("love", False),                            # dictionary words: only after a given name
])
def test_only_non_dictionary_surnames_join_the_lexicon(word: str, in_lexicon: bool) -> None:
    # Prepare / Execute
    lex = build_lexicon()
    # Assert
    assert is_census_surname(word)
    assert (word in lexicon_surnames()) is in_lexicon
    assert lex.is_last(word) is in_lexicon


def test_no_held_out_name_is_a_census_surname() -> None:
    # Prepare / Execute
    firsts, lasts = heldout_names(build_lexicon())
    # Assert: the generator's names are still unknown to every list the detector uses
    assert firsts and lasts
    assert not any(is_census_surname(t) for n in firsts + lasts for t in _tokens(n))


@UNCASED
@pytest.mark.parametrize("text,names", [
    ("lebron is by far the best player", ["lebron"]),             # fail on main: no list held them
    ("no way that cowell stopped it", ["cowell"]),
    ("i love nicolas cage movies", ["nicolas cage"]),             # fail on main: only the given name
    ("steve martin is funny", ["steve martin"]),
    ("i really do think stan lee is the watcher", ["stan lee"]),
    ("especially kevin love", ["kevin love"]),
    ("a compelling excuse to pair susan sarandon and goldie", ["susan sarandon"]),  # fail on main: only susan
])
def test_census_names_are_masked_without_capitals(deid: Deidentifier, recase, text: str, names: list[str]) -> None:
    # Prepare
    text = recase(text)
    # Execute
    found = persons(deid, text)
    # Assert
    assert found == [recase(n) for n in names]


@UNCASED
@pytest.mark.parametrize("text,names", [
    ("thanks maria so much", ["maria"]),                          # a stop word is no surname
    ("hi its maria gonzalez again", ["maria gonzalez"]),
    ("kevin 's car is red", ["kevin"]),
    ("we saw steve today", ["steve"]),
    ("call linda martin and sons today", ["linda"]),              # a family firm
    ("i will pay the bill today", []),
    ("is there an unknown charge on my card?", []),
])
def test_texts_that_stay_as_they_were(deid: Deidentifier, recase, text: str, names: list[str]) -> None:
    # Prepare
    text = recase(text)
    # Execute
    found = persons(deid, text)
    # Assert
    assert found == [recase(n) for n in names]


@pytest.mark.parametrize("text,cased,expected", [
    ("nicolas cage movies", False, "nicolas cage"),
    ("nicolas cage's movies", False, "nicolas cage"),             # the possessive stays outside
    ("nicolas the cage", False, "nicolas"),                       # a stop word ends it
    ("nicolas cage movies", True, "nicolas"),                     # cased text: the capitals decide
    ("cage nicolas", False, "cage"),                              # the span must be a given name
    ("adam sandler 's new movie", False, "adam"),                 # no list holds sandler
])
def test_surname_after(text: str, cased: bool, expected: str) -> None:
    # Prepare
    end = text.index(" ")
    # Execute
    grown = surname_after(text, 0, end, build_lexicon(), cased)
    # Assert
    assert text[:grown] == expected


@pytest.mark.parametrize("text,given,cased,expected", [
    ("adam sandler 's new movie", "adam", False, "adam sandler"),     # fail on main: a surname no list holds
    ("by michael gondry .", "michael", False, "michael gondry"),      # (no dictionary word: a surname)
    ("nicolas cage movies", "nicolas", False, "nicolas cage"),        # a listed surname, as surname_after
    ("maria rewritten today", "maria", False, "maria"),               # a prefixed dictionary word is no surname
    ("maria plz send it", "maria", False, "maria"),                   # chat noise is none either
    ("en san héctor los bajos", "héctor", False, "héctor"),           # a short word: a foreign article
    ("adam sandler movies", "adam", True, "adam"),                    # cased text: the capitals decide
])
def test_grown_name_end(text: str, given: str, cased: bool, expected: str) -> None:
    # Prepare
    start = text.index(given)
    # Execute
    grown = grown_name_end(text, start, start + len(given), build_lexicon(), cased, lambda end: False)
    # Assert
    assert text[start:grown] == expected


def test_grown_name_end_does_not_grow_into_a_place() -> None:
    # Prepare
    text = "the welt on johnny knoxville 's stomach"
    start = text.index("johnny")
    # Execute
    grown = grown_name_end(text, start, start + len("johnny"), build_lexicon(), False, lambda end: True)
    # Assert
    assert text[start:grown] == "johnny"


@pytest.mark.parametrize("word,expected", [
    ("sandler", True), ("gondry", True),
    ("cage", False),                                              # a dictionary word: only the lists decide
    ("rewritten", False),                                         # a prefixed dictionary word
    ("los", False), ("della", False),                             # a short foreign article, a particle
])
def test_unlisted_surname(word: str, expected: bool) -> None:
    # Execute / Assert
    assert unlisted_surname(word) is expected


@UNCASED
@pytest.mark.parametrize("text,names", [
    ("the welt on johnny knoxville 's stomach", ["johnny"]),       # a grown span that reads as a place: no growth
    ("the color sense of stuart little 2 is its pleasure", []),   # a listed surname still grows: a numbered title
])
def test_growth_that_makes_a_place_or_title(deid: Deidentifier, recase, text: str, names: list[str]) -> None:
    # Prepare
    text = recase(text)
    # Execute
    found = persons(deid, text)
    # Assert
    assert found == [recase(n) for n in names]


def test_written_with_capitals_is_unchanged(deid: Deidentifier) -> None:
    # Prepare
    text = "Steve Martin is funny, Sarah Cage too"
    # Execute
    found = persons(deid, text)
    # Assert
    assert found == ["Steve Martin", "Sarah Cage"]
