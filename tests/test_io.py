"""fedflm.io: atomic replace, fsync before rename, 0600 secret files."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from fedflm.io import create_private, write_atomic, write_json_atomic


def test_atomic_write_replaces_and_leaves_no_temp_file(tmp_path: Path) -> None:
    # Prepare
    target = tmp_path / "summary.json"
    target.write_text("old")

    # Execute
    write_json_atomic(target, {"accuracy": 0.5})

    # Assert
    assert target.read_text() == '{\n  "accuracy": 0.5\n}'
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_a_failed_rename_keeps_the_old_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Prepare
    target = tmp_path / "report.html"
    target.write_text("old")

    def power_cut(*_a: object) -> None:
        raise OSError("power cut")

    monkeypatch.setattr(os, "replace", power_cut)

    # Execute / Assert
    with pytest.raises(OSError, match="power cut"):
        write_atomic(target, "new")
    monkeypatch.undo()
    assert target.read_text() == "old"


def test_the_data_is_fsynced_before_the_rename(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Prepare: record the order of fsync and rename
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append("replace"), real_replace(a, b))[1])

    # Execute
    write_atomic(tmp_path / "f", b"x")

    # Assert: file fsync, rename, directory fsync
    assert events == ["fsync", "replace", "fsync"]


def test_private_files_are_0600_whatever_the_umask(tmp_path: Path) -> None:
    # Prepare
    old_umask = os.umask(0)
    try:
        # Execute
        write_atomic(tmp_path / "checkpoint", b"secret", private=True)
        create_private(tmp_path / "owner.key", b"k")
        write_atomic(tmp_path / "public", b"p")
    finally:
        os.umask(old_umask)

    # Assert
    mode = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
    assert mode == {"checkpoint": 0o600, "owner.key": 0o600, "public": 0o666}


def test_create_private_never_overwrites(tmp_path: Path) -> None:
    # Prepare
    create_private(tmp_path / "owner.key", b"first")

    # Execute / Assert
    with pytest.raises(FileExistsError):
        create_private(tmp_path / "owner.key", b"second")
    assert (tmp_path / "owner.key").read_bytes() == b"first"
