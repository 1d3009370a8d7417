"""Data-owner keys: 256-bit secrets in 0600 files or an environment variable.

A key file holds one line: the key as 64 hex characters. The environment
variable ``FEDFLM_DATA_KEY`` may carry the same key as hex (64 characters) or
base64 (44 characters). Every key has a *key id*, a non-secret fingerprint
(first 16 hex characters of SHA-256(b"fedflm-key-id" + key)) that stores record
so that a wrong key is named as such.

Purpose-specific keys are derived with HKDF-SHA256 (``derive``), so the store's
encryption key and the ledger's MAC key never coincide.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
import stat
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from fedflm.errors import KeyFileError
from fedflm.io import create_private

KEY_BYTES = 32
ENV_VAR = "FEDFLM_DATA_KEY"


class LooseKeyPermissionsWarning(UserWarning):
    """A key file is readable or writable by users other than its owner."""


@dataclass(frozen=True)
class DataKey:
    """A 256-bit data-owner key; ``repr`` never shows the secret."""

    secret: bytes = field(repr=False)
    source: str = "memory"

    def __post_init__(self) -> None:
        if not isinstance(self.secret, bytes) or len(self.secret) != KEY_BYTES:
            got = len(self.secret) if isinstance(self.secret, (bytes, bytearray)) else type(self.secret).__name__
            raise KeyFileError(f"key from {self.source} must be {KEY_BYTES} bytes, got {got}")

    @property
    def key_id(self) -> str:
        """Non-secret fingerprint recorded in everything this key encrypts."""
        return key_id(self.secret)

    def derive(self, purpose: bytes) -> bytes:
        """A 256-bit sub-key for ``purpose`` (HKDF-SHA256, no salt, info=purpose)."""
        return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=purpose).derive(self.secret)


def key_id(secret: bytes) -> str:
    """First 16 hex characters of SHA-256(b"fedflm-key-id" + key)."""
    return hashlib.sha256(b"fedflm-key-id" + secret).hexdigest()[:16]


def generate_key() -> DataKey:
    """A fresh key from the operating system's CSPRNG."""
    return DataKey(secrets.token_bytes(KEY_BYTES), source="generated")


def write_key_file(path: str | os.PathLike, key: DataKey | None = None) -> DataKey:
    """Create ``path`` with mode 0600 holding ``key`` (a fresh one by default).

    Refuses to overwrite an existing file: losing a key loses the data.
    """
    path = Path(path)
    key = key or generate_key()
    if not path.parent.is_dir():
        raise KeyFileError(f"{path}: directory {path.parent} does not exist")
    try:
        create_private(path, (key.secret.hex() + "\n").encode("ascii"))
    except FileExistsError:
        raise KeyFileError(f"{path}: already exists; refusing to overwrite a key "
                           f"(delete it yourself if you really mean to)") from None
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot create key file: {exc.strerror}") from None
    return DataKey(key.secret, source=str(path))


def _parse_secret(text: str, source: str) -> bytes:
    text = text.strip()
    if len(text) == 2 * KEY_BYTES:
        try:
            return bytes.fromhex(text)
        except ValueError:
            pass
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) == KEY_BYTES:
        return raw
    raise KeyFileError(f"{source}: not a 256-bit key (expected 64 hex or 44 base64 characters, "
                       f"got {len(text)} characters)")


def check_permissions(path: Path) -> None:
    """Warn (``LooseKeyPermissionsWarning``) when group/others may access ``path``."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        warnings.warn(f"{path}: key file permissions are {mode:04o}; anyone in the group or "
                      f"others may read it — run: chmod 600 {path}",
                      LooseKeyPermissionsWarning, stacklevel=2)


def read_key_file(path: str | os.PathLike) -> DataKey:
    """Load a key file; warns if its permissions are looser than 0600."""
    path = Path(path)
    if not path.exists():
        raise KeyFileError(f"{path}: key file not found")
    if not path.is_file():
        raise KeyFileError(f"{path}: not a regular file")
    check_permissions(path)
    try:
        text = path.read_text(encoding="ascii")
    except (UnicodeDecodeError, OSError) as exc:
        raise KeyFileError(f"{path}: cannot read key file ({type(exc).__name__})") from None
    return DataKey(_parse_secret(text, str(path)), source=str(path))


def key_from_env(var: str = ENV_VAR) -> DataKey | None:
    """The key in environment variable ``var`` (hex or base64), or None if unset."""
    value = os.environ.get(var)
    if not value:
        return None
    return DataKey(_parse_secret(value, f"environment variable {var}"), source=f"${var}")


def resolve_key(key_file: str | os.PathLike | None, var: str = ENV_VAR) -> DataKey:
    """The key from ``key_file`` if given, else from ``$FEDFLM_DATA_KEY``."""
    if key_file is not None:
        return read_key_file(key_file)
    key = key_from_env(var)
    if key is None:
        raise KeyFileError(f"no key given: pass --key-file KEYFILE or set {var}")
    return key
