"""One owner's users as a DP-SGD data set: one item per *user* (the privacy unit).

A row is one record's features ``[h_history, h_candidate]`` (frozen sentence vectors) and its
label. :class:`~fedflm.train.documents.Documents` groups the rows by user and
:class:`~fedflm.train.documents.GroupCollator` adds ``groups`` (the user of each row), as for
long-text documents: under DP-SGD the Poisson sampler draws users (q = batch / users) and
``PrivateOptimizer.sample_groups`` averages a user's row gradients before clipping, so one
user adds at most C to a step however many interactions they have.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch.utils.data import DataLoader

from fedflm.recommend.records import UserExamples
from fedflm.train.cache import CachedRows
from fedflm.train.documents import Documents, GroupCollator

__all__ = ["PairCollator", "user_dataset", "user_loader"]


class PairCollator:
    """Stacks ``(features, label)`` rows; float labels; an empty list gives an empty batch (Poisson sampling)."""

    def __init__(self, width: int) -> None:
        self.width = width

    def __call__(self, rows: Sequence[tuple[torch.Tensor, int]]) -> dict[str, torch.Tensor]:
        feats = torch.stack([r for r, _ in rows]) if rows else torch.zeros((0, self.width))
        return {"features": feats, "labels": torch.as_tensor([float(y) for _, y in rows], dtype=torch.float32)}


def user_dataset(users: Sequence[UserExamples], vectors: Mapping[str, torch.Tensor]) -> Documents:
    """One item per user: the list of its rows (``vectors``: text -> frozen sentence vector)."""
    rows, labels, documents = [], [], []
    for user in users:
        start = len(rows)
        for ex in user.examples:
            rows.append(torch.cat([vectors[ex.history], vectors[ex.candidate]]))
            labels.append(ex.label)
        documents.append(list(range(start, len(rows))))
    return Documents(CachedRows(rows, labels), documents, [0] * len(documents))


def user_loader(data: Documents, batch_size: int, seed: int) -> DataLoader:
    """Shuffled batches of ``batch_size`` users (DP-SGD replaces the batches by Poisson samples of users)."""
    width = int(data.rows.rows[0].shape[0]) if len(data.rows) else 0
    gen = torch.Generator().manual_seed(seed)
    return DataLoader(data, batch_size=min(batch_size, len(data)), shuffle=True, generator=gen,
                      collate_fn=GroupCollator(PairCollator(width)))
