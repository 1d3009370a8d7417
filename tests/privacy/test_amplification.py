"""Privacy amplification by secret client sampling: Opacus' figures, the mixture bound, never an under-count."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opacus.accountants import RDPAccountant
from scipy import integrate
from scipy.stats import norm

from fedflm.config import RunConfig
from fedflm.errors import ConfigError, PrivacyBudgetExceeded
from fedflm.owner.amplified_view import amplified_view
from fedflm.owner.settings import OwnerPolicy
from fedflm.privacy.accounting import epsilon
from fedflm.privacy.amplification import (ORDERS, amplified_epsilon, claim_plausible, mixture_rdp,
                                          owner_amplified_epsilon, round_rdp)
from fedflm.privacy.federation import client_owner, plan_text, train_private
from fedflm.privacy.ledger import verify
from tests.privacy.test_federation import _tiny_train

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
DELTA = 1e-5


def _entry(run_id: str, rnd: int, sigma: float = 1.0, q: float = 0.05, steps: int = 50) -> dict:
    return {"run_id": run_id, "round": rnd, "noise_multiplier": sigma, "sample_rate": q, "steps": steps}


def test_with_every_owner_sampled_it_is_opacus_rdp_golden_value() -> None:
    # Prepare: Opacus' own golden case (sigma 1.5, q 0.04, 2,250 steps, delta 1e-5 -> 7.32911117143)
    acc = RDPAccountant()
    acc.history = [(1.5, 0.04, 2250)]

    # Execute
    eps = amplified_epsilon([(1.5, 0.04, 2250)], client_rate=1.0, delta=DELTA)

    # Assert
    assert eps == pytest.approx(7.32911117143, abs=1e-9)
    assert eps == pytest.approx(acc.get_epsilon(DELTA), abs=1e-9)


@pytest.mark.parametrize("order", [2.0, 4.0, 8.0])
def test_the_mixture_bound_is_the_divergence_when_absence_is_visible(order: float) -> None:
    # Prepare: one full-batch Gaussian step (q = 1, sigma 2), the owner sampled with p = 0.1; "not
    # sampled" is an atom the adversary tells apart (the worst case), so D_a is, directly:
    # log((1-p) + p * integral f1^a f0^(1-a)) / (a-1)
    p, sigma = 0.1, 2.0
    integral, _ = integrate.quad(lambda x: math.exp(order * norm.logpdf(x, 1, sigma)
                                                    + (1 - order) * norm.logpdf(x, 0, sigma)), -40, 60, limit=200)
    direct = math.log((1 - p) + p * integral) / (order - 1)
    i = ORDERS.index(order)

    # Execute
    bound = mixture_rdp(round_rdp((sigma, 1.0, 1)), p)[i]

    # Assert
    assert bound == pytest.approx(direct, rel=1e-6)
    assert bound < round_rdp((sigma, 1.0, 1))[i]


def test_every_round_of_the_run_is_charged_not_only_those_trained() -> None:
    # Prepare: an owner that trained in rounds 3 and 17 of a 30-round run, p = 0.05
    entries = [_entry("r", 3), _entry("r", 17)]

    # Execute
    charged_all = owner_amplified_epsilon(entries, 0.05, {"r": 30}, DELTA)
    charged_trained = owner_amplified_epsilon(entries, 0.05, {"r": 2}, DELTA)

    # Assert: the ex-ante bound is over all 30 rounds; counting only the 2 trained would under-count
    assert charged_all == pytest.approx(amplified_epsilon([(1.0, 0.05, 50)] * 30, 0.05, DELTA), rel=1e-12)
    assert charged_all > charged_trained


def test_runs_without_secret_sampling_are_charged_unamplified() -> None:
    # Prepare: run "a" without the flag (absent from the map), run "b" with it
    entries = [_entry("a", 1), _entry("a", 2)]

    # Execute
    only_plain = owner_amplified_epsilon(entries, 0.01, {}, DELTA)
    with_b = owner_amplified_epsilon([*entries, _entry("b", 4)], 0.01, {"b": 10}, DELTA)

    # Assert
    assert only_plain == pytest.approx(epsilon([(1.0, 0.05, 50)] * 2, DELTA), rel=1e-9)
    assert with_b > only_plain


@settings(max_examples=10, deadline=None)
@given(sigma=st.floats(0.6, 3.0), q=st.floats(0.01, 0.5), steps=st.integers(1, 40), rounds=st.integers(1, 20),
       p=st.floats(0.01, 0.99))
def test_amplified_never_exceeds_unamplified_and_grows_with_the_rate(sigma: float, q: float, steps: int,
                                                                     rounds: int, p: float) -> None:
    # Prepare
    history = [(sigma, q, steps)] * rounds

    # Execute
    low, high = amplified_epsilon(history, p, DELTA), amplified_epsilon(history, min(1.0, p + 0.01), DELTA)
    full = amplified_epsilon(history, 1.0, DELTA)

    # Assert: p = 1 is the unamplified figure of every round trained; below it, never more
    assert full == pytest.approx(epsilon(history, DELTA), rel=1e-9)
    assert low <= high + 1e-9 and high <= full + 1e-9


def test_a_server_that_samples_the_owner_every_round_is_implausible() -> None:
    # Execute / Assert: claimed p = 0.01, the owner trained in 5 of 5 rounds (probability 1e-10)
    assert not claim_plausible(5, 5, 0.01)
    assert claim_plausible(1, 20, 0.05) and claim_plausible(0, 20, 0.05)
    with pytest.raises(ConfigError, match="client sampling rate must be in"):
        claim_plausible(1, 2, 0.0)
    with pytest.raises(ConfigError, match="participations must be in"):
        claim_plausible(3, 2, 0.5)


def _cfg(tmp_path: Path, **kw) -> RunConfig:
    # 20 owners, 2 sampled per round (p = 0.1), 10 rounds; 40 rows per owner, batch 10: q = 0.25, 4 steps
    return RunConfig.from_flat({"clients": 20, "fraction_train": 0.1, "min_clients": 1, "rounds": 10,
                                "noise_multiplier": 1.0, "delta": DELTA, "batch_size": 10, "local_epochs": 1,
                                "privacy_state": str(tmp_path), "run_id": "r", "proto_fraction": 0.0,
                                "amplify_by_sampling": True, **kw})


def test_the_ledger_and_the_cap_stay_unamplified(tmp_path: Path) -> None:
    # Prepare: a cap between one round's unamplified epsilon and two rounds' -- while the amplified figure
    # of two rounds (p = 0.1) lies far below it
    one = epsilon([(1.0, 0.25, 4)], DELTA)
    two = epsilon([(1.0, 0.25, 4)] * 2, DELTA)
    cap = (one + two) / 2
    cfg = _cfg(tmp_path, max_epsilon=cap)
    owner = client_owner(cfg, {}, 0)
    assert owner_amplified_epsilon([_entry("r", 1, 1.0, 0.25, 4)] * 2, 0.1, {"r": 2}, DELTA) < one

    # Execute
    first = train_private(cfg, owner, 40, 1, _tiny_train([]))[1]
    with pytest.raises(PrivacyBudgetExceeded, match="above its cap"):
        train_private(cfg, owner, 40, 2, _tiny_train([]))

    # Assert: the ledger holds Opacus' unamplified epsilon, and the second round was refused by it
    entries = verify(owner.ledger_path, recompute=True)
    assert len(entries) == 1 and first.epsilon == entries[0]["epsilon"] == pytest.approx(one, rel=1e-9)


def test_an_owner_node_states_the_amplified_figure_only_under_its_own_policy(tmp_path: Path) -> None:
    # Prepare: an owner that trained in round 1 of a run whose server claims p = 0.1 over 10 rounds
    cfg = _cfg(tmp_path)
    owner = client_owner(cfg, {}, 0)
    train_private(cfg, owner, 40, 1, _tiny_train([]))
    entries = owner.entries()

    # Execute
    refused, why_refused = amplified_view(OwnerPolicy(), cfg, entries, 1)
    accepted, why = amplified_view(OwnerPolicy(accept_sampling_amplification=True), cfg, entries, 1)
    busy = [dict(entries[0], round=r) for r in range(1, 6)]  # the "claim p = 0.1" server sampled it 5 of 5
    withheld, why_withheld = amplified_view(OwnerPolicy(accept_sampling_amplification=True), cfg, busy, 5)

    # Assert: default policy: nothing; opted in: all 10 rounds charged; implausible claim: withheld
    assert refused is None and "does not accept" in why_refused
    assert accepted == pytest.approx(amplified_epsilon([(1.0, 0.25, 4)] * 10, 0.1, DELTA), rel=1e-12)
    assert "released models alone" in why and "all 10 rounds charged" in why
    assert withheld is None and "5 of 5 rounds" in why_withheld
    assert owner.spent() == pytest.approx(epsilon([(1.0, 0.25, 4)], DELTA), rel=1e-9)


def test_the_flag_needs_sample_level_dp_and_no_secagg(tmp_path: Path) -> None:
    # Execute / Assert
    with pytest.raises(ConfigError, match="amplify_by_sampling needs dp sample"):
        _cfg(tmp_path, dp="client")
    from fedflm.config_rules import check_combination
    with pytest.raises(ConfigError, match="amplify_by_sampling with proto_fraction 0.3"):
        check_combination(_cfg(tmp_path, proto_fraction=0.3, train_mode="head", noise_multiplier=""))
    with pytest.raises(ConfigError, match="amplify_by_sampling with secagg"):
        check_combination(_cfg(tmp_path, secagg=True, clients=20, fraction_train=0.2))
    assert np.all(mixture_rdp(np.zeros(len(ORDERS)), 0.3) == 0.0)


def test_the_plan_printed_before_training_states_the_threat_model(tmp_path: Path) -> None:
    # Execute
    text = plan_text(_cfg(tmp_path), [40, 40])
    plain = plan_text(_cfg(tmp_path / "b", amplify_by_sampling=False), [40, 40])

    # Assert
    assert "p = 0.1 per round by secret Poisson sampling" in text
    assert "THREAT MODEL" in text and "released global models alone" in text
    assert "THREAT MODEL" not in plain
