"""Read a data owner's key file and derive the ledger MAC key, independently.

The audit does not import the training side (``fedflm.privacy``) nor trust
its helpers: this module re-implements the two small rules it needs from the
ledger format.

* A key file holds a 256-bit key as 32 raw bytes, or as text: 64 hex
  characters or 44 base64 characters (surrounding whitespace ignored).
* The MAC key is HKDF-SHA256(owner key, salt=None, info=b"fedflm-ledger-mac",
  length=32); the MAC is HMAC-SHA256 over the canonical JSON of the entry
  without its "mac" field.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from fedflm.errors import KeyFileError

KEY_BYTES = 32
MAC_INFO = b"fedflm-ledger-mac"


def parse_key_bytes(data: bytes, source: str) -> bytes:
    """The 32-byte key encoded in ``data`` (raw, hex text or base64 text).

    Exactly 32 bytes are taken as the raw key: no text encoding of a 256-bit
    key is that short (hex needs 64 characters, base64 43-44).
    """
    if len(data) == KEY_BYTES:
        return data
    try:
        text = data.decode("ascii").strip()
    except UnicodeDecodeError:
        raise KeyFileError(f"{source}: not a 256-bit key (expected 32 raw bytes, 64 hex or "
                           f"44 base64 characters, got {len(data)} bytes of binary)") from None
    key = _decode_text(text)
    if key is None:
        raise KeyFileError(f"{source}: not a 256-bit key (expected 32 raw bytes, 64 hex or "
                           f"44 base64 characters, got {len(text)} characters)")
    return key


def _decode_text(text: str) -> bytes | None:
    if len(text) == 2 * KEY_BYTES:
        try:
            return bytes.fromhex(text)
        except ValueError:
            pass
    try:
        raw = base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == KEY_BYTES else None


def read_owner_key(path: str | Path) -> bytes:
    """Load the owner key in ``path``; raises :class:`KeyFileError` naming the file."""
    path = Path(path)
    if not path.is_file():
        raise KeyFileError(f"{path}: key file not found")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read key file ({exc.strerror})") from None
    return parse_key_bytes(data, str(path))


def derive_mac_key(owner_key: bytes) -> bytes:
    """HKDF-SHA256(owner_key, info=b"fedflm-ledger-mac") -> 32-byte MAC key."""
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=MAC_INFO).derive(owner_key)


def canonical_json(entry: dict[str, Any]) -> str:
    """The ledger's canonical serialization (sorted keys, no spaces)."""
    return json.dumps(entry, sort_keys=True, separators=(",", ":"))


def entry_mac(entry: dict[str, Any], mac_key: bytes) -> str:
    """Hex HMAC-SHA256 of ``entry`` without its "mac" field."""
    body = {k: v for k, v in entry.items() if k != "mac"}
    return hmac.new(mac_key, canonical_json(body).encode("utf-8"), hashlib.sha256).hexdigest()
