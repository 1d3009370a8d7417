"""Street words of the address recognizer as the model's address judge reads them."""

from __future__ import annotations

import pytest

from fedflm.protect.deid_address import street_compound, street_prefixes


def test_street_prefixes_open_a_street_name() -> None:
    # Execute
    prefixes = street_prefixes()
    # Assert: Romance and Slavic street words, not English street types that end a name
    assert {"rue", "via", "calle", "avenue", "ul"} <= prefixes
    assert not {"rapid", "walk", "club", "street"} & prefixes


@pytest.mark.parametrize("word,expected", [
    ("Quellinweg", True), ("Hauptstraße", True), ("Tarvonkatu", True),
    ("During", False), ("microprocessor", False), ("Offering", False),  # English words, "-sor", "-ring"
])
def test_street_compound(word: str, expected: bool) -> None:
    # Execute / Assert
    assert street_compound(word) is expected


@pytest.mark.parametrize("text,expected", [
    ("can you please send a new one to Suite 380? I am away", "can you please send a new one to <ADDRESS>? I am away"),
    ("The bus station is on apt. 169", "The bus station is on <ADDRESS>"),
    ("here they are: Lindenweg 12, and Apt #4", "here they are: <ADDRESS>, and <ADDRESS>"),
    ("I love Bach's Cello Suite 1 so much", "I love Bach's Cello Suite 1 so much"),      # after a capitalised word
    ("During 1988, Lending Club invested heavily.", "During 1988, Lending Club invested heavily."),  # a year
    ("During 1/14/1961, Lending Club invested.", "During <DATE>, Lending Club invested."),            # a date
    ("I moved to 1988 Lending Club Road last year.", "I moved to <ADDRESS> last year."),             # no comma
])
def test_lone_units_are_addresses_and_years_no_house_numbers(deid, text: str, expected: str) -> None:
    # Execute / Assert
    assert deid.redact(text)[0] == expected


@pytest.mark.parametrize("text,expected", [
    ("• 12 Tallow Road\n• NAANTALI\n• Italy 57006", 41),     # a city line, then a country line and postcode
    ("12 Tallow Road\nriverlea\nswitzerland 67626", 41),      # lower case: no dictionary word in the city line
    ("12 Tallow Road\nAustria\nNew Zealand 67626", 40),       # country lines
    ("12 Tallow Road\nSpringfield\nThanks a lot", 14),        # no country line closes it
    ("12 Tallow Road\nthe office\nItaly", 14),                # a line of dictionary words is no city
])
def test_country_tail_takes_the_city_and_country_lines(text: str, expected: int) -> None:
    # Prepare
    from fedflm.protect.deid_address import country_tail
    from fedflm.protect.deid_dictionary import is_ordinary
    end = text.index("Road") + 4
    # Execute / Assert
    assert country_tail(text, end, is_ordinary) == expected
