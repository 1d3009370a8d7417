"""Figures for runs with many clients (issue 24): distributions over clients, not one mark per client.

Above :data:`MANY` clients a bar or a line per client is unreadable (1,000 owners give 1,000
bars). These figures show, per round, the median and the 10-90 % band over clients, and the
spread of partition sizes and label shares as histograms and box plots.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pathlib import Path

from fedflm.report.plots import _MAX_STACKED_LABELS, _integer_rounds, _new_figure, _per_client, _save

__all__ = ["MANY", "epsilon_by_round", "plot_client_distributions", "plot_epsilon_distribution",
           "plot_train_loss_distribution", "quantiles"]

#: More clients than this: distributions instead of one mark per client.
MANY = 30


def quantiles(values: Sequence[float]) -> dict[str, float]:
    """min, 10 %, median, 90 %, max of ``values`` (the summary row of every many-client table)."""
    arr = np.asarray(values, dtype=float)
    q = np.quantile(arr, [0.0, 0.1, 0.5, 0.9, 1.0])
    return dict(zip(("min", "p10", "median", "p90", "max"), (float(v) for v in q)))


def epsilon_by_round(client_rows: Sequence[dict[str, Any]], clients: int | None = None) -> tuple[list[int], np.ndarray]:
    """(rounds, matrix[round, client]) of each client's cumulative ε after every round; an owner
    not sampled in a round keeps its ε (carried forward), one never sampled has spent 0."""
    series = _per_client(client_rows, "epsilon")
    rounds = sorted({r for x, _ in series.values() for r in x})
    n = max(clients or 0, len(series))
    out = np.zeros((len(rounds), n))
    for col, (x, eps) in enumerate(series.values()):
        at = dict(zip(x, eps))
        last = 0.0
        for row, r in enumerate(rounds):
            last = at.get(r, last)
            out[row, col] = last
    return rounds, out


def _band(axes, rounds: list[int], matrix: np.ndarray, label: str, color: str) -> None:
    lo, med, hi = (np.nanquantile(matrix, q, axis=1) for q in (0.1, 0.5, 0.9))
    axes.fill_between(rounds, lo, hi, alpha=0.25, color=color, label=f"{label}: 10-90 % of clients")
    axes.plot(rounds, med, marker=".", color=color, label=f"{label}: median")


def plot_epsilon_distribution(client_rows: Sequence[dict[str, Any]], budget: float | None, path: Path,
                              clients: int | None = None) -> Path:
    """Cumulative ε over all clients per round: median, 10-90 % band, maximum, and the budget."""
    rounds, eps = epsilon_by_round(client_rows, clients)
    figure = _new_figure()
    axes = figure.subplots()
    _band(axes, rounds, eps, "ε", "tab:blue")
    axes.plot(rounds, eps.max(axis=1), linestyle=":", color="black", label="ε: highest client")
    if budget is not None:
        axes.axhline(budget, color="red", linestyle="--", linewidth=2, label=f"budget ε = {budget:g}")
    highest = max([budget or 0.0, float(eps.max()) if eps.size else 0.0])
    axes.set_ylim(0.0, 1.12 * highest if highest > 0 else 1.0)
    axes.set(xlabel="round", ylabel="ε (cumulative)", title=f"Privacy spent, {eps.shape[1]} clients")
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small")
    _integer_rounds(axes)
    return _save(figure, path)


def plot_train_loss_distribution(client_rows: Sequence[dict[str, Any]], path: Path) -> Path:
    """Local training loss of the clients that trained in each round: median and 10-90 % band."""
    by_round: dict[int, list[float]] = {}
    for row in client_rows:
        if row.get("train_loss") is not None:
            by_round.setdefault(int(row["round"]), []).append(float(row["train_loss"]))
    rounds = sorted(by_round)
    width = max(len(v) for v in by_round.values())
    matrix = np.full((len(rounds), width), np.nan)
    for i, r in enumerate(rounds):
        matrix[i, : len(by_round[r])] = by_round[r]
    figure = _new_figure()
    axes = figure.subplots()
    _band(axes, rounds, matrix, "train loss", "tab:orange")
    axes.set(xlabel="round", ylabel="train loss", title="Local training loss of the clients sampled per round")
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small")
    _integer_rounds(axes)
    return _save(figure, path)


def plot_client_distributions(clients: dict[str, Any], path: Path) -> Path:
    """Histogram of examples per client (left); spread of each label's share over clients (right)."""
    entries = clients.get("clients", [])
    sizes = [int(c.get("num_examples", 0)) for c in entries]
    width = max((len(c.get("label_counts", [])) for c in entries), default=0)
    counts = np.zeros((len(entries), width))
    for row, entry in enumerate(entries):
        counts[row, : len(entry.get("label_counts", []))] = entry.get("label_counts", [])
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1.0)
    names = [str(n) for n in clients.get("label_names", [])]
    names = names if len(names) == width else [str(i) for i in range(width)]
    figure = _new_figure(12.0, 4.0)
    left, right = figure.subplots(1, 2)
    left.hist(sizes, bins=min(50, max(5, len(set(sizes)))), color="tab:gray")
    left.set(xlabel="examples", ylabel="clients", title=f"Examples per client ({len(entries)} clients)")
    if width <= _MAX_STACKED_LABELS:
        right.boxplot([shares[:, k] for k in range(width)], tick_labels=names)
        right.set(ylabel="share of a client's examples", title="Label share over clients")
    else:
        right.hist((counts > 0).sum(axis=1), bins=min(width, 40), color="tab:blue")
        right.set(xlabel="labels present", ylabel="clients", title=f"Labels present per client (of {width})")
    return _save(figure, path)
