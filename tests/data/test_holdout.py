"""Whole-text validation carved from a phrase-level training file (fedflm.data.holdout.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fedflm.config import DataConfig
from fedflm.data.holdout import parse_whole_text, whole_text_holdout
from fedflm.data.load import load_federated_data
from fedflm.errors import ConfigError, DataError

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


def _tsv(path: Path) -> Path:
    path.write_text("text\tlabel\n" + "".join(f"{t}\t{y}\n" for t, y in zip(TEXTS, LABELS)))
    return path


def test_eval_whole_text_replaces_the_stratified_carve_out(tmp_path: Path) -> None:
    # Prepare
    cfg = DataConfig(dataset=str(_tsv(tmp_path / "phrases.tsv")), eval_whole_text="3:5")

    # Execute
    data = load_federated_data(cfg, seed=0)

    # Assert: the same split as the pure function, through the loader every run uses
    assert sorted(data.eval["text"]) == sorted(TEXTS[i] for i in (0, 9, 11))
    assert data.train["text"] == ["dull and slow !", "dull", "slow", "and slow"]


def test_eval_whole_text_errors_name_the_value_or_the_file(tmp_path: Path) -> None:
    # Execute / Assert
    with pytest.raises(ConfigError, match=r"N:MIN_WORDS.*'3'"):
        DataConfig(eval_whole_text="3")
    with pytest.raises(ConfigError, match="sst2 is evaluated on its own dev/test split"):
        load_federated_data(DataConfig(dataset="sst2", eval_whole_text="3:5"), seed=0)
    with pytest.raises(DataError, match=r"phrases.tsv: .*only 3 rows"):
        load_federated_data(DataConfig(dataset=str(_tsv(tmp_path / "phrases.tsv")), eval_whole_text="9:5"), seed=0)
