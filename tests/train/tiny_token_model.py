"""A tiny model over token ids (mean of token embeddings, then a linear head) for DP-SGD tests:
Opacus has per-sample gradient samplers for both layers."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class TinyTokenModel(nn.Module):
    def __init__(self, vocab: int = 30, dim: int = 4, classes: int = 2, seed: int = 0) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.emb, self.lin = nn.Embedding(vocab, dim), nn.Linear(dim, classes)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        mask = attention_mask.unsqueeze(-1).float()
        return self.lin((self.emb(input_ids) * mask).sum(1) / mask.sum(1).clamp(min=1))


def per_row_grads(model: nn.Module, batch: dict) -> list[torch.Tensor]:
    """Each row's own loss gradient, flattened over the trainable tensors (the direct computation)."""
    out = []
    for i in range(len(batch["labels"])):
        model.zero_grad()
        F.cross_entropy(model(batch["input_ids"][i:i + 1], batch["attention_mask"][i:i + 1]),
                        batch["labels"][i:i + 1]).backward()
        out.append(torch.cat([p.grad.reshape(-1) for p in model.parameters()]))
    return out


def summed_clipped(private_model: nn.Module, opt, batch: dict, groups: torch.Tensor | None) -> torch.Tensor:
    """What the DP optimizer adds for ``batch`` before noise (rows grouped by ``groups``), flattened."""
    opt.zero_grad(set_to_none=True)
    F.cross_entropy(private_model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]),
                    batch["labels"]).backward()
    opt.sample_groups = groups
    opt.clip_and_accumulate()
    out = torch.cat([p.summed_grad.reshape(-1) for p in opt.params])
    for p in opt.params:
        p.summed_grad = None
    return out
