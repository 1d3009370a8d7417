"""How the simulation splits the CPU among client actors."""

from __future__ import annotations

import pytest

from fedflm.config import RunConfig
from fedflm.fl.simulation import _backend_config, threads_per_client


@pytest.mark.parametrize(("clients", "cpus", "expected"), [
    (1, 2, 2),     # central run: the one client gets every core
    (10, 2, 1),    # two clients at a time, one thread each
    (2, 16, 8),
    (3, 16, 5),    # the remainder core stays with the driver
    (100, 16, 1),
    (1, 1, 1),
])
def test_threads_per_client_splits_the_cores_among_concurrent_clients(clients, cpus, expected):
    # Execute
    threads = threads_per_client(clients, cpus)

    # Assert
    assert threads == expected
    assert threads * min(clients, cpus) <= cpus


def test_backend_gives_each_client_actor_its_share_of_the_cores(monkeypatch):
    # Prepare
    monkeypatch.setattr("os.cpu_count", lambda: 4)
    central = RunConfig.from_flat({"clients": 1, "device": "cpu", "dp": "none"})
    federated = RunConfig.from_flat({"clients": 10, "device": "cpu", "dp": "none"})

    # Execute
    central_cfg, fed_cfg = _backend_config(central), _backend_config(federated)

    # Assert
    assert central_cfg["client_resources"]["num_cpus"] == 4
    assert fed_cfg["client_resources"]["num_cpus"] == 1
    assert central_cfg["init_args"]["num_cpus"] == 4
