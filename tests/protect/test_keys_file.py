"""Data-owner keys: file creation, permissions, environment variable, key ids."""

from __future__ import annotations

import base64
import hashlib
import stat
from pathlib import Path

import pytest

from fedflm.protect.keys import (ENV_VAR, DataKey, LooseKeyPermissionsWarning, key_id, read_key_file,
                              resolve_key, write_key_file)
from fedflm.errors import KeyFileError


def test_keygen_writes_0600_file_and_reads_back(tmp_path: Path) -> None:
    # Execute
    key = write_key_file(tmp_path / "k")
    # Assert
    assert stat.S_IMODE((tmp_path / "k").stat().st_mode) == 0o600
    assert read_key_file(tmp_path / "k").secret == key.secret
    assert len(key.secret) == 32


def test_keygen_refuses_to_overwrite(tmp_path: Path) -> None:
    # Prepare
    first = write_key_file(tmp_path / "k")
    # Execute / Assert
    with pytest.raises(KeyFileError, match="already exists"):
        write_key_file(tmp_path / "k")
    assert read_key_file(tmp_path / "k").secret == first.secret


def test_key_id_golden_value() -> None:
    # Prepare: the documented derivation, computed independently
    secret = bytes(range(32))
    expected = hashlib.sha256(b"fedflm-key-id" + secret).hexdigest()[:16]
    # Execute / Assert
    assert key_id(secret) == expected == DataKey(secret).key_id
    assert expected == "22ea9995ae055857"


def test_repr_hides_secret() -> None:
    # Prepare
    key = DataKey(b"\x11" * 32)
    # Execute / Assert
    assert "11" * 8 not in repr(key) and "secret" not in repr(key)


def test_loose_permissions_warn(tmp_path: Path) -> None:
    # Prepare
    write_key_file(tmp_path / "k")
    (tmp_path / "k").chmod(0o644)
    # Execute / Assert
    with pytest.warns(LooseKeyPermissionsWarning, match="chmod 600"):
        read_key_file(tmp_path / "k")


@pytest.mark.parametrize("encode", [bytes.hex, lambda b: base64.b64encode(b).decode()])
def test_key_from_environment_hex_or_base64(monkeypatch: pytest.MonkeyPatch, encode) -> None:
    # Prepare
    secret = bytes(range(32, 64))
    monkeypatch.setenv(ENV_VAR, encode(secret))
    # Execute
    key = resolve_key(None)
    # Assert
    assert key.secret == secret and key.source == f"${ENV_VAR}"


def test_key_file_takes_precedence_over_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Prepare
    monkeypatch.setenv(ENV_VAR, (b"\x01" * 32).hex())
    written = write_key_file(tmp_path / "k")
    # Execute / Assert
    assert resolve_key(tmp_path / "k").secret == written.secret


@pytest.mark.parametrize("content,match", [("abc", "not a 256-bit key"), ("00" * 31, "not a 256-bit key"),
                                           ("zz" * 32, "not a 256-bit key")])
def test_malformed_keys_are_rejected(tmp_path: Path, content: str, match: str) -> None:
    # Prepare
    path = tmp_path / "k"
    path.write_text(content)
    path.chmod(0o600)
    # Execute / Assert
    with pytest.raises(KeyFileError, match=match):
        read_key_file(path)


def test_missing_key_everywhere(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Prepare
    monkeypatch.delenv(ENV_VAR, raising=False)
    # Execute / Assert
    with pytest.raises(KeyFileError, match="no key given"):
        resolve_key(None)
    with pytest.raises(KeyFileError, match="not found"):
        read_key_file(tmp_path / "absent")


def test_derived_subkeys_differ_by_purpose() -> None:
    # Prepare
    key = DataKey(b"\x07" * 32)
    # Execute / Assert
    assert key.derive(b"a") != key.derive(b"b") and key.derive(b"a") != key.secret
