"""Terminal display: client table at start, live round progress, summary at the end."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from fedflm.data.partition import PartitionStats

console = Console(stderr=True)


def _histogram(counts: tuple[int, ...], names: tuple[str, ...], top: int = 4) -> str:
    total = sum(counts) or 1
    ranked = sorted(range(len(counts)), key=lambda i: -counts[i])[:top]
    parts = [f"{names[i]} {counts[i] / total:.0%}" for i in ranked if counts[i]]
    more = sum(1 for c in counts if c) - len(parts)
    return ", ".join(parts) + (f" (+{more} more labels)" if more > 0 else "")


#: More clients than this: the start-of-run table shows their spread, not one row each (issue 24).
MANY_CLIENTS = 30


def client_spread_table(stats: list[PartitionStats]) -> Table:
    """min / 10 % / median / 90 % / max over clients of their sizes and labels present."""
    import numpy as np
    table = Table(title=f"Clients ({len(stats)}; spread over clients)", title_justify="left")
    for col in ("over clients", "min", "10 %", "median", "90 %", "max"):
        table.add_column(col, justify="right")
    for name, values in (("examples", [s.num_examples for s in stats]),
                         ("labels present", [sum(1 for c in s.label_counts if c) for s in stats])):
        table.add_row(name, *(f"{v:g}" for v in np.quantile(values, [0.0, 0.1, 0.5, 0.9, 1.0])))
    return table


def client_table(stats: list[PartitionStats], names: tuple[str, ...]) -> Table:
    if len(stats) > MANY_CLIENTS:
        return client_spread_table(stats)
    table = Table(title="Clients", title_justify="left")
    table.add_column("client", justify="right")
    table.add_column("examples", justify="right")
    table.add_column("label histogram")
    for s in stats:
        table.add_row(str(s.partition_id), str(s.num_examples), _histogram(s.label_counts, names))
    return table


def summary_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="Global evaluation (held-out set)", title_justify="left")
    cols = ["round", "accuracy", "macro_f1", "roc_auc", "loss", "train_loss", "epsilon_max"]
    present = [c for c in cols if any(c in r for r in rows)]
    for c in present:
        table.add_column(c, justify="right")
    for r in rows:
        table.add_row(*[_fmt(r.get(c)) for c in present])
    return table


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4f}"
    return str(v)


class RichReporter:
    """Live progress: round bar, clients done in the current round, latest accuracy."""

    def __init__(self) -> None:
        self.progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                                 TextColumn("{task.completed}/{task.total}"),
                                 TextColumn("{task.fields[status]}"), TimeElapsedColumn(),
                                 console=console, transient=False)
        self.rounds_task = None
        self.clients_task = None

    def __enter__(self) -> "RichReporter":
        self.progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.progress.stop()

    def start(self, rounds: int, clients: int) -> None:
        self.rounds_task = self.progress.add_task("rounds", total=rounds, status="")
        self.clients_task = self.progress.add_task("clients", total=clients, status="")

    def client_done(self, server_round: int, done: int, total: int) -> None:
        if self.clients_task is not None:
            self.progress.update(self.clients_task, completed=done, total=total,
                                 status=f"round {server_round}")

    def round_done(self, row: dict[str, Any]) -> None:
        if self.rounds_task is None:
            return
        eps = f"  eps {row['epsilon_max']:.2f}" if row.get("epsilon_max") is not None else ""
        status = f"acc {row['accuracy']:.4f}  F1 {row['macro_f1']:.4f}{eps}"
        self.progress.update(self.rounds_task, completed=row["round"], status=status)
        if self.clients_task is not None:
            self.progress.update(self.clients_task, completed=0)

    def message(self, text: str) -> None:
        console.print(f"[yellow]{text}")


def warn(text: str) -> None:
    console.print(f"[bold red]WARNING:[/] {text}")
