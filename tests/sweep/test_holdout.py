"""Whole-text validation carved from a phrase-level training file (fedflm/sweep/holdout.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fedflm.errors import ConfigError
from fedflm.sweep.holdout import parse_whole_text, whole_text_holdout

TEXTS = ["a truly great film .", "truly great", "great", "a truly", "film .", "dull and slow !",
         "dull", "slow", "and slow", "the cast is fine ?", "the cast", "the plot is thin ."]
LABELS = [1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0]


def test_validation_rows_are_whole_sentences_and_their_phrases_leave_training() -> None:
    # Execute
    train, val = whole_text_holdout(TEXTS, LABELS, n=2, min_words=4, seed=0)

    # Assert
    held = [TEXTS[i] for i in val]
    assert len(val) == 2 and all(len(t.split()) >= 4 and t[-1] in ".!?" for t in held)
    assert not set(train) & set(val)
    for i in train:  # no training row is a piece of a validation sentence
        assert not any(f" {TEXTS[i]} " in f" {v} " for v in held)
    dropped = set(range(len(TEXTS))) - set(train) - set(val)
    assert all(any(f" {TEXTS[i]} " in f" {v} " for v in held) for i in dropped)


def test_hand_worked_split() -> None:
    # Execute: three rows have >= 5 words and end like a sentence; all three are held out
    train, val = whole_text_holdout(TEXTS, LABELS, n=3, min_words=5, seed=0)

    # Assert: "truly great", "great", "a truly", "film ." and "the cast" are pieces of them
    assert val == [0, 9, 11]
    assert [TEXTS[i] for i in train] == ["dull and slow !", "dull", "slow", "and slow"]


def test_too_few_sentences_is_an_error_naming_the_count() -> None:
    # Execute / Assert
    with pytest.raises(ConfigError, match=r"only 4 rows have >= 4 words.*asked for 5"):
        whole_text_holdout(TEXTS, LABELS, n=5, min_words=4, seed=0)


@pytest.mark.parametrize("spec", ["", "10", "0:8", "10:0", "a:8", "1:2:3"])
def test_bad_specs_are_refused(spec: str) -> None:
    # Execute / Assert
    with pytest.raises(ConfigError, match="N:MIN_WORDS"):
        parse_whole_text(spec)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.lists(st.sampled_from(["a", "b", "c", "."]), min_size=1, max_size=6),
                          st.integers(0, 1)), min_size=4, max_size=30), st.integers(0, 5))
def test_split_is_disjoint_and_leak_free(rows, seed) -> None:
    # Prepare
    texts, labels = [" ".join(w) for w, _ in rows], [y for _, y in rows]
    eligible = sum(len(t.split()) >= 2 and t.endswith(".") for t in texts)
    if eligible < 1:
        return

    # Execute
    train, val = whole_text_holdout(texts, labels, n=1, min_words=2, seed=seed)

    # Assert
    assert len(val) == 1 and not set(train) & set(val)
    assert all(f" {texts[i]} " not in f" {texts[j]} " for i in train for j in val)
