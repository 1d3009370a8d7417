"""issue 21: the report's robust-aggregation section reads metrics.jsonl's per-round records."""

from __future__ import annotations

from pathlib import Path

from fedflm.report.html import _robust_section
from fedflm.report.rundir import RunData


def test_clipped_and_rejected_clients_are_listed_per_round(tmp_path: Path) -> None:
    # Prepare: round 0 (initial model) has no record; rounds 1 and 2 do
    rounds = [{"round": 0}, {"round": 1, "robust": {"rule": "krum:1", "clipped": [], "rejected": [3, 7]}},
              {"round": 2, "robust": {"rule": "krum:1", "clipped": [], "rejected": [7]}}]
    run = RunData(run_dir=tmp_path, config_text="", config={}, rounds=rounds)

    # Execute
    html = _robust_section(run)
    without = _robust_section(RunData(run_dir=tmp_path, config_text="", config={}, rounds=[{"round": 1}]))

    # Assert
    assert "<td>1</td><td>krum:1</td><td>-</td><td>3, 7</td>" in html
    assert "<td>2</td><td>krum:1</td><td>-</td><td>7</td>" in html
    assert "No robust rule in this run" in without
