"""Reading JSON and JSON Lines files, errors naming file and line.

Shared by the data-owner pipeline (``fedflm data prepare`` on ``.jsonl``
input), the run-directory readers (``metrics.jsonl``, ``summary.json``, ...)
and the results tables (result rows, benchmark records).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from fedflm.errors import DataError


def iter_json_objects(lines: Iterable[str], source: Path | str) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, object)`` for each non-blank line of ``lines``.

    A line that is not valid JSON, or holds anything but a JSON object, raises
    :class:`~fedflm.errors.DataError` naming ``source`` and the 1-based line.
    """
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{source}: line {number}: not valid JSON ({exc.msg})") from None
        if not isinstance(value, dict):
            raise DataError(f"{source}: line {number}: expected a JSON object, got {type(value).__name__}")
        yield number, value


def read_text_file(path: str | Path) -> tuple[Path, str]:
    """``path`` and its UTF-8 text; a missing file or one that is not UTF-8 is one DataError naming it."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        return path, path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text (byte {exc.start})") from None


def read_json(path: Path) -> Any:
    """The JSON value of the UTF-8 file ``path``; invalid JSON is a DataError naming file and line."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """All objects of the UTF-8 JSONL file ``path``, in file order."""
    with path.open(encoding="utf-8") as handle:
        return [obj for _, obj in iter_json_objects(handle, path)]
