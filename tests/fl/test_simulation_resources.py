"""How the simulation splits the CPU among client actors, and the resources it hands to Flower."""

from __future__ import annotations

import pytest

from fedflm.config import RunConfig
from fedflm.errors import ConfigError
from fedflm.fl.resources import SimResources, backend_config, threads_per_client


@pytest.fixture(autouse=True)
def _no_ray_address(monkeypatch):
    """These tests build the private-Ray config; the suite's shared cluster sets RAY_ADDRESS (tests/conftest.py)."""
    monkeypatch.delenv("RAY_ADDRESS", raising=False)


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
    central_cfg, fed_cfg = backend_config(central, SimResources()), backend_config(federated, SimResources())

    # Assert
    assert central_cfg["client_resources"]["num_cpus"] == 4
    assert fed_cfg["client_resources"]["num_cpus"] == 1
    assert central_cfg["init_args"]["num_cpus"] == 4


def test_client_cpus_and_gpus_become_flowers_client_resources() -> None:
    # Prepare: a cluster elsewhere has the GPUs (no GPU needed here to ask for a share)
    cfg = RunConfig.from_flat({"clients": 1000, "device": "cpu", "dp": "none"})

    # Execute
    backend = backend_config(cfg, SimResources(ray_address="10.0.0.5:6379", client_cpus=2, client_gpus=0.125))

    # Assert: Flower's keys; ray.init joins the cluster and is given no CPU/GPU counts (it refuses them)
    assert backend["client_resources"] == {"num_cpus": 2.0, "num_gpus": 0.125}
    assert backend["init_args"]["address"] == "10.0.0.5:6379"
    assert "num_cpus" not in backend["init_args"] and "num_gpus" not in backend["init_args"]


def test_a_gpu_share_without_a_gpu_is_refused_before_anything_starts(monkeypatch) -> None:
    # Prepare
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    cfg = RunConfig.from_flat({"clients": 10, "dp": "none"})

    # Execute / Assert
    with pytest.raises(ConfigError, match="--client-gpus 0.25 asks for a GPU share, but no CUDA GPU"):
        backend_config(cfg, SimResources(client_gpus=0.25))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"client_cpus": 0}, "client_cpus must be > 0, got 0"),
    ({"client_gpus": -0.5}, "client_gpus must be >= 0"),
    ({"client_gpus": 1.5}, "client_gpus above 1 must be a whole number of GPUs, got 1.5"),
    ({"ray_address": "auto x"}, "ray_address must not contain spaces"),
])
def test_bad_resource_requests_name_the_value(kwargs, message) -> None:
    # Execute / Assert
    with pytest.raises(ConfigError, match=message):
        SimResources(**kwargs)


def test_the_start_table_of_1000_clients_shows_their_spread() -> None:
    # Prepare
    from rich.console import Console

    from fedflm.cli.display import client_table
    from fedflm.data.partition import PartitionStats
    stats = [PartitionStats(i, 8 + i % 3, (i % 9, 8 + i % 3 - i % 9)) for i in range(1000)]

    # Execute
    console = Console(width=120, record=True)
    console.print(client_table(stats, ("neg", "pos")))
    text = console.export_text()

    # Assert: two rows of quantiles, not 1,000 rows
    assert len(text.splitlines()) < 12 and "Clients (1000; spread over clients)" in text
    assert "examples" in text and "labels present" in text


def test_ray_address_variable_is_the_cluster_unless_an_address_is_given(monkeypatch):
    # Prepare: Ray's own variable, which ray.init would join anyway (and refuse the CPU count we give it)
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.7:6379")
    cfg = RunConfig.from_flat({"clients": 2, "device": "cpu", "dp": "none"})

    # Execute
    joined = backend_config(cfg, SimResources())
    given = backend_config(cfg, SimResources(ray_address="10.0.0.5:6379"))

    # Assert: the variable is joined without CPU/GPU counts; an explicit address wins over it
    assert SimResources().cluster == "10.0.0.7:6379"
    assert joined["init_args"]["address"] == "10.0.0.7:6379"
    assert "num_cpus" not in joined["init_args"] and "num_gpus" not in joined["init_args"]
    assert given["init_args"]["address"] == "10.0.0.5:6379"


def test_without_an_address_or_the_variable_ray_starts_privately():
    # Execute
    backend = backend_config(RunConfig.from_flat({"clients": 2, "device": "cpu", "dp": "none"}), SimResources())

    # Assert
    assert SimResources().cluster == "" and "address" not in backend["init_args"]
    assert backend["init_args"]["num_cpus"] >= 1
