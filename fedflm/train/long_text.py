"""Long texts (issue 22): truncate, head+tail, or sliding windows with one privacy unit per document.

Pure functions on token ids; ``--long-text`` uses them through
:class:`~fedflm.train.batching.TokenizedDataset` (``head_tail``, and ``windows`` for
``model_rows``) and :mod:`fedflm.train.documents` (batches of documents, ``pool_logits`` in
:func:`~fedflm.train.local.evaluate`):

* :func:`truncate` keeps the first ``max_len`` tokens; :func:`head_tail` keeps the first quarter
  and the last three quarters of the budget (Sun et al. 2019 found head+tail best on long reviews).
* :func:`windows` cuts a document into windows of ``window`` tokens every ``stride`` tokens, each
  with the document's first and last token (a BERT tokenizer's ``[CLS]``/``[SEP]``) around it.
* :class:`WindowCollator` turns a batch of documents into rows (their windows) plus ``groups``,
  the document of each row (a token-id collate function; the CLI's path cuts the windows once,
  in ``model_rows``, so that the frozen-feature cache can hold them). Under DP-SGD ``PrivateOptimizer.sample_groups`` averages a
  document's window gradients before clipping, so a document adds at most C however many
  windows it has, and the Poisson sampler draws documents: q = batch / documents.
* :func:`pool_logits` pools the window logits of each document (mean or max) for evaluation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from fedflm.errors import ConfigError

__all__ = ["WindowCollator", "head_tail", "pool_logits", "truncate", "windows"]


def truncate(ids: Sequence[int], max_len: int) -> list[int]:
    """The first ``max_len - 1`` tokens and the last one (the end marker)."""
    ids = list(ids)
    return ids if len(ids) <= max_len else ids[:max_len - 1] + ids[-1:]


def head_tail(ids: Sequence[int], max_len: int, head: float = 0.25) -> list[int]:
    """The first ``head`` share of the budget and the rest from the end of the document."""
    ids = list(ids)
    if len(ids) <= max_len:
        return ids
    n_head = max(1, int(max_len * head))
    return ids[:n_head] + ids[len(ids) - (max_len - n_head):]


def windows(ids: Sequence[int], window: int, stride: int) -> list[list[int]]:
    """Windows of ``window`` tokens (ends included) every ``stride`` inner tokens, covering the document."""
    if not (3 <= window and 1 <= stride <= window - 2):
        raise ConfigError(f"sliding window needs WINDOW >= 3 and 1 <= STRIDE <= WINDOW - 2, got {window}:{stride}")
    ids = list(ids)
    if len(ids) <= window:
        return [ids]
    head, inner, tail, size = ids[:1], ids[1:-1], ids[-1:], window - 2
    starts = list(range(0, len(inner) - size, stride)) + [len(inner) - size]
    return [head + inner[s:s + size] + tail for s in dict.fromkeys(starts)]


class WindowCollator:
    """Rows = every window of every document in the batch; ``groups`` = the document of each row."""

    def __init__(self, inner: Callable[[list], dict[str, torch.Tensor]], window: int, stride: int) -> None:
        self.inner, self.window, self.stride = inner, window, stride

    def __call__(self, docs: Sequence[tuple[list[int], int]]) -> dict[str, torch.Tensor]:
        rows, groups = [], []
        for g, (ids, label) in enumerate(docs):
            parts = windows(ids, self.window, self.stride)
            rows += [(w, label) for w in parts]
            groups += [g] * len(parts)
        return {**self.inner(rows), "groups": torch.as_tensor(groups, dtype=torch.long)}


def pool_logits(logits: torch.Tensor, groups: torch.Tensor, how: str = "mean") -> torch.Tensor:
    """One row of logits per document (in order of group id): the mean or max over its windows."""
    if how not in ("mean", "max"):
        raise ConfigError(f"window pooling must be mean or max, got {how!r}")
    _, inverse = torch.unique(groups, return_inverse=True)
    n = int(inverse.max()) + 1 if len(inverse) else 0
    if how == "max":
        out = logits.new_full((n, logits.shape[-1]), float("-inf"))
        return out.scatter_reduce(0, inverse.unsqueeze(-1).expand_as(logits), logits, "amax")
    out = logits.new_zeros((n, logits.shape[-1])).index_add_(0, inverse, logits)
    return out / torch.bincount(inverse, minlength=n).to(logits).unsqueeze(-1)
