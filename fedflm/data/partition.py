"""Split the clients' pool into per-client partitions with flwr-datasets partitioners.

Specs: ``iid``, ``dirichlet:ALPHA`` (label skew), ``pathological:K`` (K labels
per client) and ``column:NAME`` (natural partition by a column, one client
per distinct value). All are seeded and reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from datasets import Dataset
from flwr_datasets.partitioner import (
    DirichletPartitioner,
    IidPartitioner,
    NaturalIdPartitioner,
    Partitioner,
    PathologicalPartitioner,
)

from fedflm.errors import PartitionError


@dataclass(frozen=True)
class PartitionStats:
    """Size and label histogram of one client's partition (never any text)."""

    partition_id: int
    num_examples: int
    label_counts: tuple[int, ...]


def make_partitioner(spec: str, num_clients: int, seed: int) -> Partitioner:
    """Build the flwr-datasets partitioner for ``spec``."""
    kind, _, arg = spec.partition(":")
    if kind == "iid":
        return IidPartitioner(num_partitions=num_clients)
    if kind == "dirichlet":
        return DirichletPartitioner(num_partitions=num_clients, partition_by="label",
                                    alpha=float(arg), min_partition_size=0,
                                    self_balancing=False, shuffle=True, seed=seed)
    if kind == "pathological":
        return PathologicalPartitioner(num_partitions=num_clients, partition_by="label",
                                       num_classes_per_partition=int(arg),
                                       class_assignment_mode="first-deterministic",
                                       shuffle=True, seed=seed)
    if kind == "column":
        return NaturalIdPartitioner(partition_by=arg)
    raise PartitionError(f"unknown partition {spec!r}")


def partition_dataset(pool: Dataset, spec: str, num_clients: int, seed: int,
                      samples_per_client: int = 0) -> list[Dataset]:
    """Return one dataset per client; raises if any client would get no data."""
    if num_clients < 1:
        raise PartitionError(f"clients must be >= 1, got {num_clients}")
    if spec.startswith("column:"):
        col = spec.split(":", 1)[1]
        if col not in pool.column_names:
            raise PartitionError(f"partition column {col!r} not in the data "
                                 f"(columns: {', '.join(pool.column_names)})")
        n_ids = len(set(pool[col]))
        if n_ids != num_clients:
            raise PartitionError(f"partition column {col!r} has {n_ids} distinct values "
                                 f"but clients = {num_clients}; they must match")
    if len(pool) < num_clients:
        raise PartitionError(f"{len(pool)} examples cannot be split among {num_clients} clients")
    try:
        partitioner = make_partitioner(spec, num_clients, seed)
    except ValueError as exc:
        raise PartitionError(f"bad partition {spec!r}: {exc}") from None
    # IidPartitioner takes contiguous shards: shuffle first (seeded), as FederatedDataset does.
    partitioner.dataset = pool.shuffle(seed=seed) if spec == "iid" else pool
    try:
        parts = [partitioner.load_partition(i) for i in range(num_clients)]
    except ValueError as exc:
        raise PartitionError(f"partition {spec!r} failed for {num_clients} clients: {exc}") from None
    out = []
    for i, part in enumerate(parts):
        if len(part) == 0:
            raise PartitionError(f"partition {spec!r}: client {i} of {num_clients} gets no data "
                                 "(use fewer clients, a larger alpha, or iid)")
        if samples_per_client and len(part) > samples_per_client:
            part = part.shuffle(seed=seed + i).select(range(samples_per_client))
        out.append(part)
    return out


def partition_stats(parts: list[Dataset], num_labels: int) -> list[PartitionStats]:
    """Per-client sizes and label histograms (for the start-of-run table)."""
    stats = []
    for i, part in enumerate(parts):
        counts = np.bincount(np.asarray(part["label"], dtype=np.int64), minlength=num_labels)
        stats.append(PartitionStats(i, len(part), tuple(int(c) for c in counts)))
    return stats
