"""lp-ft under DP-SGD: one calibration for both phases, both phases in the owner's one ledger."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from datasets import Dataset

from fedflm.config import DPConfig, FedConfig, ModelConfig, RunConfig, TrainConfig
from fedflm.errors import ConfigError
from fedflm.models.lora import build_model, get_adapter_state, load_tokenizer
from fedflm.privacy.calibration import phase_split
from fedflm.privacy.federation import client_owner, owner_plan, train_private
from fedflm.privacy.ledger import verify
from fedflm.train.batching import TokenizedDataset
from fedflm.train.local import train_local
from fedflm.train.phases import head_rounds, phase_of_round, plan_phases_text
from fedflm.train.plan import owner_cache, round_module

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
CPU = torch.device("cpu")


def test_head_rounds_by_mode() -> None:
    # Execute / Assert
    assert head_rounds(TrainConfig(train_mode="head"), 5) == 5
    assert head_rounds(TrainConfig(train_mode="lora"), 5) == 0
    assert head_rounds(TrainConfig(train_mode="lp-ft"), 5) == 3
    assert head_rounds(TrainConfig(train_mode="lp-ft", head_rounds=1), 5) == 1
    assert [phase_of_round(TrainConfig(train_mode="lp-ft", head_rounds=2), 4, r) for r in (1, 2, 3, 4)] == \
        ["head", "head", "lora", "lora"]
    with pytest.raises(ConfigError, match="head_rounds < rounds"):
        head_rounds(TrainConfig(train_mode="lp-ft", head_rounds=4), 4)


def test_lp_ft_plan_splits_one_budget_and_keeps_the_total_under_target() -> None:
    # Prepare
    cfg = RunConfig(train=TrainConfig(train_mode="lp-ft", head_rounds=3, batch_size=32, local_steps=10,
                                      proto_fraction=0.0),  # DP-SGD in every round (prototypes: tests/privacy)
                    fed=FedConfig(rounds=8), privacy=DPConfig(epsilon=3.0))

    # Execute
    plan = owner_plan(cfg.privacy, cfg.train, cfg.fed.rounds, 500)
    text = plan_phases_text(cfg, [500])

    # Assert: one sigma, head phase spends part, the total stays within 1 % below the target
    assert 2.97 <= plan.final_epsilon <= 3.0
    assert 0 < plan.epsilon_per_round[2] < plan.final_epsilon
    assert "rounds 1-3" in text and "rounds 4-8" in text
    assert f"{plan.epsilon_per_round[2]:.3f}" in phase_split(plan, 3)


def test_lp_ft_plan_numbers_the_run_rounds_when_round_1_is_the_prototype_release() -> None:
    # Prepare: round 1 releases prototypes, so the DP-SGD plan covers rounds 2-6 (its prior: the release)
    def cfg(h: int) -> RunConfig:
        return RunConfig(train=TrainConfig(train_mode="lp-ft", head_rounds=h, batch_size=32, local_steps=10,
                                           proto_fraction=0.3), fed=FedConfig(rounds=6), privacy=DPConfig(epsilon=8.0))
    plan = owner_plan(cfg(1).privacy, cfg(1).train, 6, 500)

    # Execute
    one, three = plan_phases_text(cfg(1), [500]), plan_phases_text(cfg(3), [500])

    # Assert: the head phase of head_rounds=1 is the release alone; rounds are the run's 1-6, not the plan's 1-5
    assert plan.rounds == 5 and 0 < plan.prior_epsilon < plan.epsilon_per_round[0]
    assert "training: lp-ft, head phase round 1 (frozen encoder), then LoRA + head rounds 2-6" in one
    assert f"head phase  round 1: epsilon {plan.prior_epsilon:.3f}" in one
    assert f"LoRA phase  rounds 2-6: epsilon {plan.prior_epsilon:.3f} -> {plan.final_epsilon:.3f}" in one
    assert f"head phase  rounds 1-3: epsilon {plan.epsilon_per_round[1]:.3f}" in three
    assert "LoRA phase  rounds 4-6" in three
    with pytest.raises(ConfigError, match="head_rounds must be in \\[1, 6\\], got 0"):
        phase_split(plan, 0, first_round=2)


def test_an_lp_ft_run_trains_both_phases_into_one_ledger(tiny_model_dir: Path, sst2_sample, tmp_path: Path) -> None:
    # Prepare: 2 head rounds then 2 LoRA rounds at epsilon 3, cache on
    rows = sst2_sample[:60]
    data = TokenizedDataset(Dataset.from_dict({"text": [t for t, _ in rows], "label": [y for _, y in rows]}),
                            load_tokenizer(ModelConfig(model=str(tiny_model_dir))), 32)
    cfg = RunConfig(model=ModelConfig(model=str(tiny_model_dir), lora_layers=1),
                    train=TrainConfig(train_mode="lp-ft", head_rounds=2, batch_size=12, local_steps=3, lr=0.05,
                                      proto_fraction=0.0),
                    fed=FedConfig(rounds=4), privacy=DPConfig(epsilon=3.0, privacy_state=str(tmp_path), run_id="r1"))
    model = build_model(cfg.model, ("negative", "positive"), seed=0)
    owner = client_owner(cfg, {}, 0)
    snapshots = [get_adapter_state(model)]

    # Execute
    for server_round in range(1, 5):
        cache = owner_cache(model, data, CPU, ("r1", 0))
        module, loader, _ = round_module(model, data, cfg, server_round, server_round, cache)
        train_private(cfg, owner, len(data), server_round,
                      lambda privatize: train_local(module, loader, cfg.train, CPU, privatize))
        snapshots.append(get_adapter_state(model))

    # Assert: the head moves in every round, LoRA only in the LoRA phase; 4 rounds, 1 ledger, eps <= 3
    def moved(a, b, part):
        return any(not np.array_equal(a[k], b[k]) for k in a if part in k)
    assert [moved(snapshots[r - 1], snapshots[r], ".classifier.") for r in (1, 2, 3, 4)] == [True] * 4
    assert [moved(snapshots[r - 1], snapshots[r], "lora_B") for r in (1, 2, 3, 4)] == [False, False, True, True]
    entries = verify(owner.ledger_path)
    assert [e["round"] for e in entries] == [1, 2, 3, 4] and {e["run_id"] for e in entries} == {"r1"}
    assert 2.97 <= entries[-1]["epsilon"] <= 3.0
    assert entries[1]["epsilon"] < entries[-1]["epsilon"]
