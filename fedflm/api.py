"""``fedflm.simulate``: the Python entry point (notebooks, scripts), as the CLI runs it.

The federation itself runs in :mod:`fedflm.fl.simulation`, which knows nothing
of reports; this façade adds the run's HTML report afterwards, as
``fedflm simulate`` does.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any, Callable

from fedflm.config import RunConfig
from fedflm.data.partition import PartitionStats
from fedflm.fl.resources import SimResources
from fedflm.fl.simulation import SimulationResult, run_simulation

__all__ = ["simulate"]


def simulate(cfg: RunConfig | dict[str, Any],
             on_prepared: Callable[[list[PartitionStats], tuple[str, ...]], None] | None = None,
             resources: SimResources = SimResources()) -> SimulationResult:
    """Run a whole simulated federation; returns its metrics, run directory and report.

    ``cfg`` is a :class:`RunConfig` or a flat dict of the CLI's keys, e.g.
    ``fedflm.simulate({"dataset": "sst2", "clients": 10, "rounds": 3})``. ``resources``: the Ray
    cluster and each client's CPUs/GPU share (:class:`fedflm.fl.resources.SimResources`).
    """
    result = run_simulation(cfg, on_prepared, resources)
    return dataclasses.replace(result, report=write_run_report(result.run_dir))


def write_run_report(run_dir: Path) -> Path | None:
    """The HTML run report; a failure to draw it never fails a finished run."""
    try:
        from fedflm.report.html import write_report
        return write_report(run_dir)
    except Exception as exc:  # the report is a convenience; the run directory is the record
        logging.getLogger("fedflm").warning("run report not written: %s", exc)
        return None
