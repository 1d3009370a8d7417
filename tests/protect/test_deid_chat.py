"""Chat noise is no name (fedflm.protect.deid_chat): interjections and drawn-out words are left alone,
names next to them are still masked, in every letter case."""

from __future__ import annotations

import pytest

from fedflm.protect.deid import Deidentifier
from fedflm.protect.deid_case import lower, upper
from fedflm.protect.deid_chat import CHAT_WORDS, chat_only, chat_trimmed, web_word
from fedflm.protect.deid_lexicon import build_lexicon
from deid_support import persons


def test_no_chat_word_is_a_lexicon_name() -> None:
    # Prepare
    lex = build_lexicon()
    # Execute / Assert
    assert sorted(w for w in CHAT_WORDS if lex.is_name(w)) == []


@pytest.mark.parametrize("span,expected", [
    ("lmao", True), ("Hahahahhahahaha lol", True), ("Aaawww", True), ("LOLOLOLOL", True), ("OMG", True),
    ("lol singaporeans", False),   # another word: judged as before
    ("Aaaqil", False),             # drawn-out, but a name Faker lists
    ("Jonyeee", False),            # a drawn-out name: collapsed it is no chat word, no dictionary word
    ("sooo", True), ("ROOOAAADDD", True), ("KEKEKEKEKKEKE", True),
    ("Hanna", False), ("Otto", False), ("", False),
])
def test_chat_only(span: str, expected: bool) -> None:
    # Prepare
    lex = build_lexicon()
    # Execute / Assert
    assert chat_only(span, lex.is_name) is expected


@pytest.mark.parametrize("span,expected", [
    ("anna plz", "anna"), ("OMG JASON", "JASON"), ("lol maria lopez haha", "maria lopez"),
    ("maria lopez", "maria lopez"),            # no noise: the span as it was
    ("lmao lol", None),                        # all noise: none
    ("Aaaqil lol", "Aaaqil"),                  # a drawn-out name Faker lists stays
    ("sooo nice", "nice"),                     # drawn-out noise at an edge is cut too
])
def test_chat_trimmed(span: str, expected: str | None) -> None:
    # Execute
    cut = chat_trimmed(span, 0, len(span), build_lexicon().is_name)
    # Assert
    assert (None if cut is None else span[cut[0]:cut[1]]) == expected


@pytest.mark.parametrize("recase", [str, lower, upper], ids=["as written", "lower", "upper"])
@pytest.mark.parametrize("text,name", [("thanks anna plz send it", "anna"),   # fail on main: anna plz
                                       ("OMG JASON KEPT CALLING ME TODAY", "JASON")])
def test_chat_noise_beside_a_name_is_left_out_of_it(deid: Deidentifier, recase, text: str, name: str) -> None:
    # Execute / Assert
    assert persons(deid, recase(text)) == [recase(name)]


@pytest.mark.parametrize("recase", [str, lower, upper], ids=["as written", "lower", "upper"])
@pytest.mark.parametrize("text", ["Hahahahhahahaha lol my sister and i watch ur older video",
                                  "Aaawww , I was looking forward to it", "OMG your face when it started"])
def test_chat_noise_is_not_masked(deid: Deidentifier, recase, text: str) -> None:
    # Execute
    spans = deid.analyze(recase(text))
    # Assert
    assert [sp for sp in spans if sp.entity == "PERSON"] == []


@pytest.mark.parametrize("recase", [str, lower, upper], ids=["as written", "lower", "upper"])
def test_a_name_beside_chat_noise_is_masked(deid: Deidentifier, recase) -> None:
    # Prepare
    text = recase("lol my name is Maria Gonzalez hahaha")
    # Execute
    out, counts = deid.redact(text)
    # Assert
    assert counts["PERSON"] == 1 and "Gonzalez".lower() not in out.lower()


@pytest.mark.parametrize("text,word,expected", [
    ("via @sfoodie today", "sfoodie", True), ("#lfc rocks", "lfc", True),
    ("see http://t.co/x1 now", "http", True), ("go to www.example.com", "example", True),
    ("hi maria garcia", "maria", False), ("mail ana@example.com", "mail", False),
])
def test_web_word(text: str, word: str, expected: bool) -> None:
    # Prepare
    start = text.index(word)
    # Execute / Assert
    assert web_word(text, start, start + len(word)) is expected


@pytest.mark.parametrize("text", [
    "@stjosephs empls of the month : great work",        # a handle and the word after it
    "hope we do it at the bridge ! #lfc http://t.co/r2qnzshzda",  # a hashtag, a web address's scheme
    "it did a deal with netflix http://dlvr.it/5rgcl",
])
@pytest.mark.parametrize("recase", [str, upper], ids=["lower", "upper"])
def test_handles_and_web_addresses_join_no_name(deid: Deidentifier, recase, text: str) -> None:
    # Execute / Assert
    assert persons(deid, recase(text)) == []


@pytest.mark.parametrize("text,name", [
    ("@mandyjiroux hi there , i spoke with aurelio kovačević yesterday", "aurelio kovačević"),
    ("i spoke with süner gürsal yesterday http://t.co/x1", "süner gürsal"),
])
@pytest.mark.parametrize("recase", [str, upper], ids=["lower", "upper"])
def test_names_beside_handles_stay_masked(deid: Deidentifier, recase, text: str, name: str) -> None:
    # Execute / Assert
    assert recase(name) in persons(deid, recase(text))
