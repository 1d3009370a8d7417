"""issue 21: simulated poisoning attacks (evaluation only)."""

from __future__ import annotations

import numpy as np
import pytest

from fedflm.config import AggConfig, RunConfig
from fedflm.errors import PolicyRefused
from fedflm.fl.attack import attacker_ids, flipped_labels, poison
from fedflm.owner.policy import check_request
from fedflm.owner.settings import DP_MODES, OwnerPolicy

SENT = {"w": np.array([1.0, 2.0], dtype=np.float32)}
LOCAL = {"w": np.array([1.5, 1.0], dtype=np.float32)}  # update (0.5, -1)


def _agg(attack: str) -> AggConfig:
    return AggConfig(attack=attack, attackers=0.2)


def test_attacker_set_is_the_fraction_and_fixed_by_the_seed() -> None:
    # Execute
    a, b, other = attacker_ids(_agg("signflip"), 10, 42), attacker_ids(_agg("signflip"), 10, 42), \
        attacker_ids(_agg("signflip"), 10, 7)

    # Assert
    assert len(a) == 2 and a == b and a <= set(range(10))
    assert attacker_ids(AggConfig(), 10, 42) == frozenset() and len(other) == 2


@pytest.mark.parametrize(("attack", "want"), [("signflip", [0.5, 3.0]), ("scale:10", [6.0, -8.0]),
                                              ("labelflip", [1.5, 1.0])])
def test_poisoned_updates_follow_their_definition(attack: str, want: list[float]) -> None:
    # Execute
    out = poison(_agg(attack), SENT, LOCAL, np.random.default_rng(0))

    # Assert
    np.testing.assert_allclose(out["w"], want)
    assert out["w"].dtype == np.float32


def test_noise_attack_adds_gaussian_noise_of_the_given_scale() -> None:
    # Prepare
    big = {"w": np.zeros(20000, dtype=np.float32)}

    # Execute
    out = poison(_agg("noise:3"), big, big, np.random.default_rng(1))

    # Assert
    assert abs(float(out["w"].std()) - 3.0) < 0.1 and abs(float(out["w"].mean())) < 0.1


def test_labelflip_maps_y_to_k_minus_1_minus_y() -> None:
    # Prepare
    class Rows:
        labels = [0, 1, 2, 2]

    # Execute
    out = flipped_labels(Rows(), 3)

    # Assert
    assert out.labels == [2, 1, 0, 0] and Rows.labels == [0, 1, 2, 2]


def test_a_deployed_node_refuses_to_attack() -> None:
    # Prepare
    cfg = RunConfig.from_flat({"attack": "scale:10", "attackers": 0.2, "max_epsilon": 8})
    policy = OwnerPolicy(dp_modes=DP_MODES, max_epsilon=8.0, delta=1e-5, accountant="rdp", max_rounds=100,
                         min_noise_multiplier=0.0, publish_ledger=True)

    # Execute / Assert
    with pytest.raises(PolicyRefused, match="attack simulation is for simulated clients only"):
        check_request(policy, cfg, deployed=True)
    check_request(policy, cfg, deployed=False)  # a simulated client may


def test_the_server_marks_an_attack_run_and_refuses_one_in_deployment(tmp_path) -> None:
    # Prepare
    from fedflm.errors import ConfigError
    from fedflm.fl.attack import MARKER
    from fedflm.fl.rundir import RunDir
    from server.app import _mark_attack
    cfg = RunConfig.from_flat({"attack": "signflip", "attackers": 0.2})

    # Execute
    _mark_attack(cfg, RunDir(tmp_path), deployed=False)

    # Assert
    assert (tmp_path / MARKER).read_text().startswith("ATTACK SIMULATION (evaluation only)")
    with pytest.raises(ConfigError, match="--attack signflip is for simulation only"):
        _mark_attack(cfg, RunDir(tmp_path), deployed=True)
