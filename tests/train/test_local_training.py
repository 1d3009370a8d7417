"""Local training on real SST-2 rows with the tiny model: it learns, and only LoRA + head move.

The model is the tiny BERT with dropout off, trained for 20 epochs: its margins over the thresholds below,
measured over 4 seeds (model, shuffles), are at least 0.16 (loss drop), 0.10 (held loss drop), 0.09 (vs the
prior's loss) and 0.13 (accuracy over the prior); with dropout and 12 epochs 2 of 4 seeds failed and seed 0
passed by 0.007 (issue 19)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from datasets import Dataset

from fedflm.config import ModelConfig, TrainConfig
from fedflm.models.lora import build_model, load_tokenizer
from fedflm.train.batching import TokenizedDataset, eval_loader, train_loader
from fedflm.train.local import EvalResult, evaluate, train_local

CPU = torch.device("cpu")
EPOCHS = 20


@dataclass
class Trained:
    model: torch.nn.Module
    before: dict[str, torch.Tensor]
    epoch_losses: list[float]
    eval_before: EvalResult
    eval_after: EvalResult
    data: TokenizedDataset


@pytest.fixture(scope="module")
def tokenized(no_dropout_model: Path, sst2_sample: list[tuple[str, int]]) -> TokenizedDataset:
    rows = sst2_sample[:300]
    ds = Dataset.from_dict({"text": [t for t, _ in rows], "label": [y for _, y in rows]})
    return TokenizedDataset(ds, load_tokenizer(ModelConfig(model=str(no_dropout_model))), 64)


@pytest.fixture(scope="module")
def trained(no_dropout_model: Path, tokenized: TokenizedDataset) -> Trained:
    """Twenty one-epoch passes (a new shuffle each, as in successive rounds) on 300 rows."""
    torch.manual_seed(0)
    model = build_model(ModelConfig(model=str(no_dropout_model)), ("negative", "positive"), seed=0)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    eval_before = evaluate(model, eval_loader(tokenized, 64), CPU, 2)
    losses = [train_local(model, train_loader(tokenized, 16, seed=epoch), TrainConfig(lr=1e-2, local_steps=0),
                          CPU).loss for epoch in range(EPOCHS)]
    eval_after = evaluate(model, eval_loader(tokenized, 64), CPU, 2)
    return Trained(model, before, losses, eval_before, eval_after, tokenized)


def test_train_loss_decreases_over_epochs(trained: Trained) -> None:
    # Prepare
    first, last = trained.epoch_losses[:2], trained.epoch_losses[-2:]

    # Execute
    drop = float(np.mean(first) - np.mean(last))

    # Assert: finite losses, near ln 2 at the start, clearly lower at the end
    assert all(np.isfinite(trained.epoch_losses))
    assert abs(first[0] - np.log(2)) < 0.05
    assert drop > 0.02


def test_evaluation_beats_the_best_text_blind_predictor(trained: Trained) -> None:
    # Prepare: a constant predictor of the label prior has loss H(prior), accuracy max(prior)
    prior = np.bincount(trained.data.labels, minlength=2) / len(trained.data)
    prior_loss = float(-(prior * np.log(prior)).sum())
    before, after = trained.eval_before.metrics, trained.eval_after.metrics

    # Execute
    loss_drop = before["loss"] - after["loss"]

    # Assert: the model learned from the text, not just the label balance
    assert loss_drop > 0.05
    assert after["loss"] < prior_loss - 0.03
    assert after["accuracy"] > prior.max() + 0.03
    assert set(after) == {"accuracy", "macro_precision", "macro_recall", "macro_f1", "roc_auc", "loss"}


def test_only_trainable_tensors_change(trained: Trained) -> None:
    # Prepare
    params = dict(trained.model.named_parameters())

    # Execute
    changed = {n for n, p in params.items() if not torch.equal(p.detach(), trained.before[n])}

    # Assert: every LoRA matrix and the head moved; the frozen base is bit-identical
    trainable = {n for n, p in params.items() if p.requires_grad}
    assert changed == trainable
    assert len(trainable) == 10 and len(params) > 3 * len(trainable)


def test_evaluation_confusion_matrix_counts_every_row(trained: Trained) -> None:
    # Prepare
    labels = np.asarray(trained.data.labels)

    # Execute
    cm = trained.eval_after.confusion

    # Assert: rows are true classes, diagonal share is the accuracy
    assert cm.shape == (2, 2) and cm.sum() == len(labels)
    assert cm.sum(axis=1).tolist() == np.bincount(labels, minlength=2).tolist()
    assert np.trace(cm) / cm.sum() == pytest.approx(trained.eval_after.metrics["accuracy"])


def test_local_steps_override_epochs(tiny_model_dir: Path, tokenized: TokenizedDataset) -> None:
    # Prepare: 300 rows / batch 32 = 10 batches per epoch; 23 steps cross two epoch ends
    model = build_model(ModelConfig(model=str(tiny_model_dir)), ("negative", "positive"), seed=1)
    cfg = TrainConfig(local_steps=23, local_epochs=5, batch_size=32)

    # Execute
    result = train_local(model, train_loader(tokenized, 32, seed=0), cfg, CPU)

    # Assert
    assert result.steps == 23
    assert result.examples in (600 + 3 * 32, 600 + 2 * 32 + 12)  # 2 epochs + 3 batches
    assert np.isfinite(result.loss) and result.seconds > 0


def test_local_epochs_count_steps_and_examples(tiny_model_dir: Path,
                                               tokenized: TokenizedDataset) -> None:
    # Prepare
    model = build_model(ModelConfig(model=str(tiny_model_dir)), ("negative", "positive"), seed=2)

    # Execute
    result = train_local(model, train_loader(tokenized, 32, seed=0), TrainConfig(local_epochs=2, local_steps=0), CPU)

    # Assert
    assert result.steps == 20 and result.examples == 600
