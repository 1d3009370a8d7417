"""``--augment none|edit[:COPIES]``: token-level data augmentation that keeps the privacy unit (issue 22).

Each training record comes with COPIES edited copies of its token ids (EDA-style: random
deletion, each token with probability :data:`EDIT_P`, then ``round(EDIT_P * length)`` random
swaps; the first and the last token, a BERT tokenizer's ``[CLS]``/``[SEP]``, stay in place).
Synonym replacement needs a thesaurus; none ships offline here (no WordNet data), so it is not
offered.

The collate function expands a batch of records into rows (the record, then its copies) and adds
``groups``: the record each row comes from. Under DP-SGD :class:`~fedflm.privacy.dp.PrivateOptimizer`
averages the gradients of one record's rows *before* clipping (``sample_groups``), so a record and
its copies add at most C together, and the sampler draws records: q = batch / records, never
batch / rows. Without DP the copies are simply more rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader

from fedflm.errors import ConfigError
from fedflm.options import parse_augment

__all__ = ["EDIT_P", "AugmentCollator", "augment_loader", "edit_tokens"]

EDIT_P = 0.1


def edit_tokens(ids: Sequence[int], rng: np.random.Generator, p: float = EDIT_P) -> list[int]:
    """Random deletion then random swaps of the inner tokens (ends kept; at least one inner token kept)."""
    ids = list(ids)
    if len(ids) <= 3:
        return ids
    head, inner, tail = ids[:1], ids[1:-1], ids[-1:]
    kept = [t for t in inner if rng.random() >= p] or [inner[int(rng.integers(len(inner)))]]
    for _ in range(int(round(p * len(kept)))):
        i, j = rng.integers(len(kept), size=2)
        kept[i], kept[j] = kept[j], kept[i]
    return head + kept + tail


class AugmentCollator:
    """Rows = each record then its ``copies`` edited copies; ``groups`` = the record of each row."""

    def __init__(self, inner: Callable[[list], dict[str, torch.Tensor]], copies: int, seed: int) -> None:
        self.inner, self.copies = inner, copies
        self.rng = np.random.default_rng(seed)

    def __call__(self, records: Sequence[tuple[list[int], int]]) -> dict[str, torch.Tensor]:
        rows, groups = [], []
        for g, (ids, label) in enumerate(records):
            rows += [(list(ids), label)] + [(edit_tokens(ids, self.rng), label) for _ in range(self.copies)]
            groups += [g] * (1 + self.copies)
        return {**self.inner(rows), "groups": torch.as_tensor(groups, dtype=torch.long)}


def augment_loader(loader: DataLoader, spec: str, seed: int) -> DataLoader:
    """``loader`` over the same records and batches, each record expanded with its edited copies."""
    copies = parse_augment(spec)
    if not copies:
        return loader
    first = loader.dataset[0] if len(loader.dataset) else ([], 0)  # type: ignore[arg-type]
    if not isinstance(first[0], list):
        raise ConfigError(f"augment {spec!r} needs token-id batches, not cached features: pass --feature-cache false")
    return DataLoader(loader.dataset, batch_sampler=loader.batch_sampler,
                      collate_fn=AugmentCollator(loader.collate_fn, copies, seed))
