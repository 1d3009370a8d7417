"""The checks every ``fedflm export`` makes before writing: the run directory is a finished run, and the
output directory is new or empty (so that nothing of another export is mixed in or overwritten)."""

from __future__ import annotations

from pathlib import Path

from fedflm.errors import ExportError

__all__ = ["check_finished", "prepare_out"]


def check_finished(run_dir: Path) -> None:
    """``run_dir`` exists and its run finished (no ``INCOMPLETE`` marker)."""
    if not run_dir.is_dir():
        raise ExportError(f"{run_dir}: run directory not found")
    if (run_dir / "INCOMPLETE").exists():
        raise ExportError(f"{run_dir}: the run did not finish (INCOMPLETE marker); nothing to export")


def prepare_out(out: Path) -> None:
    """Create ``out``; refuse one that exists with anything in it."""
    if out.exists() and any(out.iterdir()):
        raise ExportError(f"{out}: exists and is not empty; choose another --out")
    out.mkdir(parents=True, exist_ok=True)
