"""One data owner's local causal-LM training, and the server's held-out perplexity.

The loop follows :func:`fedflm.train.local.train_local` (``privatize`` is the DP-SGD stage from
:func:`fedflm.privacy.federation.train_private`), with the causal-LM objective: under DP-SGD the
per-row gradients are summed per record before clipping (:mod:`fedflm.causal.objective`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Iterator

import torch
from torch.utils.data import DataLoader

from fedflm.causal.encode import RecordCollator, RecordDataset, prompt_text
from fedflm.causal.objective import group_grad_samples, row_losses, token_stats
from fedflm.train.local import Privatizer, TrainResult


@dataclass(frozen=True)
class LocalSpec:
    """Local training of one round: steps, expected batch (records), learning rate."""

    local_steps: int = 10
    batch_size: int = 8
    lr: float = 2e-3

    def __post_init__(self) -> None:
        if self.local_steps < 1 or self.batch_size < 1 or not 0 < self.lr < 1:
            raise ValueError(f"local_steps and batch_size must be >= 1 and lr in (0, 1), got {self}")


def record_loader(data: RecordDataset, batch_size: int, pad_token_id: int, seed: int) -> DataLoader:
    gen = torch.Generator().manual_seed(seed)
    return DataLoader(data, batch_size=min(batch_size, len(data)), shuffle=True, generator=gen,
                      collate_fn=RecordCollator(pad_token_id))


def _steps(loader: DataLoader, n: int) -> Iterator[dict[str, torch.Tensor]]:
    done = 0
    while True:
        for batch in loader:
            yield batch
            done += 1
            if done == n:
                return


def train_causal(model: Any, loader: DataLoader, spec: LocalSpec, privatize: Privatizer | None = None
                 ) -> TrainResult:
    """Train the LoRA tensors in place for ``spec.local_steps`` steps; returns the mean record loss."""
    model.train()
    optimizer: Any = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=spec.lr)
    if privatize is not None:
        model, optimizer, loader = privatize(model, optimizer, loader)
    t0, total, records = time.perf_counter(), 0.0, 0
    for batch in _steps(loader, spec.local_steps):
        n = int(batch["num_records"])
        optimizer.zero_grad(set_to_none=True)
        if n == 0:  # an empty Poisson batch is still a (pure-noise) DP-SGD step
            optimizer.step()
            continue
        out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
        losses = row_losses(out.logits, batch)
        if privatize is None:
            (losses.sum() / n).backward()
        else:  # Opacus' "mean" reduction gives per-row gradients of each row's loss
            losses.mean().backward()
            group_grad_samples(optimizer.params, batch["record_index"], n)
        optimizer.step()
        total, records = total + float(losses.detach().sum()), records + n
    return TrainResult(loss=total / max(records, 1), steps=spec.local_steps, examples=records,
                       seconds=time.perf_counter() - t0)


@torch.no_grad()
def perplexity(model: Any, data: RecordDataset, pad_token_id: int, batch_size: int = 16) -> dict[str, float]:
    """Token-level perplexity over the predicted (response) tokens of ``data``."""
    model.eval()
    loss, tokens = 0.0, 0
    for batch in DataLoader(data, batch_size=batch_size, collate_fn=RecordCollator(pad_token_id)):
        out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
        s, t = token_stats(out.logits, batch["labels"])
        loss, tokens = loss + s, tokens + t
    mean = loss / max(tokens, 1)
    return {"loss": mean, "perplexity": math.exp(min(mean, 50.0)), "tokens": tokens}


@torch.no_grad()
def generate(model: Any, tokenizer: Any, prompts: list[str], max_new_tokens: int = 24) -> list[str]:
    """Greedy completions of fixed prompts (server side, for the report)."""
    model.eval()
    outputs = []
    for prompt in prompts:
        ids = tokenizer(prompt_text(tokenizer, prompt), add_special_tokens=False, return_tensors="pt")["input_ids"]
        gen = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_new_tokens,
                             do_sample=False, pad_token_id=tokenizer.pad_token_id)
        outputs.append(tokenizer.decode(gen[0, ids.shape[1]:], skip_special_tokens=True).strip())
    return outputs
