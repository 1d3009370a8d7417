"""Tokenize once, then batch with dynamic padding and length grouping.

Most SST-2 / Banking77 texts are under 24 tokens: padding every batch to a
fixed maximum wastes most of the compute. Batches here are padded to their
own longest row, and rows of similar length are grouped into the same batch
(within shuffled mega-chunks, so the order stays random across batches).
"""

from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np
import torch
from datasets import Dataset
from torch.utils.data import DataLoader, Sampler
from transformers import PreTrainedTokenizerBase

from fedflm.options import SlidingSpec, parse_long_text
from fedflm.train.long_text import head_tail, windows


class TokenizedDataset(torch.utils.data.Dataset):
    """Token ids (unpadded) and labels of a text dataset: one row per record.

    ``long_text`` (issue 22): ``truncate`` and ``head-tail`` cut each record to ``max_length`` tokens;
    ``sliding:WINDOW:STRIDE[:POOL]`` keeps up to ``max_length`` tokens (the document budget) and the
    encoder reads :meth:`model_rows`, every window of every record (fedflm/train/documents.py)."""

    def __init__(self, ds: Dataset, tokenizer: PreTrainedTokenizerBase, max_length: int,
                 long_text: str = "truncate") -> None:
        self.sliding: SlidingSpec | None = parse_long_text(long_text, max_length)
        enc = tokenizer(list(ds["text"]), truncation=long_text != "head-tail", max_length=max_length,
                        padding=False, return_attention_mask=False, verbose=False)
        self.input_ids: list[list[int]] = enc["input_ids"]
        if long_text == "head-tail":  # issue 22: a quarter of the budget from the head, the rest from the end
            self.input_ids = [head_tail(ids, max_length) for ids in self.input_ids]
        self.labels: list[int] = [int(x) for x in ds["label"]]
        self.pad_id: int = int(tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0)
        self._windows: tuple[TokenizedDataset, list[list[int]]] | None = None

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[list[int], int]:
        return self.input_ids[i], self.labels[i]

    def lengths(self) -> np.ndarray:
        return np.fromiter((len(x) for x in self.input_ids), dtype=np.int64, count=len(self))

    def _rows(self, input_ids: list[list[int]], labels: list[int]) -> "TokenizedDataset":
        out = object.__new__(TokenizedDataset)
        out.input_ids, out.labels, out.pad_id, out.sliding, out._windows = input_ids, labels, self.pad_id, None, None
        return out

    def without(self, rows: Sequence[int]) -> "TokenizedDataset":
        """A copy without ``rows`` (issue 22: records excluded by the leakage check)."""
        drop = set(rows)
        keep = [i for i in range(len(self)) if i not in drop]
        out = self._rows([self.input_ids[i] for i in keep], [self.labels[i] for i in keep])
        out.sliding = self.sliding
        return out

    def model_rows(self) -> "TokenizedDataset":
        """What the encoder reads: these records, or with sliding windows every window of every record
        (computed once; the same object every call, so that a frozen-feature cache can key on it)."""
        return self if self.sliding is None else self._windowed()[0]

    def documents(self) -> list[list[int]] | None:
        """With sliding windows, the rows of :meth:`model_rows` of each record, in order; else None."""
        return None if self.sliding is None else self._windowed()[1]

    def _windowed(self) -> tuple["TokenizedDataset", list[list[int]]]:
        if self._windows is None:
            assert self.sliding is not None
            ids, labels, docs = [], [], []
            for doc, label in zip(self.input_ids, self.labels):
                parts = windows(doc, self.sliding.window, self.sliding.stride)
                docs.append(list(range(len(ids), len(ids) + len(parts))))
                ids += parts
                labels += [label] * len(parts)
            self._windows = (self._rows(ids, labels), docs)
        return self._windows


class PadCollator:
    """Pads a list of (ids, label) to the batch's longest row."""

    def __init__(self, pad_id: int, pad_to: int | None = None) -> None:
        self.pad_id, self.pad_to = pad_id, pad_to

    def __call__(self, rows: Sequence[tuple[list[int], int]]) -> dict[str, torch.Tensor]:
        width = self.pad_to or max((len(ids) for ids, _ in rows), default=1)
        ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, (row, _) in enumerate(rows):
            ids[i, : len(row)] = torch.as_tensor(row[:width])
            mask[i, : len(row)] = 1
        labels = torch.as_tensor([lab for _, lab in rows], dtype=torch.long)
        return {"input_ids": ids, "attention_mask": mask, "labels": labels}


class LengthGroupedBatchSampler(Sampler[list[int]]):
    """Shuffled batches of rows of similar length (as in HF's LengthGroupedSampler)."""

    def __init__(self, lengths: np.ndarray, batch_size: int, seed: int, mega: int = 50) -> None:
        self.lengths, self.batch_size, self.seed, self.mega = lengths, batch_size, seed, mega
        self.epoch = 0

    def __len__(self) -> int:
        return (len(self.lengths) + self.batch_size - 1) // self.batch_size

    def __iter__(self) -> Iterator[list[int]]:
        rng = np.random.default_rng(self.seed + self.epoch)
        self.epoch += 1
        order = rng.permutation(len(self.lengths))
        chunk = self.batch_size * self.mega
        batches: list[list[int]] = []
        for start in range(0, len(order), chunk):
            part = order[start : start + chunk]
            part = part[np.argsort(-self.lengths[part], kind="stable")]
            batches += [part[i : i + self.batch_size].tolist()
                        for i in range(0, len(part), self.batch_size)]
        for b in rng.permutation(len(batches)):
            yield batches[b]


def train_loader(data: TokenizedDataset, batch_size: int, seed: int,
                 group_by_length: bool = True) -> DataLoader:
    """Training batches: dynamic padding, length-grouped unless disabled."""
    collate = PadCollator(data.pad_id)
    if group_by_length:
        sampler = LengthGroupedBatchSampler(data.lengths(), batch_size, seed)
        return DataLoader(data, batch_sampler=sampler, collate_fn=collate)
    gen = torch.Generator().manual_seed(seed)
    return DataLoader(data, batch_size=batch_size, shuffle=True, generator=gen, collate_fn=collate)


def eval_loader(data: TokenizedDataset, batch_size: int) -> DataLoader:
    """Evaluation batches in length order (fast), with the original indices kept implicit."""
    order = np.argsort(data.lengths(), kind="stable").tolist()
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    return DataLoader(data, batch_sampler=batches, collate_fn=PadCollator(data.pad_id))
