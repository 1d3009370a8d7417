"""Run directories for report tests: copies of real runs that ``fedflm.simulate`` wrote.

The two runs (``sim_run_dp``: DP-SGD on built-in SST-2 with ``--prepare``;
``sim_run_nodp``: no DP on a user's CSV simulated without ``--prepare``) are
produced once per test session (tests/conftest.py); each test gets its own copy, which it
may alter the way a real run can end up (a file missing after a crash, a
refused client round).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

RunFactory = Callable[..., Path]


@pytest.fixture
def make_run(tmp_path: Path, request: pytest.FixtureRequest) -> RunFactory:
    """Factory fixture: ``make_run(dp=True|False)`` -> a fresh copy of a real run directory."""

    def copy(dp: bool = True) -> Path:
        source = request.getfixturevalue("sim_run_dp" if dp else "sim_run_nodp").run_dir
        target = tmp_path / ("run_dp" if dp else "run_nodp")
        shutil.copytree(source, target)
        for stale in target.glob("report*"):  # the copy's report is rebuilt by the test
            stale.unlink()
        return target

    return copy
