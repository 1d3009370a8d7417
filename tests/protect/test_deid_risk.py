"""Residual-risk view: capitalised out-of-vocabulary words and long digit runs, most frequent first."""

from __future__ import annotations

import pytest

from fedflm.errors import ConfigError
from fedflm.protect.deid_risk import CAPITALISED, DIGIT_RUN, RiskToken, risk_tokens


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
