"""``--long-text sliding:WINDOW:STRIDE[:POOL]``: batches of documents over window rows (issue 22).

The encoder (and the frozen-feature cache) works on rows: the windows of
:meth:`~fedflm.train.batching.TokenizedDataset.model_rows`. Training and evaluation work on
documents: :class:`Documents` turns any row-level dataset (token ids, cached sentence vectors or
cached hidden states, all indexed like ``model_rows``) into one item per document, and
:class:`GroupCollator` flattens a batch of documents into rows plus ``groups``, the document of
each row.

* Under DP-SGD the Poisson sampler draws from :class:`Documents`, so q = batch / documents, and
  ``PrivateOptimizer.sample_groups`` averages a document's window gradients *before* clipping:
  a document adds at most C however many windows it has (as augmented copies, ``augment.py``).
* Evaluation (``fedflm.train.local.evaluate``) pools a document's window logits, mean or max.
* The one-shot DP prototypes (round 1 of head mode) release one vector per document: the mean
  of its windows' vectors, each clipped to norm 1 first, so a document still moves one class
  sum by at most 1 (:func:`document_vectors`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch.utils.data import DataLoader, Dataset

from fedflm.train.batching import TokenizedDataset

__all__ = ["Documents", "GroupCollator", "document_loader", "document_vectors"]


class Documents(Dataset):
    """One item per document: the list of its rows in ``rows`` (a dataset indexed like ``model_rows``)."""

    def __init__(self, rows: Dataset, documents: Sequence[Sequence[int]], labels: Sequence[int]) -> None:
        self.rows, self.documents, self.labels = rows, documents, list(labels)

    def __len__(self) -> int:
        return len(self.documents)

    def __getitem__(self, i: int) -> list:
        return [self.rows[r] for r in self.documents[i]]


class GroupCollator:
    """A batch of documents -> the ``inner`` batch of all their rows, plus ``groups`` (0, 1, ... per document)."""

    def __init__(self, inner: Callable[[list], dict[str, torch.Tensor]]) -> None:
        self.inner = inner

    def __call__(self, docs: Sequence[list]) -> dict[str, torch.Tensor]:
        rows = [row for doc in docs for row in doc]
        groups = [g for g, doc in enumerate(docs) for _ in doc]
        return {**self.inner(rows), "groups": torch.as_tensor(groups, dtype=torch.long)}


def document_loader(loader: DataLoader, data: TokenizedDataset, batch_size: int, seed: int | None) -> DataLoader:
    """``loader`` (over ``data.model_rows()``) regrouped into batches of ``batch_size`` documents: shuffled
    with ``seed``, or in order when ``seed`` is None (evaluation). Without sliding windows: ``loader``."""
    documents = data.documents()
    if documents is None:
        return loader
    docs = Documents(loader.dataset, documents, data.labels)
    collate = GroupCollator(loader.collate_fn)
    if seed is None:
        return DataLoader(docs, batch_size=batch_size, shuffle=False, collate_fn=collate)
    gen = torch.Generator().manual_seed(seed)
    return DataLoader(docs, batch_size=batch_size, shuffle=True, generator=gen, collate_fn=collate)


def document_vectors(vectors: torch.Tensor, documents: Sequence[Sequence[int]] | None) -> torch.Tensor:
    """Per document, the mean of its rows' vectors each clipped to L2 norm <= 1 (norm <= 1 again);
    ``vectors`` as they are without sliding windows (``documents`` None)."""
    if documents is None:
        return vectors
    x = vectors.double()
    x = x / x.norm(dim=1, keepdim=True).clamp(min=1.0)
    return torch.stack([x[list(rows)].mean(0) for rows in documents]).to(vectors.dtype)
