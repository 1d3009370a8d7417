"""Split the clients' pool into per-client partitions with flwr-datasets partitioners.

Specs: ``iid``, ``dirichlet:ALPHA`` (label skew), ``pathological:K`` (K labels
per client) and ``column:NAME`` (natural partition by a column, one client
per distinct value). All are seeded and reproducible.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from fedflm.errors import PartitionError

if TYPE_CHECKING:  # flwr-datasets (with matplotlib and seaborn) is imported only to partition
    from datasets import Dataset
    from flwr_datasets.partitioner import Partitioner


@dataclass(frozen=True)
class PartitionStats:
    """Size and label histogram of one client's partition (never any text)."""

    partition_id: int
    num_examples: int
    label_counts: tuple[int, ...]


def make_partitioner(spec: str, num_clients: int, seed: int) -> Partitioner:
    """Build the flwr-datasets partitioner for ``spec``."""
    from flwr_datasets.partitioner import (
        DirichletPartitioner,
        IidPartitioner,
        NaturalIdPartitioner,
        PathologicalPartitioner,
    )

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


def _check_spec(pool: Dataset, spec: str, num_clients: int) -> None:
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


class Partitions:
    """The clients' partitions, built one at a time on request (lazy).

    Holds the pool and one flwr-datasets partitioner (for Dirichlet/pathological/column, an
    index table computed once on the first request); :meth:`load` builds only the partition
    asked for, so a simulated client with 1,000 owners builds its own partition and no other.
    """

    def __init__(self, pool: Dataset, spec: str, num_clients: int, seed: int,
                 samples_per_client: int = 0) -> None:
        _check_spec(pool, spec, num_clients)
        try:
            self._partitioner = make_partitioner(spec, num_clients, seed)
        except ValueError as exc:
            raise PartitionError(f"bad partition {spec!r}: {exc}") from None
        # IidPartitioner takes contiguous shards: shuffle first (seeded), as FederatedDataset does.
        self._partitioner.dataset = pool.shuffle(seed=seed) if spec == "iid" else pool
        self.spec, self.num_clients, self.seed, self.samples_per_client = spec, num_clients, seed, samples_per_client

    def load(self, partition_id: int) -> Dataset:
        """Client ``partition_id``'s dataset; raises if it would get no data."""
        if not 0 <= partition_id < self.num_clients:
            raise PartitionError(f"partition id {partition_id} out of range 0..{self.num_clients - 1}")
        try:
            part = self._partitioner.load_partition(partition_id)
        except ValueError as exc:
            raise PartitionError(f"partition {self.spec!r} failed for {self.num_clients} clients: {exc}") from None
        if len(part) == 0:
            raise PartitionError(f"partition {self.spec!r}: client {partition_id} of {self.num_clients} gets "
                                 "no data (use fewer clients, a larger alpha, or iid)")
        cap = self.samples_per_client
        if cap and len(part) > cap:
            part = part.shuffle(seed=self.seed + partition_id).select(range(cap))
        return part

    def __getitem__(self, partition_id: int) -> Dataset:
        return self.load(partition_id)

    def __len__(self) -> int:
        return self.num_clients

    def __iter__(self) -> Iterator[Dataset]:
        """Every partition in order, one at a time (none kept)."""
        return (self.load(i) for i in range(self.num_clients))


def partition_dataset(pool: Dataset, spec: str, num_clients: int, seed: int,
                      samples_per_client: int = 0) -> list[Dataset]:
    """Return one dataset per client; raises if any client would get no data."""
    return list(Partitions(pool, spec, num_clients, seed, samples_per_client))


def partition_stats(parts: Iterable[Dataset], num_labels: int) -> list[PartitionStats]:
    """Per-client sizes and label histograms (for the start-of-run table)."""
    stats = []
    for i, part in enumerate(parts):
        counts = np.bincount(np.asarray(part["label"], dtype=np.int64), minlength=num_labels)
        stats.append(PartitionStats(i, len(part), tuple(int(c) for c in counts)))
    return stats
