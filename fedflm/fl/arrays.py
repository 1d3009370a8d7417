"""Adapter state <-> Flower ArrayRecord (only adapter tensors ever travel)."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
from flwr.app import Array, ArrayRecord


def to_record(state: dict[str, np.ndarray]) -> ArrayRecord:
    """Wrap numpy adapter tensors, keeping their names and order."""
    return ArrayRecord.from_array_dict({k: Array.from_numpy_ndarray(np.ascontiguousarray(v))
                                        for k, v in state.items()})


def from_record(record: ArrayRecord) -> "OrderedDict[str, np.ndarray]":
    """Unwrap an ArrayRecord into named numpy arrays."""
    return OrderedDict((k, arr.numpy()) for k, arr in record.items())


def record_nbytes(record: ArrayRecord) -> int:
    """Raw tensor bytes in a record (what a client uploads per round, before framing)."""
    return int(sum(len(arr.data) for arr in record.values()))
