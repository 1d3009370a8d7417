"""Chat noise is no name (fedflm.protect.deid_chat): interjections and drawn-out words are left alone,
names next to them are still masked, in every letter case."""

from __future__ import annotations

import pytest

from fedflm.protect.deid import Deidentifier
from fedflm.protect.deid_case import lower, upper
from fedflm.protect.deid_chat import CHAT_WORDS, chat_only
from fedflm.protect.deid_lexicon import build_lexicon


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
