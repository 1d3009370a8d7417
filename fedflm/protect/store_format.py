"""Byte formats of an encrypted store: the manifest file and the shard files.

Store layout (format version 1)::

    STORE/manifest.fedflm       magic line + header line + nonce + AES-GCM(manifest JSON)
    STORE/shards/g<gen>-<i>.bin nonce + AES-GCM(shard JSON)

* The header line (JSON: dataset id, format version, generation, key id) is in
  clear so a newer format or a wrong key can be named before decryption; the
  magic and header bytes are the manifest's associated data, so any change to
  them fails authentication.
* A shard's associated data is the canonical JSON of what the *manifest*
  expects: format version, dataset id, generation, shard index, schema and key
  id. A shard moved to another index, another store or another generation fails.
* AES-256-GCM with a fresh random 96-bit nonce per object. The encryption key is
  HKDF-SHA256(owner key, info=b"fedflm-store-aes-gcm"). Random nonces are safe
  for well under 2**32 objects per key; a store writes one per shard.

Every authentication failure raises :class:`DecryptionError` naming the object.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from fedflm.errors import DecryptionError, StoreError
from fedflm.protect.keys import DataKey

FORMAT_VERSION = 1
MAGIC = b"FEDFLM-STORE\n"
MANIFEST_NAME = "manifest.fedflm"
SHARD_DIR = "shards"
NONCE_BYTES = 12
TAG_BYTES = 16
SCHEMA = {"text": "string", "label": "int64"}
_ENC_INFO = b"fedflm-store-aes-gcm"


def canonical(obj: Any) -> bytes:
    """Canonical JSON bytes (sorted keys, no spaces, UTF-8)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _aead(key: DataKey) -> AESGCM:
    return AESGCM(key.derive(_ENC_INFO))


def seal(key: DataKey, plaintext: bytes, aad: bytes) -> bytes:
    """nonce || AES-GCM(plaintext) with a fresh random nonce."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + _aead(key).encrypt(nonce, plaintext, aad)


def unseal(key: DataKey, blob: bytes, aad: bytes, what: str) -> bytes:
    """Inverse of :func:`seal`; any failure is an opaque ``DecryptionError`` naming ``what``."""
    if len(blob) < NONCE_BYTES + TAG_BYTES:
        raise DecryptionError(f"{what}: truncated ({len(blob)} bytes)")
    try:
        return _aead(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
    except InvalidTag:
        raise DecryptionError(f"{what}: failed authentication (tampered, truncated or wrong key)") from None


@dataclass(frozen=True)
class Header:
    """The clear-text part of a manifest."""

    dataset_id: str
    format_version: int
    generation: int
    key_id: str

    def encode(self) -> bytes:
        return canonical({"dataset_id": self.dataset_id, "format_version": self.format_version,
                          "generation": self.generation, "key_id": self.key_id}) + b"\n"


def shard_name(generation: int, index: int) -> str:
    return f"{SHARD_DIR}/g{generation}-{index:05d}.bin"


def shard_aad(header: Header, index: int) -> bytes:
    return canonical({"object": "shard", "dataset_id": header.dataset_id,
                      "format_version": header.format_version, "generation": header.generation,
                      "index": index, "schema": SCHEMA, "key_id": header.key_id})


def encode_shard(key: DataKey, header: Header, index: int, texts: list[str], labels: list[int]) -> bytes:
    return seal(key, canonical({"text": texts, "label": labels}), shard_aad(header, index))


def decode_shard(key: DataKey, header: Header, index: int, blob: bytes, what: str) -> tuple[list[str], list[int]]:
    body = json.loads(unseal(key, blob, shard_aad(header, index), what))
    return body["text"], body["label"]


def encode_manifest(key: DataKey, header: Header, body: dict[str, Any]) -> bytes:
    head = MAGIC + header.encode()
    return head + seal(key, canonical(body), head)


def parse_header(data: bytes, where: str) -> tuple[Header, int]:
    """Parse magic + header line; returns the header and the offset of the sealed body."""
    if not data.startswith(MAGIC):
        raise StoreError(f"{where}: not a fedflm store manifest")
    end = data.find(b"\n", len(MAGIC))
    if end < 0:
        raise StoreError(f"{where}: manifest is truncated")
    try:
        raw = json.loads(data[len(MAGIC):end].decode("utf-8"))
        header = Header(str(raw["dataset_id"]), int(raw["format_version"]),
                        int(raw["generation"]), str(raw["key_id"]))
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise StoreError(f"{where}: manifest header is corrupt") from None
    if header.format_version > FORMAT_VERSION:
        raise StoreError(f"{where}: store format version {header.format_version} is newer than "
                         f"this fedflm supports ({FORMAT_VERSION}); upgrade fedflm")
    if header.format_version < 1:
        raise StoreError(f"{where}: unknown store format version {header.format_version}")
    return header, end + 1


def decode_manifest(key: DataKey, data: bytes, where: str) -> tuple[Header, dict[str, Any]]:
    """Authenticate and decrypt a manifest file's bytes."""
    header, offset = parse_header(data, where)
    if header.key_id != key.key_id:
        raise DecryptionError(f"{where}: wrong key (store is encrypted under key id {header.key_id}, "
                              f"the key given has id {key.key_id})")
    body = json.loads(unseal(key, data[offset:], data[:offset], f"{where}"))
    if (body.get("dataset_id"), body.get("generation"), body.get("key_id")) != \
            (header.dataset_id, header.generation, header.key_id):
        raise DecryptionError(f"{where}: manifest body does not match its header")
    return header, body
