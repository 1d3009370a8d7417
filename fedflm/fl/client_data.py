"""Which examples a simulated client trains on (cached per worker process).

In simulation every virtual client re-derives its own partition from the
run's data config and seed, so nothing but adapter tensors crosses the
boundary between the server and the clients. Data owners in a deployment
read their own store instead. Partitions are lazy: a worker keeps the pool
and the partitioner's index table, and builds only the partitions of the
clients it serves (1,000 owners cost 1,000 index lists, not 1,000 datasets).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from datasets import Dataset

from fedflm.config import DataConfig
from fedflm.data.load import FederatedData, load_federated_data
from fedflm.data.partition import Partitions


@lru_cache(maxsize=2)
def federated_data(cfg: DataConfig, seed: int) -> FederatedData:
    return load_federated_data(cfg, seed)


@lru_cache(maxsize=2)
def lazy_partitions(cfg: DataConfig, num_clients: int, seed: int) -> Partitions:
    """The run's partitions, each built when first asked for (``parts[i]``, iteration)."""
    data = federated_data(cfg, seed)
    return Partitions(data.train, cfg.partition, num_clients, seed, cfg.samples_per_client)


def client_partition(cfg: DataConfig, partition_id: int, num_clients: int,
                     seed: int) -> tuple[Dataset, tuple[str, ...]]:
    """The partition of client ``partition_id`` and the label names."""
    parts = lazy_partitions(cfg, num_clients, seed)
    return parts.load(partition_id), federated_data(cfg, seed).label_names


def owner_dir(run_dir: str | Path, partition_id: int) -> Path:
    """Where a simulated data owner keeps its key and encrypted store (``--prepare``)."""
    return Path(run_dir) / "owners" / f"client-{partition_id}"


def prepare_client_stores(run_dir: Path, parts: Iterable[Dataset]) -> None:
    """Run each simulated owner's real prepare step: own key, de-identify, encrypt.

    The ClientApp then reads only its encrypted store (decrypted in memory),
    exactly as a deployed data owner's node does.
    """
    from fedflm.protect.keys import write_key_file
    from fedflm.protect.prepare import prepare_dataset_in_memory_to_store

    for pid, part in enumerate(parts):
        home = owner_dir(run_dir, pid)
        home.mkdir(parents=True, exist_ok=True)
        key = write_key_file(home / "owner.key")
        prepare_dataset_in_memory_to_store(part, home / "data.store", key, deid=True)


def prepared_node_config(run_dir: str | Path, partition_id: int) -> dict[str, str]:
    """The node config a deployed owner would have, for a ``--prepare`` simulation."""
    home = owner_dir(run_dir, partition_id)
    return {"store": str(home / "data.store"), "key-file": str(home / "owner.key")}
