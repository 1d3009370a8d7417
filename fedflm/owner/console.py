"""The owner's console: what its node decided each round, and why.

Flower starts a fresh ClientApp process for every message, whose output ends
up in the SuperNode's log. So the ClientApp appends one line per decision to
``STATE_DIR/OWNER/console.log`` (:func:`announce`), and ``fedflm client
start`` prints new lines as they come (:class:`ConsoleTail`). Lines carry
numbers and identifiers only: never data.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime, timezone
from pathlib import Path

__all__ = ["CONSOLE_NAME", "ConsoleTail", "announce"]

CONSOLE_NAME = "console.log"
log = logging.getLogger("fedflm.owner")


def announce(owner_dir: Path, text: str) -> None:
    """Append ``text`` (one or more lines) to the owner's console log and the process log."""
    log.warning("%s", text)
    owner_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%H:%M:%S")
    lines = "".join(f"[{stamp}] {line}\n" for line in text.splitlines())
    fd = os.open(owner_dir / CONSOLE_NAME, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a") as fh:
        fh.write(lines)


class ConsoleTail:
    """Reads the lines appended to a console log since the last call."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = path.stat().st_size if path.exists() else 0

    def new_lines(self) -> list[str]:
        if not self.path.exists():
            return []
        with open(self.path, "rb") as fh:
            fh.seek(self.offset)
            data = fh.read()
        end = data.rfind(b"\n") + 1  # a line still being written waits for the next call
        self.offset += end
        return data[:end].decode(errors="replace").splitlines()
