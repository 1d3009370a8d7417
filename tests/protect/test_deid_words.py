"""Words English builds from its own words: no names on the re-cased view of lower-case text."""

from __future__ import annotations

import pytest

from fedflm.protect.deid_case import case_view
from fedflm.protect.deid_lexicon import NameLexicon, build_lexicon, common_vocab
from fedflm.protect.deid_recognizers import LexiconPersonRecognizer
from fedflm.protect.deid_words import built_word, name_words

#: words the tests need outside the vocabulary, as rare words of new text are
_UNSEEN = frozenset("mindset switchblade sexpot frightfest twentysomething hotsies sugarman parton butterworth "
                    "jez injects agreed falters".split())


@pytest.fixture(scope="module")
def lexicon() -> NameLexicon:
    return build_lexicon()


@pytest.fixture(scope="module")
def vocab() -> frozenset[str]:
    return common_vocab() - _UNSEEN


@pytest.mark.parametrize("word", ["mindset", "Switchblade", "sexpot", "frightfest", "twentysomething"])
def test_two_common_words_written_as_one_are_a_built_word(lexicon: NameLexicon, vocab: frozenset[str],
                                                          word: str) -> None:
    # Execute / Assert
    assert built_word(word, vocab, lexicon)


@pytest.mark.parametrize("word", [
    "sugarman", "butterworth",      # a part is a word of the name lists (man, worth): built like a surname
    "parton",                       # par + ton: -ton builds names of the lists (dayton, lawton)
    "goodman", "blackwood",         # a name of the lists / a dictionary word
    "story", "kovacs", "hotsies",   # a dictionary word; no two common words
])
def test_surnames_words_and_non_words_are_no_built_word(lexicon: NameLexicon, vocab: frozenset[str],
                                                        word: str) -> None:
    # Execute / Assert
    assert not built_word(word, vocab, lexicon)


@pytest.mark.parametrize("words,expected", [
    (["Janice", "Beard", "Falters"], 2),   # a verb after a given name and a surname
    (["Dolly", "Parton", "Agreed"], 2),
    (["Damon", "Runyon", "Crooks"], 3),    # crooks is a surname of the lists
    (["Sturm", "Und", "Drung"], 3),        # no given name opens the run
    (["Maria", "Baker"], 2),               # two words stay whole: a surname may be a dictionary word
])
def test_a_trailing_verb_is_no_part_of_the_name(lexicon: NameLexicon, words: list[str], expected: int) -> None:
    # Execute / Assert
    assert name_words(words, lexicon) == expected


@pytest.mark.parametrize("text,expected", [
    ("a constant mindset of dread runs through it .", []),           # a given name, then a built word
    ("a hollywood frightfest for teens .", []),                       # a surname, then a built word
    ("a switchblade sexpot with a past .", []),                       # two built words
    ("twentysomething hotsies dance all night .", []),                # a built word and a rare word
    ("the bible killer story is grim .", []),                         # two of three known names are words
    ("kissing jessica stein injects freshness into it .", ["jessica stein"]),
    # bank customers naming a person next to such words: still masked
    ("please pay maria sugarman today , my mindset is calm", ["maria sugarman"]),
    ("my landlord dolly parton agreed to wait", ["dolly parton"]),
    ("a film by jez butterworth", ["jez butterworth"]),
    ("i sent the rent to zhang wei", ["zhang wei"]),
    ("the cheque from hutton henry nan was returned", ["hutton henry nan"]),  # henry, nan: given names
])
def test_built_words_and_trailing_verbs_on_the_re_cased_view(lexicon: NameLexicon, vocab: frozenset[str],
                                                             text: str, expected: list[str]) -> None:
    # Prepare: the strict recognizer on the re-cased view of lower-case text, as the Deidentifier runs it
    rec = LexiconPersonRecognizer(lexicon, strict=True, vocab=vocab)
    view = case_view(text, vocab)
    # Execute
    found = [text[s:e] for s, e, _ in rec.find(view)]
    # Assert
    assert found == expected
