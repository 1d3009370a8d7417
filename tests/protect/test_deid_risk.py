"""Residual-risk view: capitalised out-of-vocabulary words and long digit runs, most frequent first; in text
without capitals, name-list words and unknown words."""

from __future__ import annotations

import pytest

from fedflm.errors import ConfigError
from fedflm.protect.deid_risk import CAPITALISED, DIGIT_RUN, UNCASED_NAME, UNCASED_UNKNOWN, RiskToken, risk_tokens


def test_lists_unknown_capitalised_words_and_digit_runs_by_frequency() -> None:
    # Prepare
    vocab = frozenset({"my", "card", "the", "call", "thanks", "please"})
    texts = ["Thanks Zorblatt, call 0044 20 7946", "Zorblatt again: ref 123456789", "my <PERSON> card",
             "Please call THE BANK", "Card 12345 ok"]
    # Execute
    out = risk_tokens(texts, vocab, top=10)
    # Assert: the unknown name twice, then the two long digit runs; vocabulary, ALL CAPS,
    # placeholders and short numbers are not listed
    assert out == [RiskToken("Zorblatt", CAPITALISED, 2), RiskToken("0044 20 7946", DIGIT_RUN, 1),
                   RiskToken("123456789", DIGIT_RUN, 1)]


def test_top_limits_and_is_validated() -> None:
    # Prepare
    texts = [f"Name{c} Qx" for c in "ABC"]
    # Execute / Assert
    assert [t.token for t in risk_tokens(texts, frozenset(), top=1)] == ["Qx"]
    with pytest.raises(ConfigError, match="got 0"):
        risk_tokens(texts, frozenset(), top=0)


def test_text_without_capitals_lists_name_list_words_and_unknown_words() -> None:
    # Prepare: chat in lower case and shouting in upper case, where capitals mark nothing; `emma` and
    # `nick` are name-list words de-identification keeps (they are English words too), `zorblatt` is in
    # no list; `card`, `thanks` are vocabulary, `send` a dictionary word, `lol` chat noise
    names = {"emma", "nick"}
    vocab = frozenset({"card", "thanks", "hi", "again", "call", "here"})
    texts = ["hi its emma again lol, send the card to zorblatt", "EMMA HERE, CALL <PERSON> AT 0044 20 7946",
             "thanks nick", "Thanks Nick, I will call Zorblatt"]
    # Execute
    out = risk_tokens(texts, vocab, top=10, is_name=lambda w: w.lower() in names)
    # Assert: `emma` and `EMMA` are one row; the cased text still lists only its unknown capitalised word
    assert out == [RiskToken("emma", UNCASED_NAME, 2), RiskToken("Nick", CAPITALISED, 1),
                   RiskToken("Zorblatt", CAPITALISED, 1), RiskToken("0044 20 7946", DIGIT_RUN, 1),
                   RiskToken("nick", UNCASED_NAME, 1), RiskToken("zorblatt", UNCASED_UNKNOWN, 1)]


def test_without_a_name_list_text_without_capitals_still_lists_unknown_words() -> None:
    # Execute
    out = risk_tokens(["send it to zorblatt please"], frozenset({"it", "to"}), top=5)
    # Assert
    assert out == [RiskToken("zorblatt", UNCASED_UNKNOWN, 1)]
