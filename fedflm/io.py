"""Durable file writes, in one place.

* :func:`write_atomic` -- replace a file so that a crash leaves either the old
  or the new content, never a mix: a temporary file beside the target, written
  and ``fsync``'d, renamed over the target, then the directory ``fsync``'d.
  ``private=True`` creates it with mode 0600 (checkpoints, anything secret).
* :func:`create_private` -- create a new 0600 file (keys); refuses to overwrite.
* :func:`write_synced` / :func:`fsync_dir` -- the two steps, for writers that
  commit a whole directory at once (the encrypted store).
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

__all__ = ["create_private", "fsync_dir", "write_atomic", "write_json_atomic", "write_synced"]

PRIVATE_MODE = 0o600


def fsync_dir(path: str | os.PathLike) -> None:
    """Make a directory's entries (a rename, a new file) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_fd(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    os.fsync(fd)


def write_synced(path: str | os.PathLike, data: bytes) -> None:
    """Create or truncate ``path`` with ``data`` and ``fsync`` it (no rename)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        _write_fd(fd, data)
    finally:
        os.close(fd)


def write_atomic(path: str | os.PathLike, data: bytes | str, *, private: bool = False) -> Path:
    """Atomically replace ``path`` with ``data`` (str is written as UTF-8); returns ``path``."""
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    tmp = path.with_name(f".{path.name}.tmp-{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_MODE if private else 0o666)
    try:
        if private:
            os.fchmod(fd, PRIVATE_MODE)  # never wider than 0600, whatever the umask
        _write_fd(fd, payload)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(tmp, path)
    fsync_dir(path.parent)
    return path


def write_json_atomic(path: str | os.PathLike, obj: Any) -> Path:
    """:func:`write_atomic` of ``obj`` as indented JSON (numpy scalars as floats)."""
    return write_atomic(path, json.dumps(obj, indent=2, default=float))


def create_private(path: str | os.PathLike, data: bytes) -> None:
    """Create ``path`` with mode 0600 holding ``data``, ``fsync``'d.

    Raises ``FileExistsError`` if it exists (a key is never overwritten) and
    ``OSError`` if it cannot be created; callers turn these into their own errors.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_MODE)
    try:
        os.fchmod(fd, PRIVATE_MODE)
        _write_fd(fd, data)
    finally:
        os.close(fd)
    fsync_dir(Path(path).parent)
