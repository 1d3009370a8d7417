"""Partial participation: an owner calibrated for the rounds it is sampled in, charged for those only."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest
from opacus.accountants import RDPAccountant

from fedflm.config import RunConfig
from fedflm.errors import ConfigError, PrivacyBudgetExceeded
from fedflm.privacy.federation import client_owner, plan_text, train_private
from fedflm.privacy.ledger import verify
from fedflm.privacy.participation import participation_rate, plan_rounds, planned_participations
from tests.privacy.test_federation import _tiny_train

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
DELTA = 1e-5


def _cfg(tmp_path: Path, participation: str, **kw) -> RunConfig:
    # 20 owners, 2 sampled per round (p = 0.1), 30 rounds; each owner holds 40 rows, batch 10: q = 0.25, 4 steps
    flat = {"clients": 20, "fraction_train": 0.1, "min_clients": 1, "rounds": 30, "epsilon": 2.0, "delta": DELTA,
            "batch_size": 10, "local_epochs": 1, "privacy_state": str(tmp_path), "run_id": "r",
            "participation": participation,
            "proto_fraction": 0.0,  # DP-SGD rounds only (the round-1 prototype release: tests/privacy/test_prototypes.py)
            **kw}
    return RunConfig.from_flat(flat)


def _opacus_epsilon(history: list[tuple[float, float, int]]) -> float:
    """The direct computation: Opacus' own RDP accountant over the rounds trained."""
    acc = RDPAccountant()
    acc.history = list(history)
    return acc.get_epsilon(DELTA)


def test_planned_participations_is_the_binomial_quantile() -> None:
    # Prepare: the 99.9 % quantile of Binomial(30, 0.1), from the pmf written out
    cdf, k = 0.0, -1
    while cdf < 0.999:
        k += 1
        cdf += math.comb(30, k) * 0.1 ** k * 0.9 ** (30 - k)

    # Execute / Assert
    assert planned_participations(30, 0.1) == k == 9
    assert planned_participations(5, 1.0) == 5 and planned_participations(1, 0.001) == 1
    with pytest.raises(ConfigError, match="participation rate must be in"):
        planned_participations(10, 0.0)


def test_rate_follows_flower_sampling_and_all_keeps_every_round(tmp_path: Path) -> None:
    # Execute / Assert
    assert participation_rate(_cfg(tmp_path, "sampled")) == pytest.approx(0.1)
    assert plan_rounds(_cfg(tmp_path, "all")) == 30 and plan_rounds(_cfg(tmp_path, "sampled")) == 9
    with pytest.raises(ConfigError, match="participation must be all or sampled, got 'some'"):
        _cfg(tmp_path, "some")


def test_an_owner_is_charged_only_for_the_rounds_it_is_sampled_in(tmp_path: Path) -> None:
    # Prepare: Flower-like sampling, 2 of 20 owners per round over 30 rounds; follow owner 0
    cfg = _cfg(tmp_path, "sampled")
    rng = random.Random(4)
    sampled_in = [r for r in range(1, 31) if 0 in rng.sample(range(20), 2)]
    owner = client_owner(cfg, {}, 0)

    # Execute
    outcomes = [train_private(cfg, owner, 40, r, _tiny_train([]))[1] for r in sampled_in]

    # Assert: the ledger holds exactly those rounds, and its epsilon is Opacus' over them alone
    entries = verify(owner.ledger_path, recompute=True)
    assert [e["round"] for e in entries] == sampled_in and 0 < len(sampled_in) <= 9
    sigma = outcomes[0].plan.noise_multiplier
    assert outcomes[-1].epsilon == pytest.approx(_opacus_epsilon([(sigma, 0.25, 4)] * len(sampled_in)), rel=1e-9)
    # the plan was calibrated for 9 participations, not 30: Opacus says 9 such rounds land on the target
    assert 0.99 * 2.0 <= _opacus_epsilon([(sigma, 0.25, 4)] * 9) <= 2.0
    sigma_all = train_private(_cfg(tmp_path / "all", "all"), client_owner(_cfg(tmp_path / "all", "all"), {}, 0),
                              40, 1, _tiny_train([]))[1].plan.noise_multiplier
    assert sigma < sigma_all


def test_an_owner_sampled_more_often_than_planned_refuses_past_its_target(tmp_path: Path) -> None:
    # Prepare: an (unlucky) owner asked to train in 12 rounds; the plan covers 9
    cfg = _cfg(tmp_path, "sampled")
    owner = client_owner(cfg, {}, 0)
    calls: list[int] = []
    refused = []

    # Execute
    for r in range(1, 13):
        try:
            train_private(cfg, owner, 40, r, _tiny_train(calls))
        except PrivacyBudgetExceeded as exc:
            refused.append((r, str(exc)))

    # Assert: rounds 10-12 were refused before training; the ledger never passes the target
    entries = verify(owner.ledger_path, recompute=True)
    assert [r for r, _ in refused] == [10, 11, 12] and len(calls) == len(entries) == 9
    assert "above the target 2" in refused[0][1]
    sigma = entries[0]["noise_multiplier"]
    assert entries[-1]["epsilon"] == pytest.approx(_opacus_epsilon([(sigma, 0.25, 4)] * 9), rel=1e-9)
    assert entries[-1]["epsilon"] <= 2.0


def test_the_plan_printed_before_training_states_the_participations(tmp_path: Path) -> None:
    # Execute
    text = plan_text(_cfg(tmp_path, "sampled"), [40, 40])

    # Assert
    assert "p = 0.1 per round" in text and "k = 9 participations" in text
    assert "partial participation" not in plan_text(_cfg(tmp_path / "b", "all"), [40, 40])


def test_the_plan_of_1000_owners_fits_on_a_screen(tmp_path: Path) -> None:
    # Prepare: 1,000 owners of equal size, then 1,000 owners of 40 distinct sizes
    cfg = _cfg(tmp_path, "sampled", clients=1000, fraction_train=0.02)

    # Execute
    same = plan_text(cfg, [40] * 1000)
    varied = plan_text(cfg, [40 + i % 40 for i in range(1000)])

    # Assert: one line for 1,000 identical plans; five representative owners when sizes differ
    assert len(same.splitlines()) <= 6 and "1000 owners" in same
    assert len(varied.splitlines()) <= 10 and "1000 owners of 40 sizes" in varied
    assert {"client-0", "client-999"} <= {line.split()[0] for line in varied.splitlines()[2:7]}  # 40 and 79 rows
