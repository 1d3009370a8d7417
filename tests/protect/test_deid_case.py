"""De-identification holds in every letter case: the fixed cases, all lower and all upper."""

from __future__ import annotations

import re

import pytest

from fedflm.protect.deid import Deidentifier
from fedflm.protect.deid_case import address_view, capitalize, case_view, lower, upper
from test_deid_recognizers import CASES, NEGATIVES  # same directory (rootdir import mode)

_PLACEHOLDER = re.compile(r"<[A-Z_]+>")


def _expected(expected: str, recase) -> str:
    """``expected`` with ``recase`` applied to everything but the placeholders."""
    parts, tags = _PLACEHOLDER.split(expected), _PLACEHOLDER.findall(expected) + [""]
    return "".join(recase(p) + t for p, t in zip(parts, tags))


@pytest.mark.parametrize("recase", [lower, upper], ids=["lower", "upper"])
@pytest.mark.parametrize("text,expected", CASES)
def test_every_fixed_case_holds_in_lower_and_upper_case(deid: Deidentifier, text: str, expected: str,
                                                        recase) -> None:
    # Execute
    redacted, _ = deid.redact(recase(text))
    # Assert
    assert redacted == _expected(expected, recase)


@pytest.mark.parametrize("recase", [lower, upper], ids=["lower", "upper"])
@pytest.mark.parametrize("text", NEGATIVES)
def test_ordinary_text_is_left_alone_in_any_case(deid: Deidentifier, text: str, recase) -> None:
    # Execute / Assert
    assert deid.redact(recase(text)) == (recase(text), {})


@pytest.mark.parametrize("text,expected", [
    ("hi its maria gonzalez again, my card was blocked", "hi its <PERSON> again, my card was blocked"),
    ("PLEASE PAY JOHN O'NEIL, IBAN DE89 3704 0044 0532 0130 00 TODAY", "PLEASE PAY <PERSON>, IBAN <IBAN> TODAY"),
    ("iban de89370400440532013000 ok", "iban <IBAN> ok"),
    ("iban gb82 west 1234 5698 7654 32 ok", "iban <IBAN> ok"),
    ("Send it to 12 high street, london sw1a 1aa", "Send it to <ADDRESS>"),
])
def test_chat_and_shouting_examples(deid: Deidentifier, text: str, expected: str) -> None:
    # Execute / Assert
    assert deid.redact(text)[0] == expected


def test_views_keep_length_and_recase_only_whole_words() -> None:
    # Prepare
    vocab = frozenset({"hi", "its", "again", "please", "pay", "iban"})
    text = "hi its maria gonzalez again. PLEASE PAY JOHN, IBAN DE89370400440532013000 Straße"
    # Execute
    view = case_view(text, vocab)
    addr = address_view("SHIP TO 12 HIGH STREET, NW", frozenset({"to"}))
    # Assert
    assert view == "hi its Maria Gonzalez again. please pay John, iban DE89370400440532013000 Straße"
    assert addr == "Ship to 12 High Street, NW"
    assert len(upper("Straße")) == len("Straße") and capitalize("ǆemal") and len(lower("İstanbul")) == 8
    assert case_view("Maria Garcia", vocab) is None


@pytest.mark.parametrize("text", [
    "a red bridge over quiet water , and a grand larceny of your evening .",   # known names, all words
    "its distended pace and intelligible story never add up .",               # rare words, not names
    "the village idiot rivaling the martial arts of petty thieves",
])
def test_lower_case_prose_of_dictionary_words_is_left_alone(deid: Deidentifier, text: str) -> None:
    # Execute / Assert
    assert deid.redact(text) == (text, {})


@pytest.mark.parametrize("text,expected", [
    ("a script by callista vandermeer and oskar lindqvist , sadly", "a script by <PERSON> and <PERSON> , sadly"),
    ("director chris rock keeps it moving", "director <PERSON> keeps it moving"),
])
def test_lower_case_names_beside_dictionary_words_are_still_masked(deid: Deidentifier, text: str,
                                                                   expected: str) -> None:
    # Execute / Assert
    assert deid.redact(text)[0] == expected


@pytest.mark.parametrize("text,expected", [
    ("My name is krithika and I love it.", "My name is <PERSON> and I love it."),
    ("Hello. I'm krithika, my card was blocked.", "Hello. I'm <PERSON>, my card was blocked."),
    ("Hello. I am tavoni and I lost my card.", "Hello. I am <PERSON> and I lost my card."),
    ("Please call me tavoni. I lost my card.", "Please call me <PERSON>. I lost my card."),
    # dictionary words and chat noise after the cue stay
    ("My name is not important. The card is lost.", "My name is not important. The card is lost."),
    ("I'm gonna call later. Thanks.", "I'm gonna call later. Thanks."),
    ("I am baffled. The Bank said no.", "I am baffled. The Bank said no."),
])
def test_a_lower_case_name_after_my_name_is_is_masked_in_text_with_capitals(deid: Deidentifier, text: str,
                                                                          expected: str) -> None:
    # Prepare: text with capitals elsewhere, where a lower-case word is normally no name (WNUT-17 dev kind)
    # Execute
    out, _ = deid.redact(text)
    # Assert
    assert out == expected
