"""Person spans judged by their surroundings: organisation names, further mentions, places."""

from __future__ import annotations

import pytest

from fedflm.protect.deid import Deidentifier
from fedflm.protect.deid_address import country_tail
from fedflm.protect.deid_context import more_mentions, names_an_organisation
from fedflm.protect.deid_dictionary import is_ordinary


@pytest.fixture(scope="module")
def deid() -> Deidentifier:
    return Deidentifier()


@pytest.mark.parametrize("text,name,expected", [
    ("She joined Hartley Inc. last year", "Hartley", True),                       # legal form next
    ("She joined Hartley Brennan Consulting Group in May", "Hartley Brennan", True),  # run reaches it
    ("The Moss, Ferreira and Quint Quartet Foundation gave", "The Moss, Ferreira", True),  # A, B and C X
    ("I met Ana Lutz and Zeller AG on Monday", "Ana Lutz", False),                # "and" without commas
    ("Regards, Ana Lutz, Zeller GmbH", "Ana Lutz", False),                        # signature: comma only
    ("Ana Lutz at Zeller Group called", "Ana Lutz", False),                       # "at" stops the walk
    ("Ana Lutz called the group", "Ana Lutz", False),                             # lower-case noun
])
def test_names_an_organisation(text: str, name: str, expected: bool) -> None:
    # Prepare
    start = text.index(name)
    # Execute / Assert
    assert names_an_organisation(text, start, start + len(name)) is expected


@pytest.mark.parametrize("text,name,expected", [
    ("pay ana lutz bank transfer today", "ana lutz", False),   # uncased: "bank" is a word
    ("pay zeller gmbh today", "zeller", True),                  # a legal form still counts
    ("SEND TO ANA LUTZ SA 2000", "ANA LUTZ", False),            # two-letter forms are regions
])
def test_uncased_text_only_counts_legal_forms(text: str, name: str, expected: bool) -> None:
    # Prepare
    start = text.index(name)
    # Execute / Assert
    assert names_an_organisation(text, start, start + len(name), cased=False) is expected


def test_more_mentions_finds_other_mentions_but_not_ordinary_words() -> None:
    # Prepare: "Will Oakhurst" masked; "will" must not spread, "Oakhurst" must
    text = "Will Oakhurst wrote. Later oakhurst said he will call."
    # Execute
    found = more_mentions(text, [(0, 13)], is_ordinary)
    # Assert
    assert [text[s:e] for s, e in found] == ["oakhurst"]


@pytest.mark.parametrize("text,street,expected", [
    ("We flew to 14 Birch Lane, Kelton, Australia 2044 today", "14 Birch Lane", "14 Birch Lane, Kelton, Australia 2044"),
    ("Mail to 7 Quay St KORRIN New Zealand tomorrow", "7 Quay St", "7 Quay St KORRIN New Zealand"),
    ("Mail to 7 Quay St SALWICK QX please", "7 Quay St SALWICK", "7 Quay St SALWICK QX"),
    ("Mail to 7 Quay St near the harbour", "7 Quay St", "7 Quay St"),
])
def test_country_tail(text: str, street: str, expected: str) -> None:
    # Prepare: an address span ending after ``street``
    start = text.index(street)
    # Execute
    end = country_tail(text, start + len(street), is_ordinary)
    # Assert
    assert text[start:end] == expected


@pytest.mark.parametrize("text,expected", [
    ("Then Marguerite Delacroix-Ruiz, of Delacroix Holdings, rang.",
     "Then <PERSON>, of Delacroix Holdings, rang."),
    ("My name is Oskarina Vell but friends call me Oskarina.", "My name is <PERSON> but friends call me <PERSON>."),
    ("Please ask Dr. Ilse T. Marovic about it.", "Please ask Dr. <PERSON> about it."),
    ("We read Ilse Marovic's letter twice.", "We read <PERSON>'s letter twice."),
    ("Brannagh: Are you coming tonight?", "<PERSON>: Are you coming tonight?"),
])
def test_names_in_context(deid: Deidentifier, text: str, expected: str) -> None:
    # Execute / Assert
    assert deid.redact(text)[0] == expected


@pytest.mark.parametrize("text", [
    "I applied for the job last spring. Now I'm unemployed and looking.",         # cue before a word
    "Our team kept improving interconnect firmware throughout the year.",      # lower-case words
    "We walked through Green Park before lunch.",                               # dictionary words
    "I left Holloway Brothers last year.",                                      # organisation
])
def test_cased_text_without_names_is_left_alone(deid: Deidentifier, text: str) -> None:
    # Execute / Assert
    assert deid.redact(text) == (text, {})
