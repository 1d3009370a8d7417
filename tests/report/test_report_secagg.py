"""issue 21: report.html's summary says whether a run used secure aggregation, with its threshold and clip,
read from the run's own config.toml."""

from __future__ import annotations

import tomllib
from pathlib import Path

from fedflm.config import RunConfig
from fedflm.fl.rundir import config_to_toml
from fedflm.report.html import _summary_section
from fedflm.report.rundir import RunData


def _run(tmp_path: Path, **flat) -> RunData:
    text = config_to_toml(RunConfig.from_flat({"clients": 5, "dp": "sample", **flat}))
    return RunData(run_dir=tmp_path, config_text=text, config=tomllib.loads(text), rounds=[{"round": 0}])


def test_a_secagg_run_says_so_with_its_threshold_and_clip(tmp_path: Path) -> None:
    # Execute
    html = _summary_section(_run(tmp_path, secagg=True, secagg_threshold=0.8, secagg_clip=16.0))

    # Assert
    assert "<td>secure aggregation</td>" in html
    assert "SecAgg+" in html and "threshold 0.8 " in html and "±16 " in html


def test_a_plain_run_says_the_server_saw_each_update(tmp_path: Path) -> None:
    # Execute
    plain = _summary_section(_run(tmp_path))
    no_config = _summary_section(RunData(run_dir=tmp_path, config_text="", config={}, rounds=[{"round": 0}]))

    # Assert: a run without config.toml has no line (nothing to state), never a claim either way
    assert "off: the server received each owner&#x27;s update" in plain and "SecAgg+" not in plain
    assert "secure aggregation" not in no_config
