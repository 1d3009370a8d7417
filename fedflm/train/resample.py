"""``--resample none|oversample|undersample``: balance a client's classes by its own label counts.

* ``undersample`` -- every round, each class keeps a fresh random subset of ``min_c n_c`` rows
  (the smallest class the client holds). Under DP-SGD the round samples from these ``n_kept``
  distinct records, so the accountant's rate is ``q = batch / n_kept`` (larger than
  ``batch / n``: each kept record is drawn more often, and the plan calibrates the noise for
  that ``q``). Records left out of a round spend nothing in it but are accounted as if drawn.
* ``oversample`` -- each class is topped up to ``max_c n_c`` rows with duplicates drawn with
  replacement. **Refused under DP-SGD**: a duplicated record would be drawn as several
  independent samples, and the accountant's ``q`` (one unit per record) would under-count it.
  Under DP use ``--loss weighted`` (the same expected gradient, one unit per record) or
  ``--resample undersample``.

Both read the class counts of the client's own rows, which never leave it. Strictly, count-
dependent choices (this, and ``--loss weighted``) fall outside the accountant's add/remove
analysis: adding or removing one record also changes which other rows of its class are kept
(or their weights). The reported epsilon covers each record's content with the label counts
treated as public, as the dataset size ``n`` in ``q = batch / n`` already is.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from fedflm.errors import ConfigError

__all__ = ["Resampled", "resample_indices", "resample_loader", "resampled_size", "resampled_size_of_counts"]


def _by_class(labels: Sequence[int]) -> list[np.ndarray]:
    y = np.asarray(labels, dtype=np.int64)
    return [np.flatnonzero(y == c) for c in np.unique(y)]


def resampled_size_of_counts(counts: Sequence[int], mode: str) -> int:
    """Rows a client with these label counts trains on in a round (the DP unit count under undersample)."""
    sizes = [int(c) for c in counts if c > 0]
    if mode == "none" or not sizes:
        return int(sum(sizes))
    return len(sizes) * (min(sizes) if mode == "undersample" else max(sizes))


def resampled_size(labels: Sequence[int], mode: str) -> int:
    """:func:`resampled_size_of_counts` of the client's labels."""
    return resampled_size_of_counts(np.bincount(np.asarray(labels, dtype=np.int64)).tolist(), mode)


def resample_indices(labels: Sequence[int], mode: str, seed: int) -> np.ndarray:
    """Row indices of one round's resampled set (sorted; duplicates under oversample)."""
    if mode not in ("none", "oversample", "undersample"):
        raise ConfigError(f"resample must be none, oversample or undersample, got {mode!r}")
    groups = _by_class(labels)
    if mode == "none" or not groups:
        return np.arange(len(labels))
    rng = np.random.default_rng(seed)
    sizes = [len(g) for g in groups]
    parts = []
    for g in groups:
        if mode == "undersample":
            parts.append(rng.choice(g, size=min(sizes), replace=False))
        else:
            parts.append(np.concatenate([g, rng.choice(g, size=max(sizes) - len(g), replace=True)]))
    return np.sort(np.concatenate(parts))


class Resampled(Dataset):
    """A view of ``base`` through ``indices`` (with the labels that a weighted loss reads)."""

    def __init__(self, base: Dataset, indices: np.ndarray) -> None:
        self.base, self.indices = base, indices
        base_labels = base.labels  # type: ignore[attr-defined]
        self.labels = [int(base_labels[i]) for i in indices]

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int):
        return self.base[int(self.indices[i])]


def _batch_size(loader: DataLoader) -> int:
    size = loader.batch_size or getattr(loader.batch_sampler, "batch_size", None)
    if size is None:
        raise ConfigError("resampling needs a loader with a batch size")
    return int(size)


def resample_loader(loader: DataLoader, mode: str, seed: int, dp_sample: bool = False) -> DataLoader:
    """``loader`` over this round's resampled rows (shuffled, same batch size and collate)."""
    if mode == "none":
        return loader
    if mode == "oversample" and dp_sample:
        raise ConfigError("resample 'oversample' is refused under DP-SGD: duplicated records would be "
                          "sampled as independent units; use --loss weighted or --resample undersample")
    data = Resampled(loader.dataset, resample_indices(loader.dataset.labels, mode, seed))  # type: ignore[attr-defined]
    gen = torch.Generator().manual_seed(seed)
    return DataLoader(data, batch_size=_batch_size(loader), shuffle=True, generator=gen,
                      collate_fn=loader.collate_fn)
