"""Tokenize once, pad each batch to its own longest row, group rows of similar length."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from datasets import Dataset
from hypothesis import given, settings
from hypothesis import strategies as st

from fedflm.config import ModelConfig
from fedflm.errors import ConfigError
from fedflm.models.lora import load_tokenizer
from fedflm.train.batching import (LengthGroupedBatchSampler, PadCollator, TokenizedDataset,
                                   eval_loader, train_loader)
from fedflm.train.long_text import windows


@pytest.fixture(scope="module")
def tokenized(tiny_model_dir: Path, sst2_sample: list[tuple[str, int]]) -> TokenizedDataset:
    rows = sst2_sample[:400]
    ds = Dataset.from_dict({"text": [t for t, _ in rows], "label": [y for _, y in rows]})
    return TokenizedDataset(ds, load_tokenizer(ModelConfig(model=str(tiny_model_dir))), 64)


def test_collator_pads_to_the_batch_maximum_only() -> None:
    # Prepare
    rows = [([2, 7, 3], 0), ([2, 7, 8, 9, 3], 1), ([2, 3], 1)]

    # Execute
    batch = PadCollator(pad_id=0)(rows)

    # Assert
    assert batch["input_ids"].tolist() == [[2, 7, 3, 0, 0], [2, 7, 8, 9, 3], [2, 3, 0, 0, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 1, 0, 0, 0]]
    assert batch["labels"].tolist() == [0, 1, 1]


def test_tokenized_rows_are_unpadded_and_truncated(tokenized: TokenizedDataset) -> None:
    # Prepare
    lengths = tokenized.lengths()

    # Execute
    ids, label = tokenized[0]

    # Assert: no padding stored, max_length respected, real variety of lengths
    assert tokenized.pad_id not in ids and label in (0, 1)
    assert lengths.max() <= 64 and lengths.min() >= 3 and len(set(lengths.tolist())) > 10


def test_head_tail_keeps_the_start_and_the_end_of_long_texts(tiny_model_dir: Path) -> None:
    # Prepare: one long text whose last words matter (issue 22: --long-text head-tail)
    tok = load_tokenizer(ModelConfig(model=str(tiny_model_dir)))
    ds = Dataset.from_dict({"text": ["good " * 60 + "but the ending was awful"], "label": [0]})
    full = tok(ds["text"][0])["input_ids"]

    # Execute
    cut, kept = TokenizedDataset(ds, tok, 16), TokenizedDataset(ds, tok, 16, "head-tail")

    # Assert: same budget; truncation loses the end, head-tail keeps the first 4 and the last 12 tokens
    assert len(cut[0][0]) == len(kept[0][0]) == 16 < len(full)
    assert kept[0][0] == full[:4] + full[-12:] and cut[0][0] == full[:15] + full[-1:]
    with pytest.raises(ConfigError, match="long_text must be truncate, head-tail or sliding"):
        TokenizedDataset(ds, tok, 16, "sliding:8")
    with pytest.raises(ConfigError, match="WINDOW must be <= max_length 16"):
        TokenizedDataset(ds, tok, 16, "sliding:20:4")


def test_sliding_windows_read_the_whole_document_budget(tiny_model_dir: Path) -> None:
    # Prepare: two records, one longer than the window (issue 22: --long-text sliding:8:4)
    tok = load_tokenizer(ModelConfig(model=str(tiny_model_dir)))
    ds = Dataset.from_dict({"text": ["good " * 60 + "but the ending was awful", "fine"], "label": [0, 1]})
    full = [tok(t)["input_ids"] for t in ds["text"]]

    # Execute
    data = TokenizedDataset(ds, tok, 40, "sliding:8:4:max")
    rows, docs = data.model_rows(), data.documents()

    # Assert: records keep the 40-token budget; the rows are their windows, in order, with their labels
    assert data.sliding.pool == "max" and data[0][0] == full[0][:39] + full[0][-1:] and data[1][0] == full[1]
    assert [rows[i][0] for i in docs[0]] == windows(data[0][0], 8, 4) and len(docs[0]) == 9
    assert [rows[i] for i in docs[1]] == [(full[1], 1)] and rows.labels == [0] * 9 + [1]
    assert data.model_rows() is rows and data.without([0]).documents() == [[0]]
    assert TokenizedDataset(ds, tok, 40).model_rows().documents() is None


def test_train_batches_are_padded_to_their_own_longest_row(tokenized: TokenizedDataset) -> None:
    # Prepare
    loader = train_loader(tokenized, batch_size=16, seed=0)

    # Execute
    batches = list(loader)

    # Assert: width = longest row in that batch; padding only where the mask is 0
    for b in batches:
        real = b["attention_mask"].sum(dim=1)
        assert b["input_ids"].shape[1] == int(real.max())
        assert bool((b["input_ids"][b["attention_mask"] == 0] == tokenized.pad_id).all())
    assert len({b["input_ids"].shape[1] for b in batches}) > 3


def test_one_epoch_covers_every_row_once_with_its_label(tokenized: TokenizedDataset) -> None:
    # Prepare
    loader = train_loader(tokenized, batch_size=16, seed=3)

    # Execute
    batches = list(loader)

    # Assert: the multiset of (tokens, label) pairs is exactly the data set
    seen = Counter()
    for b in batches:
        for ids, mask, label in zip(b["input_ids"], b["attention_mask"], b["labels"]):
            seen[(tuple(ids[mask.bool()].tolist()), int(label))] += 1
    assert seen == Counter((tuple(ids), lab) for ids, lab in tokenized)
    assert len(batches) == len(loader) == 25


def test_length_grouping_pads_far_less_than_random_batches(tokenized: TokenizedDataset) -> None:
    # Prepare
    def pad_tokens(loader) -> int:
        return sum(int((b["attention_mask"] == 0).sum()) for b in loader)

    # Execute
    grouped = pad_tokens(train_loader(tokenized, batch_size=16, seed=1))
    shuffled = pad_tokens(train_loader(tokenized, batch_size=16, seed=1, group_by_length=False))

    # Assert
    assert grouped * 3 < shuffled


@settings(max_examples=60, deadline=None, derandomize=True)
@given(lengths=st.lists(st.integers(1, 100), min_size=1, max_size=300),
       batch_size=st.integers(1, 40), seed=st.integers(0, 2**31), mega=st.integers(1, 8))
def test_sampler_yields_each_index_once_per_epoch(lengths: list[int], batch_size: int,
                                                   seed: int, mega: int) -> None:
    # Prepare
    sampler = LengthGroupedBatchSampler(np.array(lengths), batch_size, seed, mega=mega)

    # Execute
    epochs = [list(sampler), list(sampler)]

    # Assert: a permutation of all indices each epoch, all batches full but at most one
    for batches in epochs:
        flat = [i for b in batches for i in b]
        assert sorted(flat) == list(range(len(lengths)))
        assert len(batches) == len(sampler) and all(1 <= len(b) <= batch_size for b in batches)
        assert sum(len(b) < batch_size for b in batches) <= 1


def test_sampler_reshuffles_between_epochs_and_is_seeded() -> None:
    # Prepare
    lengths = np.random.default_rng(0).integers(1, 50, 500)

    # Execute
    a, b = LengthGroupedBatchSampler(lengths, 8, seed=5), LengthGroupedBatchSampler(lengths, 8, seed=5)
    a1, a2, b1 = list(a), list(a), list(b)

    # Assert
    assert a1 == b1 and a1 != a2


def test_eval_loader_covers_every_row_once(tokenized: TokenizedDataset) -> None:
    # Prepare
    loader = eval_loader(tokenized, batch_size=64)

    # Execute
    batches = list(loader)

    # Assert
    assert sum(len(b["labels"]) for b in batches) == len(tokenized)
    assert Counter(int(y) for b in batches for y in b["labels"]) == Counter(tokenized.labels)
    widths = [b["input_ids"].shape[1] for b in batches]
    assert widths == sorted(widths)
