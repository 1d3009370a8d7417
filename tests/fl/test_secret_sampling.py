"""issue 24, --amplify-by-sampling: the server samples each node independently from the OS CSPRNG."""

from __future__ import annotations

import random

import numpy as np
import pytest
from flwr.app import ConfigRecord

from fedflm.config import AggConfig
from fedflm.fl.arrays import to_record
from fedflm.fl.strategy import build_strategy

GLOBAL = {"a": np.zeros((2, 2))}


class _Nodes:
    def get_node_ids(self) -> list[int]:
        return list(range(1, 1001))


@pytest.fixture(autouse=True)
def _server_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    from flwr.supercore.task_identity import TaskIdentity

    monkeypatch.setattr(TaskIdentity, "_run_id", 1)  # set by Flower in a ServerApp process
    monkeypatch.setattr(TaskIdentity, "_node_id", 0)
    monkeypatch.setattr(TaskIdentity, "_task_id", 0)


def _chosen(rate: float | None) -> set[int]:
    strategy = build_strategy(AggConfig(), fraction_train=1.0, min_train_nodes=1, min_available_nodes=1)
    strategy.poisson_rate = rate
    random.seed(0)  # the run's --seed: it must not decide who trains under secret sampling
    messages = strategy.configure_train(1, to_record(GLOBAL), ConfigRecord({}), _Nodes())
    return {m.metadata.dst_node_id for m in messages}


def test_each_node_trains_with_the_rate_and_the_seed_does_not_decide_who() -> None:
    # Execute
    first, second, everyone = _chosen(0.1), _chosen(0.1), _chosen(None)

    # Assert: Binomial(1000, 0.1) has mean 100 and sd 9.5 (50 and 150 are > 5 sd away); the same --seed
    # gives another subset; without a rate FedAvg offers every node
    assert 50 <= len(first) <= 150 and 50 <= len(second) <= 150
    assert first != second
    assert len(everyone) == 1000


def test_failures_are_counted_against_the_nodes_really_asked() -> None:
    # Prepare
    strategy = build_strategy(AggConfig(), fraction_train=1.0, min_train_nodes=1, min_available_nodes=1)
    strategy.poisson_rate = 0.2

    # Execute
    messages = strategy.configure_train(1, to_record(GLOBAL), ConfigRecord({}), _Nodes())

    # Assert
    assert strategy.sampled == len(messages) < 1000
