"""Partitioners: sizes, disjointness, seeding, label skew, caps, and partitions that cannot be made."""

from __future__ import annotations

import numpy as np
import pytest
from datasets import ClassLabel, Dataset, Features, Value
from hypothesis import given, settings
from hypothesis import strategies as st

from fedflm.config import DataConfig
from fedflm.data.partition import partition_dataset, partition_stats
from fedflm.errors import ConfigError, PartitionError

NUM_LABELS = 10
pytestmark = pytest.mark.filterwarnings("ignore:Classes.*will NOT be used:UserWarning")


def make_pool(n: int, seed: int = 0, sorted_by_label: bool = False, sites: int = 4) -> Dataset:
    """``n`` rows with unique texts, ``NUM_LABELS`` roughly balanced labels and a site column."""
    labels = np.random.default_rng(seed).integers(0, NUM_LABELS, n)
    if sorted_by_label:
        labels = np.sort(labels)
    feats = Features({"text": Value("string"), "label": ClassLabel(num_classes=NUM_LABELS),
                      "site": Value("string")})
    return Dataset.from_dict({"text": [f"row {i}" for i in range(n)], "label": labels.tolist(),
                              "site": [f"s{i % sites}" for i in range(n)]}, features=feats)


POOL = make_pool(1200)


def label_hist(ds: Dataset) -> np.ndarray:
    return np.bincount(np.asarray(ds["label"]), minlength=NUM_LABELS)


def mean_tv_to_global(parts: list[Dataset]) -> float:
    """Mean total-variation distance of each client's label distribution to the pooled one."""
    hists = [label_hist(p) for p in parts]
    pooled = np.sum(hists, axis=0) / sum(h.sum() for h in hists)
    return float(np.mean([0.5 * np.abs(h / h.sum() - pooled).sum() for h in hists]))


def texts(parts: list[Dataset]) -> list[list[str]]:
    return [p["text"] for p in parts]


# ------------------------------------------------------------------ sizes and disjointness
@settings(max_examples=15, deadline=None, derandomize=True)
@given(spec=st.sampled_from(["iid", "dirichlet:0.5", "dirichlet:5", "pathological:10"]),
       clients=st.integers(2, 6), seed=st.integers(0, 10_000))
def test_partitions_cover_the_pool_disjointly(spec: str, clients: int, seed: int) -> None:
    # Prepare: (pathological with K < labels may leave labels unused; see the K test)

    # Execute
    parts = partition_dataset(POOL, spec, clients, seed)

    # Assert: sizes sum to the total, no row twice, every row somewhere
    all_texts = [t for part in texts(parts) for t in part]
    assert len(parts) == clients and all(len(p) > 0 for p in parts)
    assert sum(len(p) for p in parts) == len(POOL)
    assert len(set(all_texts)) == len(all_texts)
    assert set(all_texts) == set(POOL["text"])


@pytest.mark.parametrize("spec", ["iid", "dirichlet:0.5", "pathological:3"])
def test_samples_per_client_caps_each_client(spec: str) -> None:
    # Prepare
    full = partition_dataset(POOL, spec, 4, seed=5)

    # Execute
    capped = partition_dataset(POOL, spec, 4, seed=5, samples_per_client=50)

    # Assert: at most 50 each, drawn from that client's own partition
    for whole, part in zip(full, capped):
        assert len(part) == min(50, len(whole))
        assert set(part["text"]) <= set(whole["text"])


# ------------------------------------------------------------------ seeding
@pytest.mark.parametrize("spec", ["iid", "dirichlet:0.3", "pathological:2"])
def test_same_seed_same_partitions_other_seed_different(spec: str) -> None:
    # Prepare
    pool = make_pool(600, seed=1)

    # Execute
    first = partition_dataset(pool, spec, 5, seed=7)
    again = partition_dataset(pool, spec, 5, seed=7)
    other = partition_dataset(pool, spec, 5, seed=8)

    # Assert
    assert texts(first) == texts(again)
    assert texts(first) != texts(other)


def test_iid_mixes_a_pool_sorted_by_label() -> None:
    # Prepare: a user file sorted by label; contiguous shards would give each client 2-3 labels
    pool = make_pool(1000, sorted_by_label=True)

    # Execute
    parts = partition_dataset(pool, "iid", 5, seed=0)

    # Assert
    assert all(np.count_nonzero(label_hist(p)) == NUM_LABELS for p in parts)
    assert mean_tv_to_global(parts) < 0.15


# ------------------------------------------------------------------ label skew
def test_dirichlet_small_alpha_skews_labels_far_more_than_iid() -> None:
    # Prepare
    pool = make_pool(3000, seed=2)

    # Execute
    tv_iid = mean_tv_to_global(partition_dataset(pool, "iid", 8, seed=3))
    tv_large = mean_tv_to_global(partition_dataset(pool, "dirichlet:100", 8, seed=3))
    tv_small = mean_tv_to_global(partition_dataset(pool, "dirichlet:0.1", 8, seed=3))

    # Assert: alpha=0.1 is strongly non-iid; alpha=100 is close to iid
    assert tv_iid < 0.08 and tv_large < 0.1
    assert tv_small > 0.45 and tv_small > 5 * tv_iid


@settings(max_examples=15, deadline=None, derandomize=True)
@given(k=st.integers(1, 4), clients=st.integers(3, 8), seed=st.integers(0, 10_000))
def test_pathological_k_gives_at_most_k_labels_per_client(k: int, clients: int, seed: int) -> None:
    # Prepare / Execute
    parts = partition_dataset(POOL, f"pathological:{k}", clients, seed)

    # Assert: K labels at most, disjoint clients, and a label is either fully used or unused
    counts = [np.count_nonzero(label_hist(p)) for p in parts]
    assert all(1 <= c <= k for c in counts)
    all_texts = [t for part in texts(parts) for t in part]
    assert len(set(all_texts)) == len(all_texts)
    used = np.sum([label_hist(p) for p in parts], axis=0)
    assert all(u in (0, total) for u, total in zip(used, label_hist(POOL)))


def test_column_partition_gives_one_client_per_value() -> None:
    # Prepare
    pool = make_pool(400, sites=5)

    # Execute
    parts = partition_dataset(pool, "column:site", 5, seed=0)

    # Assert: each client holds exactly one site, all sites are used, all rows kept
    sites = [set(p["site"]) for p in parts]
    assert all(len(s) == 1 for s in sites)
    assert set.union(*sites) == {f"s{i}" for i in range(5)}
    assert sum(len(p) for p in parts) == 400


def test_partition_stats_histograms() -> None:
    # Prepare
    parts = partition_dataset(POOL, "dirichlet:0.5", 4, seed=1)

    # Execute
    stats = partition_stats(parts, NUM_LABELS)

    # Assert
    assert [s.num_examples for s in stats] == [len(p) for p in parts]
    assert [list(s.label_counts) for s in stats] == [label_hist(p).tolist() for p in parts]


# ------------------------------------------------------------------ requests that cannot be met
@pytest.mark.parametrize(("spec", "clients", "expected"), [
    ("dirichlet:0.01", 60, "gets no data"),
    ("iid", 0, "clients must be >= 1, got 0"),
    ("iid", 2000, "1200 examples cannot be split among 2000 clients"),
    ("column:site", 3, "has 4 distinct values but clients = 3"),
    ("column:hospital", 4, "partition column 'hospital' not in the data (columns: text, label, site)"),
    ("pathological:11", 4, "num_classes_per_partition"),
    ("dirichlet:abc", 4, "bad partition 'dirichlet:abc'"),
    ("shards:2", 4, "unknown partition 'shards:2'"),
])
def test_impossible_partition_is_a_partition_error(spec: str, clients: int, expected: str) -> None:
    # Prepare / Execute
    with pytest.raises(PartitionError) as info:
        partition_dataset(POOL, spec, clients, seed=0)

    # Assert
    assert expected in str(info.value)


def test_empty_partition_names_the_client() -> None:
    # Prepare: far more clients than a tiny alpha can fill
    pool = make_pool(300)

    # Execute
    with pytest.raises(PartitionError) as info:
        partition_dataset(pool, "dirichlet:0.01", 50, seed=0)

    # Assert
    assert "client" in str(info.value) and "of 50 gets no data" in str(info.value)


_SPEC_FORMS = "partition must be iid, dirichlet:ALPHA, pathological:K or column:NAME, got "


@pytest.mark.parametrize(("spec", "expected"), [
    ("dirichlet:-1", "dirichlet alpha must be finite and > 0, got -1.0"),
    ("dirichlet:0", "dirichlet alpha must be finite and > 0, got 0.0"),
    ("dirichlet:1..2", "dirichlet alpha must be a number, got '1..2'"),
    ("pathological:0", "pathological K must be >= 1, got 0"),
    ("pathological:x", _SPEC_FORMS + "'pathological:x'"),
    ("column:", _SPEC_FORMS + "'column:'"),
    ("iid:3", _SPEC_FORMS + "'iid:3'"),
])
def test_bad_partition_spec_in_config(spec: str, expected: str) -> None:
    # Prepare / Execute
    with pytest.raises(ConfigError) as info:
        DataConfig(partition=spec)

    # Assert: the message names the rule and the bad value
    assert str(info.value) == expected
