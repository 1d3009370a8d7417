"""Lazy partitions: building one owner's data builds no other owner's (1,000 owners)."""

from __future__ import annotations

import pytest
from datasets import Dataset
from flwr_datasets.partitioner import DirichletPartitioner, IidPartitioner

from fedflm.data.partition import Partitions
from fedflm.errors import PartitionError
from tests.data.test_partition import make_pool

pytestmark = pytest.mark.filterwarnings("ignore:Classes.*will NOT be used:UserWarning")
POOL = make_pool(20_000, seed=3)


def _spy(monkeypatch: pytest.MonkeyPatch, cls: type) -> list[int]:
    """Record every partition id that ``cls`` builds (the real method still runs)."""
    built: list[int] = []
    real = cls.load_partition

    def load_partition(self, partition_id: int) -> Dataset:
        built.append(partition_id)
        return real(self, partition_id)

    monkeypatch.setattr(cls, "load_partition", load_partition)
    return built


@pytest.mark.parametrize(("spec", "cls"), [("iid", IidPartitioner), ("dirichlet:100", DirichletPartitioner)])
def test_building_owner_999_builds_no_other(monkeypatch: pytest.MonkeyPatch, spec: str, cls: type) -> None:
    # Prepare
    built = _spy(monkeypatch, cls)
    parts = Partitions(POOL, spec, 1000, seed=7, samples_per_client=3)

    # Execute
    owner = parts.load(999)

    # Assert: only partition 999 was built; the same seed rebuilds the same rows
    assert built == [999]
    assert 0 < len(owner) <= 3
    assert Partitions(POOL, spec, 1000, seed=7, samples_per_client=3).load(999)["text"] == owner["text"]


def test_iteration_builds_one_partition_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    # Prepare
    built = _spy(monkeypatch, IidPartitioner)
    it = iter(Partitions(POOL, "iid", 1000, seed=0))

    # Execute
    first, second = next(it), next(it)

    # Assert: two steps of the iterator built exactly two partitions, disjoint
    assert built == [0, 1]
    assert not set(first["text"]) & set(second["text"])


def test_out_of_range_owner_is_named() -> None:
    # Prepare
    parts = Partitions(POOL, "iid", 1000, seed=0)

    # Execute / Assert
    with pytest.raises(PartitionError, match="partition id 1000 out of range 0..999"):
        parts.load(1000)
