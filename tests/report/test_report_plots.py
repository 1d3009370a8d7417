"""Tests for fedflm.report.plots: every figure is a real, non-blank PNG."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from fedflm.report import plots
from fedflm.report.rundir import load_run

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _assert_real_png(path: Path) -> None:
    assert path.read_bytes()[:8] == PNG_MAGIC
    pixels = imread(path)
    assert pixels.shape[0] > 100 and pixels.shape[1] > 100
    assert float(np.var(pixels[..., :3])) > 1e-4  # something was drawn, not a blank canvas


@pytest.mark.parametrize("name", ["global", "epsilon", "train_loss", "confusion", "bytes", "labels"])
def test_each_plot_writes_a_non_blank_png(make_run, tmp_path: Path, name: str) -> None:
    # Prepare: the DP run (epsilon), else the no-DP run (a DP client reports no train loss)
    run = load_run(make_run(dp=name == "epsilon"))
    target = tmp_path / "figs" / f"{name}.png"
    draw = {
        "global": lambda p: plots.plot_global_metrics(run.rounds, p),
        "epsilon": lambda p: plots.plot_epsilon(run.client_rounds, 3.0, p),
        "train_loss": lambda p: plots.plot_train_loss(run.client_rounds, p),
        "confusion": lambda p: plots.plot_confusion(run.summary["confusion_matrix"], run.label_names, p),
        "bytes": lambda p: plots.plot_bytes(run.rounds, p),
        "labels": lambda p: plots.plot_label_histograms(run.clients, p),
    }[name]

    # Execute
    written = draw(target)

    # Assert
    assert written == target
    _assert_real_png(target)


def test_many_labels_and_clients_still_plot(tmp_path: Path) -> None:
    # Prepare: Banking77-like shape, 77 labels, 30 clients (heatmap and no-legend paths), in the
    # row formats the server writes (client_metrics.jsonl rows, clients.json, a confusion matrix)
    rng = np.random.default_rng(0)
    names = [f"intent_{i}" for i in range(77)]
    client_rounds = [{"round": r, "partition_id": c, "train_loss": 1.0 / r, "num_examples": 40,
                      "status": "ok", "epsilon": 0.8 * r + 0.01 * c} for r in (1, 2, 3) for c in range(30)]
    clients = {"label_names": names, "clients": [
        {"partition_id": c, "num_examples": 40, "label_counts": rng.integers(0, 5, size=77).tolist()}
        for c in range(30)]}
    matrix = (rng.integers(0, 3, size=(77, 77)) + 10 * np.eye(77, dtype=int)).tolist()

    # Execute
    confusion = plots.plot_confusion(matrix, names, tmp_path / "c.png")
    labels = plots.plot_label_histograms(clients, tmp_path / "l.png")
    eps = plots.plot_epsilon(client_rounds, None, tmp_path / "e.png")

    # Assert
    for path in (confusion, labels, eps):
        _assert_real_png(path)


def test_epsilon_budget_line_is_drawn_in_red(make_run, tmp_path: Path) -> None:
    # Prepare: budget far above every client's epsilon, so the red line is unmistakable
    run = load_run(make_run(dp=True))

    # Execute
    with_line = imread(plots.plot_epsilon(run.client_rounds, 50.0, tmp_path / "with.png"))
    without = imread(plots.plot_epsilon(run.client_rounds, None, tmp_path / "without.png"))

    # Assert: pure-ish red pixels appear only with the budget line
    def red(img: np.ndarray) -> int:
        return int(((img[..., 0] > 0.9) & (img[..., 1] < 0.2) & (img[..., 2] < 0.2)).sum())

    assert red(with_line) > 100
    assert red(without) == 0


def test_missing_values_become_gaps_not_errors(tmp_path: Path) -> None:
    # Prepare: round 0 has no train loss; one round lacks bytes
    rounds = [{"round": 0, "accuracy": 0.5, "macro_f1": 0.4, "loss": 0.7, "train_loss": None},
              {"round": 1, "accuracy": 0.7, "macro_f1": 0.6, "loss": 0.5, "train_loss": 0.6, "bytes_up": 10}]

    # Execute
    paths = [plots.plot_global_metrics(rounds, tmp_path / "g.png"), plots.plot_bytes(rounds, tmp_path / "b.png")]

    # Assert
    for path in paths:
        _assert_real_png(path)
    json.dumps(rounds)  # inputs untouched and still serialisable


def test_client_rows_without_partition_or_value_are_skipped(tmp_path: Path) -> None:
    # Prepare: a refused round carries no loss or epsilon; a failed one not even its partition id
    rows = [{"round": 1, "partition_id": 0, "train_loss": 0.6, "epsilon": 1.0, "status": "ok"},
            {"round": 2, "partition_id": 0, "status": "refused"},
            {"round": 2, "status": "failed"}]

    # Execute
    paths = [plots.plot_train_loss(rows, tmp_path / "t.png"), plots.plot_epsilon(rows, 2.0, tmp_path / "e.png")]

    # Assert
    for path in paths:
        _assert_real_png(path)
