"""Causal-LM training on a tiny random Llama: the held-out loss goes down, with and without DP-SGD."""

from __future__ import annotations

from dataclasses import replace

import torch

from fedflm.causal.encode import RecordDataset
from fedflm.causal.model import load_causal_lm
from fedflm.causal.records import synthetic_records
from fedflm.causal.train import LocalSpec, perplexity, record_loader, train_causal
from fedflm.privacy.dp import make_private, release


def _setup(tiny_llama_dir):
    torch.manual_seed(0)
    model, tok = load_causal_lm(str(tiny_llama_dir), lora_r=8, lora_alpha=16)
    train = RecordDataset(synthetic_records(256, seed=1), tok, max_length=48)
    held_out = RecordDataset(synthetic_records(48, seed=2), tok, max_length=48)
    return model, tok, train, held_out


def test_loss_goes_down_without_dp(tiny_llama_dir):
    # Prepare
    model, tok, train, held_out = _setup(tiny_llama_dir)
    before = perplexity(model, held_out, tok.pad_token_id)
    # Execute
    result = train_causal(model, record_loader(train, 16, tok.pad_token_id, seed=0), LocalSpec(30, 16, 1e-2))
    after = perplexity(model, held_out, tok.pad_token_id)
    # Assert
    assert result.steps == 30
    assert after["loss"] < 0.8 * before["loss"], (before, after)


def test_loss_goes_down_with_dp_sgd(tiny_llama_dir):
    # Prepare
    model, tok, train, held_out = _setup(tiny_llama_dir)
    before = perplexity(model, held_out, tok.pad_token_id)
    made = {}

    def privatize(m, o, loader):
        made["m"], made["o"], loader = make_private(m, o, loader, noise_multiplier=0.5, max_grad_norm=1.0,
                                                    noise_seed=0)
        return made["m"], made["o"], loader

    # Execute
    result = train_causal(model, record_loader(train, 32, tok.pad_token_id, seed=0), LocalSpec(60, 32, 1e-2),
                          privatize)
    release(made["m"])
    after = perplexity(model, held_out, tok.pad_token_id)
    # Assert: noisy steps were taken on Poisson batches, and the held-out loss fell (60 steps: after/before
    # 0.716-0.756 over 4 seeds of data, model and noise; with 30 it was 0.793 here and above 0.8 for 3 other seeds)
    assert made["o"].steps_taken == 60 and abs(made["o"].sample_rate - 32 / 256) < 1e-12
    assert result.examples > 0
    assert after["loss"] < 0.8 * before["loss"], (before, after)
