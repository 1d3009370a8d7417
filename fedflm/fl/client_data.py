"""Which examples a simulated client trains on (cached per worker process).

In simulation every virtual client re-derives its own partition from the
run's data config and seed, so nothing but adapter tensors crosses the
boundary between the server and the clients. Data owners in a deployment
read their own store instead.
"""

from __future__ import annotations

from functools import lru_cache

from datasets import Dataset

from fedflm.config import DataConfig
from fedflm.data.load import FederatedData, load_federated_data
from fedflm.data.partition import partition_dataset


@lru_cache(maxsize=2)
def federated_data(cfg: DataConfig, seed: int) -> FederatedData:
    return load_federated_data(cfg, seed)


@lru_cache(maxsize=2)
def all_partitions(cfg: DataConfig, num_clients: int, seed: int) -> tuple[Dataset, ...]:
    data = federated_data(cfg, seed)
    return tuple(partition_dataset(data.train, cfg.partition, num_clients, seed,
                                   cfg.samples_per_client))


def client_partition(cfg: DataConfig, partition_id: int, num_clients: int,
                     seed: int) -> tuple[Dataset, tuple[str, ...]]:
    """The partition of client ``partition_id`` and the label names."""
    parts = all_partitions(cfg, num_clients, seed)
    return parts[partition_id], federated_data(cfg, seed).label_names
