"""Ordinary English words from a general dictionary (web2): names are not, words and inflections are."""

from __future__ import annotations

import pytest

from fedflm.protect.deid_dictionary import accented_word, dictionary_words, is_ordinary


def test_the_dictionary_holds_common_words_but_no_proper_nouns() -> None:
    # Execute
    words = dictionary_words()
    # Assert: a large lower-case list; web2 writes proper nouns capitalised, so none leak in
    assert len(words) > 150_000
    assert all(w.islower() for w in words)
    assert "story" in words and "robert" not in words


@pytest.mark.parametrize("word", ["story", "PACE", "Theft", "larceny", "arts", "walls", "rivaling",
                                  "plotted", "bleakly", "bewilderingly", "stories", "playthings", "pun-laden", "kudos"])
def test_words_and_regular_inflections_are_ordinary(word: str) -> None:
    # Execute / Assert
    assert is_ordinary(word)


@pytest.mark.parametrize("word", ["robert", "Forster", "khouri", "jean-luc", "kovács", "ayşe", "", "'"])
def test_names_and_non_words_are_not_ordinary(word: str) -> None:
    # Execute / Assert
    assert not is_ordinary(word)


@pytest.mark.parametrize("word,expected", [
    ("animé", True), ("façade", True), ("cliché", True), ("naïve", True), ("résumé", True),
    ("zélimir", False), ("josé", False), ("anime", False),           # a name; no accent at all
])
def test_accented_word(word: str, expected: bool) -> None:
    # Execute / Assert
    assert accented_word(word) is expected
