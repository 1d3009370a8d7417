"""A deployed data owner's side of the ClientApp: its encrypted store, its settings.

``fedflm client start`` passes the owner's settings to its SuperNode as node
config (a TOML file written from :class:`fedflm.owner.settings.OwnerSettings`;
it never reaches the server): store, key file, privacy state, owner id,
secure mode and the owner's policy.

Every message starts a fresh ClientApp process in deployment, so the store is
decrypted in memory for each round (nothing decrypted touches the disk) and
the owner's accountant is rebuilt from its ledger in ``state-dir``.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from typing import Any

from datasets import Dataset

from fedflm.errors import ConfigError
from fedflm.protect.keys import read_key_file
from fedflm.protect.store import open_store, store_label_names

__all__ = ["is_deployed", "owner_dataset", "owner_partition_id"]


def is_deployed(node_config: Mapping[str, Any]) -> bool:
    """True on a data owner's SuperNode (its node config names a store)."""
    return bool(node_config.get("store"))


def owner_dataset(node_config: Mapping[str, Any]) -> tuple[Dataset, tuple[str, ...]]:
    """Decrypt the owner's store in memory: (dataset with text/label, label names)."""
    key_file = node_config.get("key-file")
    if not key_file:
        raise ConfigError("node config has a store but no key-file")
    ds = open_store(str(node_config["store"]), read_key_file(str(key_file)))
    return ds, tuple(store_label_names(ds))


def owner_partition_id(node_config: Mapping[str, Any]) -> int:
    """A stable small integer for this owner (seeds its data order; shown in metrics)."""
    if "partition-id" in node_config:
        return int(node_config["partition-id"])
    return zlib.crc32(str(node_config.get("owner-id", "owner")).encode()) & 0x7FFFFFFF
