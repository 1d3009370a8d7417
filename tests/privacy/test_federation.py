"""Tests for fedflm.privacy.federation (an owner's plan and one private round)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader

from fedflm.config import DPConfig, RunConfig, TrainConfig
from fedflm.errors import PrivacyBudgetExceeded
from fedflm.privacy.accounting import epsilon
from fedflm.privacy.federation import (client_owner, owner_plan, plan_text, private_round, render_plans,
                                       train_private)
from fedflm.privacy.ledger import verify
from fedflm.privacy.state import OwnerPrivacy

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def test_plan_uses_q_batch_over_n_and_opacus_epoch_length() -> None:
    # Prepare
    dp, train = DPConfig(epsilon=4.0), TrainConfig(batch_size=20, local_epochs=2, local_steps=0,
                                                    proto_fraction=0.0)  # DP-SGD in every round

    # Execute
    plan = owner_plan(dp, train, rounds=3, num_examples=400)

    # Assert
    assert plan.sample_rate == 0.05 and plan.steps_per_round == 40 and plan.rounds == 3
    assert 3.96 <= epsilon(plan.history(), 1e-5) <= 4.0


def test_fixed_noise_multiplier_is_not_calibrated() -> None:
    # Prepare
    dp, train = DPConfig(noise_multiplier=0.9), TrainConfig(batch_size=10, local_steps=7)

    # Execute
    plan = owner_plan(dp, train, rounds=2, num_examples=100)

    # Assert
    assert plan.noise_multiplier == 0.9 and plan.steps_per_round == 7 and plan.target_epsilon is None
    assert plan.final_epsilon == pytest.approx(epsilon([(0.9, 0.1, 7)] * 2, 1e-5))


def test_target_already_spent_elsewhere_is_a_refusal() -> None:
    # Prepare
    prior = [(0.6, 0.5, 200)]

    # Execute / Assert
    with pytest.raises(PrivacyBudgetExceeded, match="already spent"):
        owner_plan(DPConfig(epsilon=1.0), TrainConfig(), rounds=2, num_examples=100, prior=prior)


def _tiny_train(calls: list[int]):
    """A real (tiny) model, optimizer and loader through the privatize stage."""
    def train(privatize):
        calls.append(1)
        model = torch.nn.Linear(3, 2)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        data = [(torch.randn(3), int(i % 2)) for i in range(40)]
        loader = DataLoader(data, batch_size=10)
        model, opt, loader = privatize(model, opt, loader)
        for x, y in loader:
            opt.zero_grad()
            if len(y):
                torch.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
        return "trained"
    return train


def test_private_round_records_the_steps_actually_taken(tmp_path: Path) -> None:
    # Prepare
    owner = OwnerPrivacy(tmp_path, "clinic-1", 1e-5)
    plan = owner_plan(DPConfig(noise_multiplier=1.1), TrainConfig(batch_size=10), rounds=2, num_examples=40)
    calls: list[int] = []

    # Execute
    result, eps = private_round(owner, plan, run_id="r1", server_round=1, max_grad_norm=0.5,
                                train=_tiny_train(calls))

    # Assert
    entry = verify(owner.ledger_path, recompute=True)[0]
    assert result == "trained" and calls == [1]
    assert (entry["steps"], entry["sample_rate"], entry["noise_multiplier"]) == (4, 0.25, 1.1)
    assert entry["max_grad_norm"] == 0.5 and entry["round"] == 1 and entry["run_id"] == "r1"
    assert eps == entry["epsilon"] == pytest.approx(epsilon([(1.1, 0.25, 4)], 1e-5))


def test_the_clipping_norm_used_by_dp_sgd_is_the_one_the_ledger_records(tmp_path: Path) -> None:
    # Prepare: keep the optimizer that the privatize stage hands to the training loop
    owner = OwnerPrivacy(tmp_path, "clinic-1", 1e-5)
    plan = owner_plan(DPConfig(noise_multiplier=1.1), TrainConfig(batch_size=10), rounds=2, num_examples=40)
    used: list = []
    inner = _tiny_train([])

    def train(privatize):
        def spy(model, optimizer, loader):
            made = privatize(model, optimizer, loader)
            used.append(made[1])
            return made
        return inner(spy)

    # Execute
    private_round(owner, plan, run_id="r1", server_round=1, max_grad_norm=0.37, train=train)

    # Assert: per-sample gradients were clipped to exactly the C that the ledger states
    entry = verify(owner.ledger_path, recompute=True)[0]
    assert used[0].max_grad_norm == entry["max_grad_norm"] == 0.37
    assert used[0].noise_multiplier == entry["noise_multiplier"] == 1.1


def test_round_past_the_cap_is_refused_before_training(tmp_path: Path) -> None:
    # Prepare
    plan = owner_plan(DPConfig(noise_multiplier=1.1), TrainConfig(batch_size=10), rounds=2, num_examples=40)
    owner = OwnerPrivacy(tmp_path, "clinic-1", 1e-5, "rdp", epsilon_cap=plan.epsilon_per_round[0] * 0.99)
    calls: list[int] = []

    # Execute / Assert
    with pytest.raises(PrivacyBudgetExceeded, match="clinic-1"):
        private_round(owner, plan, run_id="r1", server_round=1, max_grad_norm=1.0, train=_tiny_train(calls))
    assert calls == [] and not owner.ledger_path.exists()


def test_train_private_keeps_one_plan_for_the_whole_run(tmp_path: Path) -> None:
    # Prepare: target epsilon 3 over 3 rounds; the owner already spent some in another run
    cfg = RunConfig.from_flat({"epsilon": 3.0, "rounds": 3, "batch_size": 10, "local_epochs": 1, "privacy_state": str(tmp_path),
                               "run_id": "run-2", "proto_fraction": 0.0})  # DP-SGD in every round
    owner = client_owner(cfg, {}, 0)
    owner.record("run-1", 1, 2.0, 0.25, 4, 1.0)

    # Execute
    outcomes = [train_private(cfg, owner, 40, r, _tiny_train([]))[1] for r in (1, 2, 3)]

    # Assert: same sigma every round, total epsilon within 1 % below the target
    entries = verify(owner.ledger_path, recompute=True)
    assert len({e["noise_multiplier"] for e in entries[1:]}) == 1
    assert 2.97 <= outcomes[-1].epsilon <= 3.0
    assert outcomes[-1].ledger == owner.ledger_path.read_text() and outcomes[-1].owner_id == "client-0"


def test_client_owner_prefers_the_nodes_own_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Prepare
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    cfg = RunConfig.from_flat({"max_epsilon": 10.0, "out": str(tmp_path / "run")})

    # Execute
    default = client_owner(cfg, {}, 2)
    own = client_owner(cfg, {"owner-id": "hospital-a", "privacy-state": str(tmp_path / "h"), "max-epsilon": 2.5}, 2)

    # Assert: by default state outlives the run (epsilon is never reset by a new run)
    assert default.state_dir == tmp_path / "home" / ".fedflm" / "privacy" / "client-2"
    assert default.epsilon_cap == 10.0
    assert own.state_dir == tmp_path / "h" / "hospital-a" and own.epsilon_cap == 2.5


def test_plan_text_lists_every_owner() -> None:
    # Prepare
    cfg = RunConfig.from_flat({"rounds": 2, "batch_size": 8, "epsilon": 5.0, "max_epsilon": 6.0})

    # Execute
    text = plan_text(cfg, [80, 160])

    # Assert
    assert "target epsilon <= 5" in text and "client-0" in text and "client-1" in text
    assert "0.1000" in text and "0.0500" in text and "cap" in text
    assert render_plans({}) == "no DP-SGD plan (no data owners)"


def test_plan_text_for_client_level_dp() -> None:
    # Prepare
    cfg = RunConfig.from_flat({"dp": "client", "rounds": 3, "clients": 10, "fraction_train": 0.5,
                               "epsilon": 4.0})

    # Execute
    text = plan_text(cfg, [])

    # Assert
    assert "client-level DP plan" in text and "0.500 of clients" in text
    final = float(text.strip().split(", ")[-1])
    assert 3.96 <= final <= 4.0 and len(text.splitlines()) == 2
