"""Lone known names in text without capitals (fedflm.protect.deid_lone): a single given name or surname
with no cue is masked in all-lower and all-upper text, as it is when written with capitals; dictionary
words, chat noise and the listed non-person words stay."""

from __future__ import annotations

import pytest

from fedflm.protect.deid import Deidentifier
from fedflm.protect.deid_case import lower, upper
from fedflm.protect.deid_lexicon import build_lexicon, common_vocab
from fedflm.protect.deid_lone import NOT_LONE_NAMES, a_noun, lone_name, lone_names, unknown_word

from deid_support import persons

VARIANTS = pytest.mark.parametrize("recase", [str, lower, upper], ids=["as written", "lower", "upper"])
UNCASED = pytest.mark.parametrize("recase", [lower, upper], ids=["lower", "upper"])


@pytest.mark.parametrize("word,expected", [
    ("casey", True), ("DOUG", True), ("jedidiah", True), ("paul's", True),
    ("grace", False), ("mark", False), ("will", False),    # dictionary words that are also names
    ("hollywood", False), ("indie", False),                # listed: far more often no person
    ("monty", False), ("box", False), ("bible", False),    # listed: "the full monty", "box office"
    ("lol", False), ("imo", False), ("lotta", False),      # chat noise
    ("al", False),                                         # under three letters
    ("avant-garde", False), ("wal-mart", False),           # a hyphenated word needs every part a name
    ("chase", False),                                      # a Banking77 word (the vocabulary)
])
def test_lone_name(word: str, expected: bool) -> None:
    # Prepare
    lex, vocab = build_lexicon(), common_vocab()
    # Execute / Assert
    assert lone_name(word, lex, vocab) is expected


def test_lone_names_joins_neighbours_and_leaves_the_possessive_out() -> None:
    # Prepare
    text = "saw casey jedidiah and doug's dog"
    # Execute
    found = [text[s:e] for s, e in lone_names(text, build_lexicon(), common_vocab())]
    # Assert
    assert found == ["casey jedidiah", "doug"]


def test_no_listed_word_needs_listing_twice() -> None:
    # Prepare / Execute / Assert: every listed word is lower case and one word
    assert all(w == w.lower() and " " not in w for w in NOT_LONE_NAMES)


@UNCASED
@pytest.mark.parametrize("text,name", [
    ("Casey is a great person", "Casey"),
    ("Good luck to you and Davis with everything", "Davis"),
    ("Thanks for the memories Doug", "Doug"),
    ("I think Jedidiah is beyond irritating", "Jedidiah"),
    ("Paul's house is better than mine", "Paul"),
    ("Natalie Babbitt 's gentle , endearing 1975 children 's novel", "Natalie"),  # babbitt: a dictionary word
])
def test_a_lone_name_without_capitals_is_masked(deid: Deidentifier, recase, text: str, name: str) -> None:
    # Prepare: main found the name only as written (a capitalised known name); in lower / upper case it passed
    cased = recase(text)
    # Execute
    found = persons(deid, cased)
    # Assert
    assert found == [recase(name)]


@VARIANTS
@pytest.mark.parametrize("text", [
    "hollywood loves indie films and the oscar race",
    "Mark my words, you will see grace in it",
    "lol that was a lotta fun",
    "an avant-garde piece bought at wal-mart",
    "I want to transfer money to my account please",
    "why did my card payment get declined twice",
])
def test_text_without_a_person_is_unchanged(deid: Deidentifier, recase, text: str) -> None:
    # Execute / Assert
    assert persons(deid, recase(text)) == []



@pytest.mark.parametrize("word,expected", [
    ("brakowitz", True), ("Tulliver's", True),
    ("keep", False), ("lol", False), ("ok", False), ("chase", False),
    ("animé", False), ("façade", False), ("venice", False),        # accented loan words, a listed place word
    ("zélimir", True),                                             # accents, but no English word
])
def test_unknown_word(word: str, expected: bool) -> None:
    # Execute / Assert
    assert unknown_word(word, common_vocab()) is expected


@pytest.mark.parametrize("text,recase,name", [
    ("Great video Brakowitz , keep going", lower, "brakowitz"),
    ("Wow Tulliver , your edit is amazing", lower, "tulliver"),
    ("Wow Tulliver , your edit is amazing", upper, "TULLIVER"),
    ("So nice meeting you and Zelimir !", upper, "ZELIMIR"),
    ("Kaldoran , so much better player than him", lower, "kaldoran"),
])
def test_the_model_reads_a_recased_view_of_text_without_capitals(deid: Deidentifier, text: str, recase,
                                                                  name: str) -> None:
    # Prepare: names no list holds; the model took them only when capitalised (on main, in this case variant)
    cased = recase(text)
    # Execute
    found = persons(deid, cased)
    # Assert: the name alone, no comma or neighbouring word
    assert found == [name]


@pytest.mark.parametrize("text,names", [
    ("Good luck to you and davis with everything", ["davis"]),
    ("Is it true that jedidiah left the band?", ["jedidiah"]),
    ("We met Sarah at the Plaza and thanked doug for it", ["Sarah", "doug"]),
])
def test_a_lone_name_written_lower_case_in_cased_text_is_masked(deid: Deidentifier, text: str,
                                                                names: list[str]) -> None:
    # Execute: main left the lower-case name (text with capitals elsewhere)
    found = persons(deid, text)
    # Assert
    assert found == names


@pytest.mark.parametrize("text", [
    "What is the max amount I can top up with my Visa card?",
    "Why wasn't my contactless accepted at the metro?",
    "My Grace period ended, will you chase the payment?",
])
def test_cased_text_without_a_person_is_unchanged(deid: Deidentifier, text: str) -> None:
    # Execute / Assert
    assert persons(deid, text) == []


@pytest.mark.parametrize("text,word,expected", [
    ("sorority boys is a bowser .", "bowser", True),
    ("it is an emerson , i think", "emerson", True),
    ("a spielberg film at its best", "spielberg", False),          # a noun follows: other rules judge it
    ("i spoke to bowser .", "bowser", False),                     # no article
    ("the payment to amanda failed", "amanda", False),
    ("~ THOMAS A EDISON", "EDISON", False),                      # a middle initial after a given name
    ("a bowser !", "bowser", True),
])
def test_a_noun(text: str, word: str, expected: bool) -> None:
    # Prepare
    start = text.index(word)
    # Execute / Assert
    assert a_noun(text, start, start + len(word), build_lexicon().is_name) is expected


def test_a_word_after_an_article_at_a_clause_end_is_no_lone_name() -> None:
    # Prepare
    lexicon, vocab = build_lexicon(), common_vocab()
    # Execute
    found = lone_names("sorority boys is a bowser . i sent it to bowser .", lexicon, vocab)
    # Assert
    assert found == [(41, 47)]  # only the second, after "to"
