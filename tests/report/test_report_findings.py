"""Tests for fedflm.report.findings: budget line and warnings."""

from __future__ import annotations

from pathlib import Path

from fedflm.report.findings import INSECURE_TRANSPORT_WARNING, NO_DP_WARNING, collapse_warning, collect_warnings, epsilon_budget
from fedflm.report.rundir import RunData


def _run(config: dict, *, ledgers: dict | None = None, eps: float | None = None) -> RunData:
    rounds = [{"round": 0}, {"round": 1, "epsilon_max": eps}]
    summary = {"status": "complete", "warnings": []}
    return RunData(run_dir=Path("r"), config_text="x", config=config, rounds=rounds,
                   summary=summary, ledgers=ledgers or {})


def test_budget_prefers_the_ledger_cap_over_the_config() -> None:
    # Prepare: the keys RunConfig writes ([privacy] epsilon = target, max_epsilon = cap, "" = None)
    ledgers = {"owner-0": [{"epsilon": 1.0, "epsilon_cap": 8.0}]}
    config = {"privacy": {"dp": "sample", "epsilon": 3.0, "max_epsilon": 5.0}}
    no_cap = {"privacy": {"dp": "sample", "epsilon": 3.0, "max_epsilon": ""}}
    fixed_sigma = {"privacy": {"dp": "sample", "epsilon": "", "max_epsilon": "", "noise_multiplier": 1.0}}

    # Execute / Assert
    assert epsilon_budget(_run(config, ledgers=ledgers)) == 8.0
    assert epsilon_budget(_run(config, eps=1.0)) == 5.0
    assert epsilon_budget(_run(no_cap, eps=1.0)) == 3.0
    assert epsilon_budget(_run(fixed_sigma, eps=1.0)) is None


def test_no_dp_is_warned_first_and_dp_is_not() -> None:
    # Execute
    plain = collect_warnings(_run({}))
    private = collect_warnings(_run({}, eps=2.0))

    # Assert
    assert plain[0] == NO_DP_WARNING
    assert private == []


def test_deid_off_is_warned_only_for_a_users_file_without_prepare() -> None:
    # Prepare
    raw_file = _run({"data": {"dataset": "notes.csv", "prepare": False}}, eps=1.0)
    prepared = _run({"data": {"dataset": "notes.csv", "prepare": True}}, eps=1.0)
    builtin = _run({"data": {"dataset": "banking77", "prepare": False}}, eps=1.0)

    # Execute / Assert
    (warning,) = collect_warnings(raw_file)
    assert warning.startswith("DE-IDENTIFICATION OFF: data.prepare = false") and "'notes.csv'" in warning
    assert collect_warnings(prepared) == [] and collect_warnings(builtin) == []


def test_insecure_transport_recorded_by_the_server_is_warned() -> None:
    # Prepare: summary.json["transport"] as server/app.py writes it
    runs = {t: _run({}, eps=1.0) for t in ("insecure", "tls", "simulation")}
    for transport, run in runs.items():
        run.summary["transport"] = transport

    # Execute / Assert
    assert collect_warnings(runs["insecure"]) == [INSECURE_TRANSPORT_WARNING]
    assert collect_warnings(runs["tls"]) == collect_warnings(runs["simulation"]) == []


def test_incomplete_status_is_warned() -> None:
    # Prepare
    run = RunData(run_dir=Path("r"), config_text="", config={}, rounds=[{"round": 0, "epsilon_max": 0.0}],
                  summary={"status": "failed"})

    # Execute / Assert
    assert any("RUN NOT COMPLETE: status is 'failed'" in w for w in collect_warnings(run))


def test_dp_target_epsilon_is_the_budget_when_no_cap_is_set() -> None:
    # Prepare: the foundation's config layout, [privacy] epsilon = target
    config = {"privacy": {"dp": "sample", "epsilon": 3.0, "max_epsilon": None}}

    # Execute / Assert
    assert epsilon_budget(_run(config, eps=1.0)) == 3.0
    assert epsilon_budget(_run(config)) is None  # no epsilon recorded: not a DP run


def test_the_servers_no_dp_warning_is_not_repeated() -> None:
    # Prepare: the server's own wording of the same warning, plus an unrelated one
    run = RunData(run_dir=Path("r"), config_text="", config={}, rounds=[{"round": 0}],
                  summary={"status": "complete", "warnings": [
                      "no differential privacy (--dp none): this run has NO formal privacy guarantee",
                      "secure_mode off"]})

    # Execute
    warnings = collect_warnings(run)

    # Assert
    assert warnings == [NO_DP_WARNING, "secure_mode off"]


def test_a_model_predicting_one_class_for_nearly_everything_is_warned() -> None:
    # Prepare: sst2-fed-dp-eps8 at lr 0.003 (seed 0): 'positive' for 840 of 872 dev sentences
    run = _run({}, eps=8.0)
    run.summary.update(confusion_matrix=[[28, 400], [4, 440]], label_names=["negative", "positive"])

    # Execute
    warnings = collect_warnings(run)

    # Assert
    assert len(warnings) == 1
    assert warnings[0].startswith("PREDICTIONS COLLAPSED: the final model predicts 'positive' for 96% ")
    assert "true share is 51%" in warnings[0]


def test_skewed_but_correct_predictions_are_not_called_a_collapse() -> None:
    # Prepare: 92 % predicted 'a' because 90 % truly are 'a'; and a healthy balanced model
    skewed = [[88, 2], [4, 6]]
    balanced = [[400, 28], [60, 384]]

    # Execute / Assert
    assert collapse_warning(skewed, ["a", "b"]) is None
    assert collapse_warning(balanced, ["negative", "positive"]) is None
    assert collapse_warning(None, []) is None and collapse_warning([[0, 0], [0, 0]], []) is None


def test_collapse_onto_one_of_many_classes_names_it() -> None:
    # Prepare: 4 classes of 25 each, 95 of 100 predicted as class 2
    confusion = [[0, 0, 25, 0], [1, 0, 24, 0], [0, 0, 25, 0], [0, 1, 21, 3]]

    # Execute
    warning = collapse_warning(confusion, ["w", "x", "y", "z"])

    # Assert
    assert warning is not None and "predicts 'y' for 95%" in warning and "true share is 25%" in warning
