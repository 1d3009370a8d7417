"""The end of a deployed run: summary.json gains the one-class-predictions
warning the report states, once; a healthy model adds none."""

from __future__ import annotations

import json

from fedflm.deploy.finish import finish_run


def _summary(run, confusion):
    run.mkdir()
    (run / "summary.json").write_text(json.dumps({"status": "complete", "warnings": ["w0"],
                                                  "confusion_matrix": confusion,
                                                  "label_names": ["negative", "positive"]}))


def test_collapsed_predictions_are_warned_in_summary_once(tmp_path):
    # Prepare: 'positive' predicted for 96 % of a balanced evaluation set
    run = tmp_path / "run"
    _summary(run, [[2, 48], [2, 48]])

    # Execute: twice (a resumed run finishes again)
    finish_run(run)
    finish_run(run)

    # Assert
    warnings = json.loads((run / "summary.json").read_text())["warnings"]
    assert warnings[0] == "w0" and len(warnings) == 2
    assert warnings[1].startswith("PREDICTIONS COLLAPSED") and "'positive' for 96%" in warnings[1]


def test_a_healthy_model_adds_no_warning(tmp_path):
    run = tmp_path / "run"
    _summary(run, [[40, 10], [8, 42]])
    finish_run(run)
    assert json.loads((run / "summary.json").read_text())["warnings"] == ["w0"]
