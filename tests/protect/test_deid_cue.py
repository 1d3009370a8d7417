"""Given names that are also English words (emma, nick, jack), masked in text without capitals when a
cue marks them (fedflm.protect.deid_cue): a greeting, coordination with a pronoun or a name, a verb of
telling, a subject before its verb, a possessive. The same words with no cue, and Banking77-style
messages, stay unchanged."""

from __future__ import annotations

import pytest

from fedflm.protect.deid import Deidentifier
from fedflm.protect.deid_case import lower, upper
from fedflm.protect.deid_cue import COMMON_NOUNS, CUES, cue_names, cue_word
from fedflm.protect.deid_lexicon import build_lexicon, common_vocab

from deid_support import persons

VARIANTS = pytest.mark.parametrize("recase", [str, lower, upper], ids=["as written", "lower", "upper"])
UNCASED = pytest.mark.parametrize("recase", [lower, upper], ids=["lower", "upper"])


@pytest.fixture(scope="module")
def lex_vocab():
    return build_lexicon(), common_vocab()


@pytest.mark.parametrize("word,expected", [
    ("emma", True), ("NICK", True), ("jack", True),       # given names that are also words
    ("max", False),                                       # a Banking77 word (the vocabulary)
    ("will", False), ("bill", False),                     # no given names of the lists
    ("friend", False), ("man", False), ("guy", False),    # listed common nouns
    ("al", False),                                        # under three letters
])
def test_cue_word(lex_vocab, word: str, expected: bool) -> None:
    # Prepare
    lex, vocab = lex_vocab
    # Execute / Assert
    assert cue_word(word, lex, vocab) is expected


@pytest.mark.parametrize("cue,text,name", [
    ("greeting", "happy birthday emma , have a great day", "emma"),
    ("greeting", "thanks nick !", "nick"),
    ("greeting", "hats off to nick for the edit", "nick"),
    ("pronoun_and", "me and jack went to the lake", "jack"),
    ("pronoun_and", "oliver and i watched the game", "oliver"),
    ("tell_verb", "she told carl about the trip", "carl"),
    ("subject_verb", "i laughed when brett was on stage", "brett"),
    ("possessive_any", "donna's new song is great", "donna"),
    ("possessive_any", "jack's mom called", "jack"),
    ("name_and", "casey and amber came over", "amber"),
    ("name_and", "amber and casey came over", "amber"),
])
def test_each_cue_marks_its_name(lex_vocab, cue: str, text: str, name: str) -> None:
    # Prepare
    lex, vocab = lex_vocab
    # Execute
    found = [text[s:e] for s, e in cue_names(text, lex, vocab, (cue,))]
    # Assert
    assert found == [name]


@pytest.mark.parametrize("text", [
    "i love new york's pizza",                  # a place after "new"
    "my friend's transfer has not arrived",     # a determiner before: a common noun
    "my sister and i share an account",
    "congrats man !",
    "thanks, i will pay the bill",
    "what is the max amount i can top up ?",
    "she looks like emma",                      # a name, but no cue
])
def test_no_cue_marks_these(lex_vocab, text: str) -> None:
    # Prepare
    lex, vocab = lex_vocab
    # Execute / Assert
    assert cue_names(text, lex, vocab) == []


def test_every_cue_is_named_and_every_listed_noun_is_one_lower_case_word() -> None:
    # Prepare / Execute / Assert
    assert set(CUES) == {"greeting", "pronoun_and", "tell_verb", "subject_verb", "possessive_any", "name_and"}
    assert all(w == w.lower() and " " not in w for w in COMMON_NOUNS)


@UNCASED
@pytest.mark.parametrize("text,name", [
    ("happy birthday emma , have a great day", "emma"),
    ("congrats oliver !", "oliver"),
    ("great video carl !", "carl"),
    ("hats off to nick for the edit", "nick"),
    ("me and jack went to the lake", "jack"),
    ("oliver and i watched the game", "oliver"),
    ("she told carl about the trip", "carl"),
    ("i laughed when brett was on stage", "brett"),
    ("donna's new song is great", "donna"),
    ("jack's mom called", "jack"),
])
def test_a_cued_dictionary_word_name_without_capitals_is_masked(deid: Deidentifier, recase, text: str,
                                                                 name: str) -> None:
    # Prepare
    text, name = recase(text), recase(name)
    # Execute
    found = persons(deid, text)
    # Assert
    assert name in found


@VARIANTS
@pytest.mark.parametrize("text", [
    "thanks, i will pay the bill",
    "thanks for your help with the bill",
    "what is the max amount i can top up ?",
    "i want to chase the payment and mark it as disputed",
    "my friend's transfer has not arrived",
    "my sister and i share an account",
    "she looks like a jack of all trades",
])
def test_text_without_a_person_is_unchanged(deid: Deidentifier, recase, text: str) -> None:
    # Prepare
    text = recase(text)
    # Execute
    spans = deid.analyze(text)
    # Assert
    assert spans == []


@pytest.mark.parametrize("text,name", [
    ("I SPOKE WITH PETER BROWN FROM ACME LTD", "PETER BROWN"),       # "brown": an English word the lists drop
    ("i spoke with peter brown from acme ltd", "peter brown"),
    ("the refund for maria mcdonald was late", "maria mcdonald"),    # a census surname
    ("MY LANDLORD JOHN WHITE HAS NOT PAID", "JOHN WHITE"),
])
def test_a_full_name_after_a_contact_verb_is_masked(deid: Deidentifier, text: str, name: str) -> None:
    # Execute
    red = deid.redact(text)[0]
    # Assert
    assert not [w for w in name.split() if w in red.split()], red


@pytest.mark.parametrize("text", [
    "i spoke with the bank about my card",                          # no given name
    "i paid my rent twice",
    "i spoke with grace about my card",                             # one word: the lone-name rules decide
])
def test_contact_full_names_leave_these(lex_vocab, text: str) -> None:
    # Prepare
    from fedflm.protect.deid_cue import contact_full_names
    lexicon, _ = lex_vocab
    # Execute
    found = [text[s:e] for s, e in contact_full_names(text, lexicon)]
    # Assert
    assert found == []
