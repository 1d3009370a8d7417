"""A tiny model over token ids (mean of token embeddings, then a linear head) for DP-SGD tests:
Opacus has per-sample gradient samplers for both layers."""

from __future__ import annotations

import torch
from torch import nn


class TinyTokenModel(nn.Module):
    def __init__(self, vocab: int = 30, dim: int = 4, classes: int = 2, seed: int = 0) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.emb, self.lin = nn.Embedding(vocab, dim), nn.Linear(dim, classes)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        mask = attention_mask.unsqueeze(-1).float()
        return self.lin((self.emb(input_ids) * mask).sum(1) / mask.sum(1).clamp(min=1))
