"""Reports of runs with 1,000 owners: distributions over clients instead of one row or mark each."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import numpy as np
import pytest

from fedflm.report import plots_many
from fedflm.report.html import write_report
from tests.report.test_report_plots import _assert_real_png

N, ROUNDS, SAMPLED, EPS_PER_ROUND = 1000, 5, 20, 0.3


def _many_client_run(root: Path) -> Path:
    """A DP run directory as the server writes it: 1,000 owners, 20 sampled per round, each
    trained round adding 0.3 to the owner's epsilon."""
    rng = random.Random(0)
    run = root / "run"
    run.mkdir()
    spent: dict[int, float] = {}
    client_rows, rounds = [], [{"round": 0, "accuracy": 0.5, "loss": 0.69, "elapsed_s": 1.0}]
    for r in range(1, ROUNDS + 1):
        for pid in rng.sample(range(N), SAMPLED):
            spent[pid] = spent.get(pid, 0.0) + EPS_PER_ROUND
            client_rows.append({"round": r, "partition_id": pid, "status": "ok", "epsilon": spent[pid]})
        rounds.append({"round": r, "accuracy": 0.6, "loss": 0.6, "clients_ok": SAMPLED, "clients_failed": 0,
                       "epsilon_max": max(spent.values()), "elapsed_s": 1.0 + r})
    (run / "metrics.jsonl").write_text("".join(json.dumps(x) + "\n" for x in rounds))
    (run / "client_metrics.jsonl").write_text("".join(json.dumps(x) + "\n" for x in client_rows))
    (run / "clients.json").write_text(json.dumps({"label_names": ["negative", "positive"], "clients": [
        {"partition_id": i, "num_examples": 8 + i % 5, "label_counts": [i % 9, 8 + i % 5 - i % 9]}
        for i in range(N)]}))
    (run / "config.toml").write_text(f'[fed]\nclients = {N}\nrounds = {ROUNDS}\n[privacy]\ndp = "sample"\n'
                                     "epsilon = 8.0\n")
    (run / "summary.json").write_text(json.dumps({"status": "complete", "rounds": ROUNDS, "warnings": [],
                                                  "label_names": ["negative", "positive"]}))
    return run


def test_epsilon_is_carried_forward_for_owners_not_sampled() -> None:
    # Prepare: owner 0 trains in rounds 1 and 3, owner 1 in round 2; 3 owners exist
    rows = [{"round": 1, "partition_id": 0, "epsilon": 1.0}, {"round": 2, "partition_id": 1, "epsilon": 0.5},
            {"round": 3, "partition_id": 0, "epsilon": 1.5}]

    # Execute
    rounds, eps = plots_many.epsilon_by_round(rows, clients=3)

    # Assert: the never-sampled third owner has spent nothing
    assert rounds == [1, 2, 3]
    np.testing.assert_array_equal(eps, [[1.0, 0.0, 0.0], [1.0, 0.5, 0.0], [1.5, 0.5, 0.0]])


def test_a_1000_owner_report_shows_distributions(tmp_path: Path) -> None:
    # Prepare
    run = _many_client_run(tmp_path)

    # Execute
    report = write_report(run)

    # Assert: no 1,000-row tables; the spread of final epsilon and of rounds trained is stated
    text = report.read_text()
    assert text.count("<tr") < 60
    assert "Privacy: ε per round over 1000 clients" in text and "Clients and their data (1000 clients)" in text
    trained: dict[int, int] = {}
    for line in (run / "client_metrics.jsonl").read_text().splitlines():
        pid = json.loads(line)["partition_id"]
        trained[pid] = trained.get(pid, 0) + 1
    most = max(trained.values())
    # min, 10 %, median, 90 % over 1,000 owners are 0 (100 trained); the max is the busiest owner's
    assert f"<tr><td>final ε</td><td>0</td><td>0</td><td>0</td><td>0</td><td>{round(most * EPS_PER_ROUND, 4):g}</td></tr>" in text
    assert f"<tr><td>rounds trained</td><td>0</td><td>0</td><td>0</td><td>0</td><td>{most}</td></tr>" in text


@pytest.mark.parametrize("name", ["epsilon", "train_loss", "clients"])
def test_many_client_figures_are_real_pngs(tmp_path: Path, name: str) -> None:
    # Prepare
    run = _many_client_run(tmp_path)
    rows = [json.loads(x) for x in (run / "client_metrics.jsonl").read_text().splitlines()]
    for row in rows:
        row["train_loss"] = 0.7 - 0.05 * row["round"]
    clients = json.loads((run / "clients.json").read_text())

    # Execute
    path = {"epsilon": lambda p: plots_many.plot_epsilon_distribution(rows, 8.0, p, N),
            "train_loss": lambda p: plots_many.plot_train_loss_distribution(rows, p),
            "clients": lambda p: plots_many.plot_client_distributions(clients, p)}[name](tmp_path / f"{name}.png")

    # Assert
    _assert_real_png(path)


def test_the_summary_says_where_the_clients_ran(tmp_path: Path) -> None:
    # Prepare: the simulation record fedflm.simulate adds to summary.json
    run = _many_client_run(tmp_path)
    summary = json.loads((run / "summary.json").read_text())
    summary["simulation"] = {"backend": "ray", "ray_address": "127.0.0.1:6379", "device": "cpu",
                             "client_resources": {"num_cpus": 2.0, "num_gpus": 0.25}, "clients_at_once": 4,
                             "client_worker_peak_rss_bytes": 512 * 2**20}
    (run / "summary.json").write_text(json.dumps(summary))

    # Execute
    text = write_report(run).read_text()

    # Assert
    assert "<td>clients ran on</td><td>Ray (127.0.0.1:6379), device cpu</td>" in text
    assert "<td>each client reserved</td><td>num_cpus 2, num_gpus 0.25</td>" in text
    assert "<td>clients at once</td><td>4</td>" in text
    assert re.search(r"<td>client worker peak RSS \(MB\)</td><td>512(\.0)?</td>", text)
