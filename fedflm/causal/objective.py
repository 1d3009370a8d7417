"""The causal-LM loss per row, and per-record gradients for DP-SGD.

Row r of a batch is one sequence of record ``record_index[r]``. Its loss is the sum of the
token cross-entropies it predicts (labels != IGNORE, shifted by one) divided by the number of
tokens its *record* predicts, so that a record's loss -- the sum over its rows -- is the mean
token loss of the record, however many sequences it spans.

Under DP-SGD, Opacus computes one gradient per row; :func:`group_grad_samples` sums the rows
of each record into one per-record gradient *before* clipping, so that every record (the
privacy unit) adds at most the clipping norm, whatever its number of sequences.
"""

from __future__ import annotations

from typing import Iterable

import torch

from fedflm.causal.encode import IGNORE


def row_losses(logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """One loss per row: its summed token losses over its record's predicted-token count."""
    logits, target = logits[:, :-1, :].float(), batch["labels"][:, 1:]
    token = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1),
                                              ignore_index=IGNORE, reduction="none").view(target.shape)
    return token.sum(dim=1) / batch["record_tokens"].to(token)


def token_stats(logits: torch.Tensor, labels: torch.Tensor) -> tuple[float, int]:
    """(summed token loss, predicted tokens) of a batch, for perplexity."""
    logits, target = logits[:, :-1, :].float(), labels[:, 1:]
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1),
                                             ignore_index=IGNORE, reduction="sum")
    return float(loss), int((target != IGNORE).sum())


def group_grad_samples(params: Iterable[torch.nn.Parameter], record_index: torch.Tensor,
                       num_records: int) -> None:
    """Replace each parameter's per-row ``grad_sample`` by per-record sums (rows of a record
    added up), in place, so that clipping acts on records."""
    for p in params:
        gs = p.grad_sample
        if isinstance(gs, list):  # several forward passes: Opacus keeps a list
            gs = torch.cat(gs, dim=0)
        if gs.shape[0] != len(record_index):
            raise ValueError(f"grad_sample has {gs.shape[0]} rows for {len(record_index)} sequences")
        out = torch.zeros((num_records, *gs.shape[1:]), dtype=gs.dtype, device=gs.device)
        p.grad_sample = out.index_add_(0, record_index.to(gs.device), gs)
