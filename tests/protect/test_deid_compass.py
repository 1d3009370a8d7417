"""Compass-word surnames after a name stay masked (fedflm.protect.deid_compass)."""

from __future__ import annotations

import pytest

from fedflm.protect.deid import Deidentifier
from fedflm.protect.deid_case import is_cased
from fedflm.protect.deid_compass import compass_tail, cued_compass_names


@pytest.mark.parametrize("text,person", [
    ("Dumitrana East says the transfer failed.", "Dumitrana East"),        # the model span stops before East
    ("dumitrana east says the transfer failed.", "dumitrana east"),
    ("SAMURTAY WEST CALLED ABOUT MY CARD.", "SAMURTAY WEST"),                # the shouted cut drops WEST
    ("my tenant merike north has not paid.", "merike north"),
    ("The refund for Aistis West was late.", "Aistis West"),               # no model span: the cue
    ("Please pay Georgeta North today.", "Georgeta North"),
    ("PLEASE PAY GEORGETA NORTH TODAY.", "GEORGETA NORTH"),
    ("the refund for aistis west was late.", "aistis west"),
])
def test_compass_surnames_are_masked(deid: Deidentifier, text: str, person: str) -> None:
    # Execute
    red = deid.redact(text)[0]
    # Assert
    assert not [w for w in person.split() if w in red], red


@pytest.mark.parametrize("text,kept", [
    ("I paid Bank West twice.", "Bank West"),                      # an English word before it
    ("We drove north to the lake.", "north"),                      # no name before it
    ("The bank moved to West Street.", "West"),
])
def test_compass_words_without_a_name_stay(deid: Deidentifier, text: str, kept: str) -> None:
    # Execute
    red = deid.redact(text)[0]
    # Assert
    assert kept in red, red


@pytest.mark.parametrize("text,grows", [
    ("Maria West called.", True),
    ("Maria West Virginia called.", False),       # a place name goes on
    ("maria west of the river", False),           # a direction
    ("Maria west called.", False),                # not written as the name
    ("MARIA WEST CALLED.", True),
])
def test_compass_tail(text: str, grows: bool) -> None:
    # Execute
    end = compass_tail(text, 0, 5, any(c.islower() for c in text) and any(c.isupper() for c in text))
    # Assert
    assert (end > 5) is grows


def test_cued_compass_names_need_an_unknown_word_and_a_cue() -> None:
    # Prepare
    texts = ("Please pay Georgeta North today.", "I paid Bank West twice.", "Georgeta North is here.")
    # Execute
    found = [cued_compass_names(t, frozenset(), is_cased(t)) for t in texts]
    # Assert
    assert found == [[(11, 25)], [], []]
