"""Names found by word lists and cues (fedflm.protect.deid_word_names): the one entry point the
Deidentifier calls for lone, cued, compass-word and surname-list names."""

from __future__ import annotations

import pytest

from fedflm.protect.deid_case import is_cased
from fedflm.protect.deid_lexicon import build_lexicon, common_vocab
from fedflm.protect.deid_word_names import word_list_names


def _found(text: str) -> list[str]:
    return [text[s:e] for s, e in word_list_names(text, build_lexicon(), common_vocab(), is_cased(text))]


@pytest.mark.parametrize("text,names", [
    ("hi its maria gonzalez again, my card is blocked", ["gonzalez"]),  # a lone known surname, no capitals
    ("Please pay Aistis West today.", ["Aistis West"]),                 # compass surname after a cue
    ("Please pay Demirel, Mikulák and Senková.", ["Demirel", "Mikulák", "Senková"]),  # cued surname list
])
def test_names_found_by_lists_and_cues(text: str, names: list[str]) -> None:
    # Execute / Assert
    assert _found(text) == names


def test_text_with_capitals_keeps_capitalised_names_for_the_other_recognizers() -> None:
    # Execute / Assert: lone and cued names count there only when the name itself is in lower case
    assert _found("I spoke with Gonzalez about my card.") == []


def test_text_without_names_gives_nothing() -> None:
    # Execute / Assert
    assert _found("why was i charged a fee for my card top up?") == []
