"""PNG figures of one run, drawn with matplotlib's object API on the Agg canvas.

Each function takes plain data (rows of the run directory's JSONL files) and a
destination path, writes one PNG and returns its path. No pyplot global state is
used, so figures are never shown, never leak between calls, and need no display.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

_DPI = 100
_MAX_LEGEND = 12
_MAX_ANNOTATED_LABELS = 12
_MAX_STACKED_LABELS = 10


def _new_figure(width: float = 7.0, height: float = 4.0) -> Figure:
    figure = Figure(figsize=(width, height), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _save(figure: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png")
    return path


def _finite(value: Any) -> float:
    """A float for plotting; missing values become NaN (a gap in the line)."""
    return float("nan") if value is None else float(value)


def _per_client(rows: Sequence[dict[str, Any]], key: str) -> dict[int, tuple[list[int], list[float]]]:
    """Group (round, value) pairs by partition_id, skipping rows without ``key``."""
    series: dict[int, tuple[list[int], list[float]]] = defaultdict(lambda: ([], []))
    usable = [r for r in rows if r.get(key) is not None and r.get("partition_id") is not None]
    for row in sorted(usable, key=lambda r: (int(r["partition_id"]), int(r["round"]))):
        rounds, values = series[int(row["partition_id"])]
        rounds.append(int(row["round"]))
        values.append(float(row[key]))
    return dict(series)


def _integer_rounds(*axes_list: Axes) -> None:
    for axes in axes_list:
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))


def _client_legend(axes: Axes, count: int) -> None:
    if count <= _MAX_LEGEND:
        axes.legend(fontsize="small", ncols=2 if count > 6 else 1)
    else:
        axes.text(0.99, 0.01, f"{count} clients", transform=axes.transAxes,
                  ha="right", va="bottom", fontsize="small")


def plot_global_metrics(rounds: Sequence[dict[str, Any]], path: Path) -> Path:
    """Accuracy and macro-F1 (left) and loss (right) of the global model per round."""
    figure = _new_figure(10.0, 4.0)
    quality, loss = figure.subplots(1, 2)
    x = [int(r["round"]) for r in rounds]
    for key, label in (("accuracy", "accuracy"), ("macro_f1", "macro-F1")):
        quality.plot(x, [_finite(r.get(key)) for r in rounds], marker="o", label=label)
    quality.set(xlabel="round", ylabel="score", title="Global model quality", ylim=(0.0, 1.0))
    quality.legend()
    for key, label in (("loss", "eval loss (global)"), ("train_loss", "train loss (clients' mean)")):
        loss.plot(x, [_finite(r.get(key)) for r in rounds], marker="o", label=label)
    loss.set(xlabel="round", ylabel="loss", title="Loss")
    loss.legend()
    for axes in (quality, loss):
        axes.grid(alpha=0.3)
    _integer_rounds(quality, loss)
    return _save(figure, path)


def plot_perplexity(rounds: Sequence[dict[str, Any]], path: Path) -> Path:
    """issue 25: held-out perplexity of the global causal LM per round (log scale)."""
    figure = _new_figure()
    axes = figure.subplots()
    axes.plot([int(r["round"]) for r in rounds], [_finite(r.get("perplexity")) for r in rounds], marker="o")
    axes.set(xlabel="round", ylabel="perplexity", title="Held-out perplexity (global model)", yscale="log")
    axes.grid(alpha=0.3)
    _integer_rounds(axes)
    return _save(figure, path)


def plot_epsilon(client_rows: Sequence[dict[str, Any]], budget: float | None, path: Path) -> Path:
    """Cumulative epsilon per round for each client, with the budget as a red line."""
    figure = _new_figure()
    axes = figure.subplots()
    series = _per_client(client_rows, "epsilon")
    for partition_id, (x, eps) in series.items():
        axes.plot(x, eps, marker=".", label=f"client {partition_id}")
    if budget is not None:
        axes.axhline(budget, color="red", linestyle="--", linewidth=2, label=f"budget ε = {budget:g}")
    axes.set(xlabel="round", ylabel="ε (cumulative)", title="Privacy spent per client")
    highest = max([budget or 0.0] + [max(eps) for _, eps in series.values()])
    axes.set_ylim(0.0, 1.12 * highest if highest > 0 else 1.0)  # headroom: the budget line stays visible
    axes.grid(alpha=0.3)
    _integer_rounds(axes)
    _client_legend(axes, len(series) + (budget is not None))
    return _save(figure, path)


def plot_train_loss(client_rows: Sequence[dict[str, Any]], path: Path) -> Path:
    """Local training loss per round for each client."""
    figure = _new_figure()
    axes = figure.subplots()
    series = _per_client(client_rows, "train_loss")
    for partition_id, (x, loss) in series.items():
        axes.plot(x, loss, marker=".", label=f"client {partition_id}")
    axes.set(xlabel="round", ylabel="train loss", title="Local training loss per client")
    axes.grid(alpha=0.3)
    _integer_rounds(axes)
    _client_legend(axes, len(series))
    return _save(figure, path)


def plot_confusion(matrix: Sequence[Sequence[int]], label_names: Sequence[str], path: Path) -> Path:
    """Confusion matrix (rows = true label, columns = predicted), counts annotated when small."""
    counts = np.asarray(matrix, dtype=float)
    size = counts.shape[0]
    names = list(label_names) if len(label_names) == size else [str(i) for i in range(size)]
    side = float(min(14.0, max(4.5, 0.18 * size + 3.0)))
    figure = _new_figure(side + 1.0, side)
    axes = figure.subplots()
    image = axes.imshow(counts, cmap="Blues", interpolation="nearest")
    figure.colorbar(image, ax=axes, shrink=0.8)
    font = "medium" if size <= _MAX_ANNOTATED_LABELS else 5
    axes.set_xticks(range(size), names, rotation=90 if size > 4 else 0, fontsize=font)
    axes.set_yticks(range(size), names, fontsize=font)
    axes.set(xlabel="predicted", ylabel="true", title="Confusion matrix (final global model)")
    if size <= _MAX_ANNOTATED_LABELS:
        threshold = counts.max() / 2.0 if counts.size else 0.0
        for (i, j), value in np.ndenumerate(counts):
            axes.text(j, i, f"{int(value)}", ha="center", va="center",
                      color="white" if value > threshold else "black")
    return _save(figure, path)


def plot_bytes(rounds: Sequence[dict[str, Any]], path: Path) -> Path:
    """Bytes uploaded by clients per round (bars, MB)."""
    figure = _new_figure()
    axes = figure.subplots()
    shown = [r for r in rounds if r.get("bytes_up") is not None]
    axes.bar([int(r["round"]) for r in shown], [float(r["bytes_up"]) / 1e6 for r in shown])
    axes.set(xlabel="round", ylabel="MB uploaded", title="Bytes sent by clients per round")
    axes.grid(alpha=0.3, axis="y")
    _integer_rounds(axes)
    return _save(figure, path)


def _draw_sizes(axes: Axes, ids: list[int], sizes: list[int]) -> None:
    axes.bar(range(len(ids)), sizes, color="tab:gray")
    axes.set_xticks(range(len(ids)), [str(i) for i in ids], fontsize="small")
    axes.set(xlabel="client", ylabel="examples", title="Examples per client")


def _draw_labels(axes: Axes, ids: list[int], counts: np.ndarray, names: list[str]) -> None:
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1.0)
    if counts.shape[1] <= _MAX_STACKED_LABELS:
        bottom = np.zeros(len(ids))
        for k in range(counts.shape[1]):
            axes.bar(range(len(ids)), shares[:, k], bottom=bottom, label=names[k])
            bottom += shares[:, k]
        axes.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
        axes.set(ylabel="share of client's examples")
    else:
        axes.imshow(shares.T, aspect="auto", cmap="viridis", interpolation="nearest")
        axes.set(ylabel="label index")
    axes.set_xticks(range(len(ids)), [str(i) for i in ids], fontsize="small")
    axes.set(xlabel="client", title="Label distribution per client")


def plot_label_histograms(clients: dict[str, Any], path: Path) -> Path:
    """Examples per client (left) and each client's label distribution (right)."""
    entries = sorted(clients.get("clients", []), key=lambda c: int(c["partition_id"]))
    ids = [int(c["partition_id"]) for c in entries]
    width = max((len(c.get("label_counts", [])) for c in entries), default=0)
    counts = np.zeros((len(entries), width))
    for row, entry in enumerate(entries):
        label_counts = entry.get("label_counts", [])
        counts[row, : len(label_counts)] = label_counts
    names = [str(n) for n in clients.get("label_names", [])]
    names = names if len(names) == width else [str(i) for i in range(width)]
    figure = _new_figure(12.0, 4.0)
    sizes_axes, labels_axes = figure.subplots(1, 2)
    _draw_sizes(sizes_axes, ids, [int(c.get("num_examples", 0)) for c in entries])
    _draw_labels(labels_axes, ids, counts, names)
    return _save(figure, path)
