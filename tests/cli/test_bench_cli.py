"""`fedflm bench` flags: where the simulated clients run is checked before any recipe is read or run."""

from __future__ import annotations

from pathlib import Path

import pytest

from fedflm.cli.main import main


@pytest.mark.parametrize(("flag", "value", "message"), [
    ("--client-cpus", "0", "client_cpus must be > 0, got 0.0"),
    ("--client-gpus", "1.5", "client_gpus above 1 must be a whole number of GPUs, got 1.5"),
])
def test_bad_resource_flag_is_one_error_line_before_anything_runs(tmp_path: Path, capsys, flag: str, value: str,
                                                                   message: str) -> None:
    # Prepare: a recipe that does not exist: the flag's error must come first
    runs, results = tmp_path / "runs", tmp_path / "results"

    # Execute
    code = main(["bench", "no-such-recipe", "--runs-dir", str(runs), "--results", str(results), flag, value])

    # Assert: exit 2, the one line names the bad value, nothing was written
    assert code == 2
    assert capsys.readouterr().err.splitlines() == [f"fedflm: error: {message}"]
    assert not runs.exists() and not results.exists()
