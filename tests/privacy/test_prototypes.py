"""DP prototypes: the release, its sensitivity, the budget split, and the owner's ledger."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from fedflm.config import DPConfig, FedConfig, RunConfig, TrainConfig
from fedflm.errors import ConfigError
from fedflm.privacy.accounting import epsilon
from fedflm.privacy.dp import make_private
from fedflm.privacy.federation import client_owner, owner_plan, private_prototypes, prototype_sigma, train_private
from fedflm.privacy.ledger import verify
from fedflm.privacy.prototypes import class_sums, noisy_class_sums, prototype_head
from fedflm.train.phases import phase_of_round, plan_phases_text

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _cfg(tmp_path: Path | None = None, fraction: float = 0.5, eps: float = 3.0) -> RunConfig:
    state = str(tmp_path) if tmp_path else ""
    return RunConfig(train=TrainConfig(train_mode="head", batch_size=8, local_steps=3, proto_fraction=fraction),
                     fed=FedConfig(rounds=3), privacy=DPConfig(epsilon=eps, privacy_state=state, run_id="r1"))


def test_noise_off_gives_the_direct_per_class_sums_and_a_cosine_head() -> None:
    # Prepare: unit vectors (as the mean-pooled, normalised encoder gives), 3 classes
    gen = torch.Generator().manual_seed(0)
    x = torch.nn.functional.normalize(torch.randn(40, 6, generator=gen), dim=1)
    y = torch.arange(40) % 3

    # Execute
    sums = noisy_class_sums(x, y, 3, 0.0, None)
    head = prototype_head(sums, 10.0)

    # Assert
    for c in range(3):
        direct = x[y == c].double().sum(0)
        assert torch.allclose(sums[c], direct)
        mean = x[y == c].mean(0)
        assert torch.allclose(head["weight"][c], 10.0 * mean / mean.norm(), atol=1e-5)
    assert torch.equal(head["bias"], torch.zeros(3))


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-50, 50), min_size=5, max_size=5), st.integers(0, 2))
def test_one_record_moves_the_sums_by_at_most_one(vector: list[float], label: int) -> None:
    # Prepare: a data set and the same data set plus one record (add/remove neighbours)
    gen = torch.Generator().manual_seed(1)
    x, y = torch.randn(10, 5, generator=gen) * 3, torch.arange(10) % 3
    extra = torch.tensor([vector])

    # Execute
    before = class_sums(x, y, 3)
    after = class_sums(torch.cat([x, extra]), torch.cat([y, torch.tensor([label])]), 3)

    # Assert: L2 sensitivity 1 (vectors are clipped to norm 1), only the record's class row moves
    diff = after - before
    assert float(diff.norm()) <= 1.0 + 1e-9
    assert all(not bool(diff[c].any()) for c in range(3) if c != label)


def test_noise_has_the_planned_scale() -> None:
    # Prepare
    x, y = torch.zeros(4, 300), torch.zeros(4, dtype=torch.long)

    # Execute
    noisy = noisy_class_sums(x, y, 2, 2.5, torch.Generator().manual_seed(3))

    # Assert: std 2.5 x sensitivity 1 per entry (600 draws: within 10 %)
    assert 2.25 < float(noisy.std()) < 2.75


def test_plan_splits_the_target_and_keeps_the_total_under_it() -> None:
    # Prepare
    cfg = _cfg(fraction=0.4, eps=3.0)

    # Execute
    sigma_p = prototype_sigma(cfg.privacy, cfg.train, cfg.fed.rounds)
    plan = owner_plan(cfg.privacy, cfg.train, cfg.fed.rounds, 200)
    text = plan_phases_text(cfg, [200])

    # Assert: the release alone spends ~40 %, DP-SGD covers rounds 2-3, the total is <= target
    assert 0.99 * 1.2 <= epsilon([(sigma_p, 1.0, 1)], 1e-5) <= 1.2
    assert plan.prior_epsilon == pytest.approx(epsilon([(sigma_p, 1.0, 1)], 1e-5))
    assert plan.rounds == 2
    assert 0.99 * 3.0 <= plan.final_epsilon <= 3.0
    assert [phase_of_round(cfg.train, 3, r, "sample") for r in (1, 2, 3)] == ["proto", "head", "head"]
    assert "round 1: prototype head" in text


def test_no_prototype_round_without_a_second_round_an_epsilon_target_or_with_client_level_dp() -> None:
    # Execute / Assert
    train = TrainConfig(proto_fraction=0.5)
    assert phase_of_round(train, 3, 1, "sample") == phase_of_round(train, 3, 1, "none") == "proto"
    assert phase_of_round(train, 1, 1, "sample") == "head"
    assert phase_of_round(train, 3, 1, "client") == "head"
    assert phase_of_round(train, 3, 1, "sample", fixed_noise=True) == "head"
    assert phase_of_round(TrainConfig(train_mode="lora", proto_fraction=0.5), 3, 1, "sample") == "lora"
    assert phase_of_round(TrainConfig(proto_fraction=0.0), 3, 1, "sample") == "head"


def test_the_release_and_the_dp_sgd_rounds_go_into_one_ledger_under_the_target(tmp_path: Path) -> None:
    # Prepare: one owner, 40 unit vectors, a real DP-SGD head round after the release
    cfg = _cfg(tmp_path)
    owner = client_owner(cfg, {}, 0)
    gen = torch.Generator().manual_seed(0)
    x = torch.nn.functional.normalize(torch.randn(40, 6, generator=gen), dim=1)
    y = torch.arange(40) % 3
    released: list[float] = []

    def release(sigma: float) -> torch.Tensor:
        released.append(sigma)
        return noisy_class_sums(x, y, 3, sigma, torch.Generator().manual_seed(1))

    def train(privatize):
        head = torch.nn.Linear(6, 3)
        loader = torch.utils.data.DataLoader(list(zip(x, y)), batch_size=cfg.train.batch_size)
        model, opt, loader = privatize(head, torch.optim.SGD(head.parameters(), lr=0.1), loader)
        for _ in range(cfg.train.local_steps):
            opt.zero_grad()
            opt.step()  # an empty (pure-noise) step is still a noisy step

    # Execute
    sums, outcome = private_prototypes(cfg, owner, len(y), 1, release)
    for server_round in (2, 3):
        train_private(cfg, owner, len(y), server_round, train)

    # Assert: the ledger holds the release (q = 1, one step) then two DP-SGD rounds; total <= 3
    entries = verify(owner.ledger_path)
    assert [(e["round"], e["mechanism"]) for e in entries] == [
        (1, "gaussian-class-sums"), (2, "dpsgd-poisson-gaussian"), (3, "dpsgd-poisson-gaussian")]
    assert (entries[0]["sample_rate"], entries[0]["steps"]) == (1.0, 1)
    assert entries[0]["noise_multiplier"] == released[0] and outcome.epsilon == entries[0]["epsilon"]
    assert sums.shape == (3, 6)
    assert 0.99 * 3.0 <= entries[-1]["epsilon"] <= 3.0


def test_the_class_name_prior_mixes_unit_directions_golden() -> None:
    # Prepare: sums along the axes, names along the other axis (hand-computed result)
    sums = torch.tensor([[2.0, 0.0], [0.0, 3.0]])
    names = torch.tensor([[0.0, 5.0], [0.5, 0.0]])

    # Execute
    off = prototype_head(sums, 10.0, names, 0.0)
    mixed = prototype_head(sums, 10.0, names, 1.0)
    leaning = prototype_head(sums, 1.0, names, 3.0 ** 0.5)

    # Assert: weight 0 ignores the names; weight 1 halves the angle (45 degrees); weight sqrt(3): 60 degrees
    assert torch.allclose(off["weight"], torch.tensor([[10.0, 0.0], [0.0, 10.0]]))
    r = 10.0 / 2 ** 0.5
    assert torch.allclose(mixed["weight"], torch.tensor([[r, r], [r, r]]), atol=1e-5)
    assert torch.allclose(leaning["weight"], torch.tensor([[0.5, 3 ** 0.5 / 2], [3 ** 0.5 / 2, 0.5]]), atol=1e-6)
    assert torch.equal(mixed["bias"], torch.zeros(2))


def test_a_class_name_prior_of_the_wrong_shape_or_weight_is_refused() -> None:
    # Prepare
    sums = torch.ones(3, 4)

    # Execute / Assert
    with pytest.raises(ConfigError, match=r"class-name prior must be \(3, 4\), got \(2, 4\)"):
        prototype_head(sums, 1.0, torch.ones(2, 4), 0.5)
    with pytest.raises(ConfigError, match="class-name prior must be .* got None"):
        prototype_head(sums, 1.0, None, 0.5)
    with pytest.raises(ConfigError, match="prior_weight must be >= 0, got -1"):
        prototype_head(sums, 1.0, torch.ones(3, 4), -1.0)
    with pytest.raises(ConfigError, match="name_prior must be >= 0"):
        TrainConfig(name_prior=-0.5)


def test_the_class_name_prior_is_in_the_printed_plan_and_costs_no_privacy() -> None:
    # Prepare: the same run with and without the prior
    cfg = _cfg(fraction=0.4, eps=3.0)
    named = RunConfig.from_flat({"name_prior": 0.25}, base=cfg)

    # Execute
    text, plain = plan_phases_text(named, [200]), plan_phases_text(cfg, [200])

    # Assert: the plan says so; sigma of the release and of DP-SGD are the same (post-processing only)
    assert "mixed with the class names' vectors (weight 0.25; public)" in text
    assert "class names" not in plain
    assert prototype_sigma(named.privacy, named.train, 3) == prototype_sigma(cfg.privacy, cfg.train, 3)
    assert owner_plan(named.privacy, named.train, 3, 200) == owner_plan(cfg.privacy, cfg.train, 3, 200)
