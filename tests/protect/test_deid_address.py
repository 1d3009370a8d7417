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
