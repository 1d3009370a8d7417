"""``fedflm report RUN_DIR``: write the self-contained HTML report of a run."""

from __future__ import annotations

import argparse
from pathlib import Path


def _run(args: argparse.Namespace) -> int:
    from fedflm.report.html import write_report  # matplotlib: imported only when a report is written

    page = write_report(Path(args.run_dir))
    print(f"report written: {page}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``report`` subcommand; its handler is stored as ``args.handler``."""
    parser = subparsers.add_parser(
        "report",
        help="write report.html (and PNG figures) for a run directory",
        description="Write RUN_DIR/report.html, a self-contained page (no network) with the "
        "config, per-client data, metrics per round, privacy spent, confusion matrix, "
        "bytes sent and warnings; the PNG figures are saved beside it.",
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", help="run directory written by `fedflm simulate`")
    parser.set_defaults(handler=_run)
