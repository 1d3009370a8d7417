"""Encrypted data stores: atomic writing, in-memory reading, key rotation.

* :class:`StoreWriter` streams records into AES-256-GCM shards inside a
  temporary directory beside the target, fsyncs everything and renames it into
  place last: an interrupted write leaves no directory under the target name,
  and the temporary one has no manifest.
* :func:`open_store` decrypts every shard in memory (no plaintext file is ever
  written) and returns a ``datasets.Dataset`` with ``text`` and ``label``
  (``ClassLabel`` carrying the label names).
* :func:`rotate_key` re-encrypts all shards under a new key; the new manifest
  replacing the old one (an atomic rename) is the single commit point.

Byte formats and what is authenticated: :mod:`fedflm.protect.store_format`.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fedflm.errors import DecryptionError, KeyFileError, StoreError
from fedflm.io import fsync_dir, write_atomic, write_synced
from fedflm.protect import store_format as fmt
from fedflm.protect.keys import DataKey

if TYPE_CHECKING:  # `datasets` costs ~2 CPU s to import: only open_store needs it, not a node's start-up
    from datasets import Dataset

DEFAULT_ROWS_PER_SHARD = 5000


def tool_version() -> str:
    try:
        return metadata.version("fedflm")
    except metadata.PackageNotFoundError:
        from fedflm import __version__
        return __version__


class StoreWriter:
    """Write records into a new store at ``out``; use as a context manager.

    ``add`` buffers records and seals a shard every ``rows_per_shard`` rows;
    ``commit(extra)`` writes the manifest (``extra`` merged into its body) and
    renames the temporary directory to ``out``. Leaving the ``with`` block
    without ``commit`` (an exception) removes the temporary directory.
    """

    def __init__(self, out: str | os.PathLike, key: DataKey, label_names: list[str],
                 rows_per_shard: int = DEFAULT_ROWS_PER_SHARD) -> None:
        if rows_per_shard < 1:
            raise StoreError(f"rows_per_shard must be >= 1, got {rows_per_shard}")
        self.out = Path(out)
        if self.out.exists():
            raise StoreError(f"{self.out}: already exists; refusing to overwrite a store")
        if not self.out.parent.is_dir():
            raise StoreError(f"{self.out}: directory {self.out.parent} does not exist")
        self.key, self.label_names, self.rows_per_shard = key, list(label_names), rows_per_shard
        self.header = fmt.Header(secrets.token_hex(16), fmt.FORMAT_VERSION, 0, key.key_id)
        self.tmp = self.out.parent / f".{self.out.name}.tmp-{secrets.token_hex(4)}"
        (self.tmp / fmt.SHARD_DIR).mkdir(parents=True)
        self.shards: list[dict[str, Any]] = []
        self.label_counts = [0] * len(self.label_names)
        self._texts: list[str] = []
        self._labels: list[int] = []
        self._committed = False

    def __enter__(self) -> StoreWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if not self._committed:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def add(self, texts: list[str], labels: list[int]) -> None:
        for label in labels:
            if not 0 <= label < len(self.label_names):
                raise StoreError(f"label id {label} out of range for {len(self.label_names)} labels")
            self.label_counts[label] += 1
        self._texts.extend(texts)
        self._labels.extend(labels)
        while len(self._texts) >= self.rows_per_shard:
            self._flush(self.rows_per_shard)

    def _flush(self, n: int) -> None:
        texts, labels = self._texts[:n], self._labels[:n]
        del self._texts[:n], self._labels[:n]
        index = len(self.shards)
        name = fmt.shard_name(self.header.generation, index)
        blob = fmt.encode_shard(self.key, self.header, index, texts, labels)
        write_synced(self.tmp / name, blob)
        self.shards.append({"index": index, "file": name, "rows": len(texts), "bytes": len(blob),
                            "sha256": hashlib.sha256(blob).hexdigest()})

    def commit(self, extra: dict[str, Any] | None = None) -> Path:
        if self._texts:
            self._flush(len(self._texts))
        body = {**(extra or {}), **_core_body(self.header, self.shards, self.label_names, self.label_counts)}
        write_synced(self.tmp / fmt.MANIFEST_NAME, fmt.encode_manifest(self.key, self.header, body))
        fsync_dir(self.tmp / fmt.SHARD_DIR)
        fsync_dir(self.tmp)
        if self.out.exists():
            raise StoreError(f"{self.out}: appeared while writing; refusing to overwrite it")
        os.rename(self.tmp, self.out)
        fsync_dir(self.out.parent)
        self._committed = True
        return self.out


def _core_body(header: fmt.Header, shards: list[dict], label_names: list[str],
               label_counts: list[int]) -> dict[str, Any]:
    return {"dataset_id": header.dataset_id, "format_version": header.format_version,
            "generation": header.generation, "key_id": header.key_id, "schema": fmt.SCHEMA,
            "rows": sum(s["rows"] for s in shards), "shards": shards,
            "label_names": label_names, "label_counts": label_counts,
            "tool": {"name": "fedflm", "version": tool_version()},
            "written_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}


@dataclass(frozen=True)
class Manifest:
    """An authenticated manifest: its clear header and decrypted body."""

    path: Path
    header: fmt.Header
    body: dict[str, Any]

    @property
    def label_names(self) -> list[str]:
        return list(self.body["label_names"])


def read_manifest(store: str | os.PathLike, key: DataKey) -> Manifest:
    """Authenticate and decrypt ``STORE/manifest.fedflm``."""
    store = Path(store)
    if not store.is_dir():
        raise StoreError(f"{store}: store not found (no such directory)")
    path = store / fmt.MANIFEST_NAME
    if not path.is_file():
        raise StoreError(f"{store}: not a complete store (no {fmt.MANIFEST_NAME}; "
                         f"an interrupted prepare leaves none)")
    header, body = fmt.decode_manifest(key, path.read_bytes(), str(path))
    return Manifest(path, header, body)


def read_shard(manifest: Manifest, key: DataKey, entry: dict[str, Any]) -> tuple[list[str], list[int]]:
    """Read, check and decrypt one shard listed in ``manifest``."""
    path = manifest.path.parent / entry["file"]
    what = f"shard {entry['index']} ({path})"
    if not path.is_file():
        raise StoreError(f"{what}: missing")
    blob = path.read_bytes()
    if len(blob) != entry["bytes"]:
        raise DecryptionError(f"{what}: size {len(blob)} bytes, manifest says {entry['bytes']} "
                              f"(truncated or tampered)")
    if hashlib.sha256(blob).hexdigest() != entry["sha256"]:
        raise DecryptionError(f"{what}: checksum mismatch (tampered or swapped)")
    texts, labels = fmt.decode_shard(key, manifest.header, entry["index"], blob, what)
    if len(texts) != entry["rows"] or len(labels) != entry["rows"]:
        raise DecryptionError(f"{what}: holds {len(texts)} rows, manifest says {entry['rows']}")
    return texts, labels


def _iter_shards(manifest: Manifest, key: DataKey):
    for expected, entry in enumerate(manifest.body["shards"]):
        if entry["index"] != expected:
            raise DecryptionError(f"{manifest.path}: shard list out of order at {expected}")
        yield entry, read_shard(manifest, key, entry)


def open_store(store: str | os.PathLike, key: DataKey) -> Dataset:
    """Decrypt a whole store in memory into a ``Dataset`` (``text``, ``label``).

    The label names are in ``dataset.features["label"].names``. Nothing
    decrypted touches the disk. Raises ``DecryptionError`` / ``StoreError``
    naming the manifest or shard on any failure; nothing is returned then.
    """
    manifest = read_manifest(store, key)
    texts: list[str] = []
    labels: list[int] = []
    for _, (t, lab) in _iter_shards(manifest, key):
        texts.extend(t)
        labels.extend(lab)
    if len(texts) != manifest.body["rows"]:
        raise DecryptionError(f"{manifest.path}: {len(texts)} rows read, manifest says {manifest.body['rows']}")
    from datasets import ClassLabel, Dataset, Features, Value

    feats = Features({"text": Value("string"), "label": ClassLabel(names=manifest.label_names)})
    return Dataset.from_dict({"text": texts, "label": labels}, features=feats)


def store_label_names(dataset: Dataset) -> list[str]:
    """Label names of a dataset returned by :func:`open_store`."""
    return list(dataset.features["label"].names)


def verify_store(store: str | os.PathLike, key: DataKey) -> tuple[Manifest, list[dict[str, Any]]]:
    """Check every shard; returns the manifest and one status dict per shard.

    Unlike :func:`open_store` it does not stop at the first bad shard: each
    status is {"index", "file", "rows", "ok", "error"}.
    """
    manifest = read_manifest(store, key)
    status = []
    for entry in manifest.body["shards"]:
        try:
            read_shard(manifest, key, entry)
            error = None
        except StoreError as exc:
            error = str(exc)
        status.append({"index": entry["index"], "file": entry["file"], "rows": entry["rows"],
                       "ok": error is None, "error": error})
    return manifest, status


def rotate_key(store: str | os.PathLike, old: DataKey, new: DataKey) -> Manifest:
    """Re-encrypt every shard and the manifest under ``new``; atomic.

    New shards get new file names (next generation); replacing the manifest is
    the commit point, after which the old shards are deleted. An interruption
    before the commit leaves the store as it was (old key still works).
    """
    if old.key_id == new.key_id:
        raise KeyFileError("new key is the same as the old key")
    manifest = read_manifest(store, old)
    root = manifest.path.parent
    header = fmt.Header(manifest.header.dataset_id, fmt.FORMAT_VERSION,
                        manifest.header.generation + 1, new.key_id)
    shards = []
    for entry, (texts, labels) in _iter_shards(manifest, old):
        name = fmt.shard_name(header.generation, entry["index"])
        blob = fmt.encode_shard(new, header, entry["index"], texts, labels)
        write_synced(root / name, blob)
        shards.append({**entry, "file": name, "bytes": len(blob), "sha256": hashlib.sha256(blob).hexdigest()})
    body = {**manifest.body, "dataset_id": header.dataset_id, "format_version": header.format_version,
            "generation": header.generation, "key_id": header.key_id, "shards": shards,
            "rotated_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    fsync_dir(root / fmt.SHARD_DIR)
    write_atomic(manifest.path, fmt.encode_manifest(new, header, body))  # commit
    for entry in manifest.body["shards"]:
        (root / entry["file"]).unlink(missing_ok=True)
    return Manifest(manifest.path, header, body)
