"""The end of a deployed run: the same warnings in ``summary.json`` as the run
report states (fedflm/report/findings.py), and ``report.html`` beside it.

Runs in ``fedflm server start`` after the ServerApp finished (complete or
incomplete), on the run directory the ServerApp wrote. A report that cannot be
drawn never fails a finished run: the run directory is the record.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from fedflm.fl.rundir import write_json_atomic
from fedflm.report.findings import collapse_warning

__all__ = ["finish_run"]

log = logging.getLogger("fedflm.deploy")


def finish_run(run_dir: Path) -> Path | None:
    """Add derived warnings (one-class predictions) to ``summary.json``; write ``report.html``.
    Returns the report's path, or None when there is no summary or the report failed."""
    path = Path(run_dir) / "summary.json"
    if not path.is_file():
        return None
    summary = json.loads(path.read_text())
    warnings = list(summary.get("warnings") or [])
    collapsed = collapse_warning(summary.get("confusion_matrix"), list(summary.get("label_names") or []))
    if collapsed and collapsed not in warnings:
        summary["warnings"] = warnings + [collapsed]
        write_json_atomic(path, summary)
    try:
        from fedflm.report.html import write_report  # matplotlib: only when a report is drawn
        return write_report(Path(run_dir))
    except Exception as exc:  # noqa: BLE001 - the report is a convenience
        log.warning("run report not written: %s", exc)
        return None
