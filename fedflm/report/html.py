"""A self-contained ``report.html`` for one run directory.

The page needs no network: figures are embedded as base64 PNG data URIs and the
only style sheet is inline. The same PNGs are also written beside the page so
that they can be used on their own. Every section is always present; when a run
lacks the data for one (a non-DP run has no epsilon), the section says why.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from fedflm.io import write_atomic
from fedflm.report import plots
from fedflm.report import plots_many as many
from fedflm.report.findings import collect_warnings, find_budget
from fedflm.report.rundir import RunData, load_run

REPORT_FILE = "report.html"
SECTIONS = ("warnings", "summary", "config", "clients", "global-metrics", "robust", "privacy",
            "train-loss", "confusion", "bytes")
_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
h1{margin-bottom:.2em} section{margin:1.5em 0;border-top:1px solid #ccc;padding-top:.5em}
table{border-collapse:collapse;font-size:.9em} td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}
th{background:#f0f0f0} pre{background:#f7f7f7;padding:1em;overflow:auto;font-size:.85em}
img{max-width:100%;height:auto} .scroll{overflow-x:auto} .note{color:#555;font-style:italic}
.warning{background:#ffe0e0;border:2px solid #c00;color:#900;padding:.5em 1em;margin:.4em 0;font-weight:bold}
.ok{background:#e6f4e6;border:1px solid #393;padding:.5em 1em}
"""
_CAUSAL_COLUMNS = ("round", "perplexity", "loss", "eval_tokens", "train_loss", "clients_ok", "clients_failed",
                   "bytes_up", "epsilon_max", "elapsed_s")  # issue 25: --task causal-lm
_RANKING_COLUMNS = ("round", "auc", "hit_rate_at_10", "ndcg_at_10", "train_loss", "clients_ok", "clients_failed",
                    "bytes_up", "epsilon_max", "elapsed_s")  # issue 25: --task recommend
_METRIC_COLUMNS = ("round", "accuracy", "macro_f1", "macro_precision", "macro_recall", "roc_auc",
                   "loss", "train_loss", "clients_ok", "clients_failed", "bytes_up", "epsilon_max",
                   "elapsed_s")


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    return _esc(value)


def _image(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{_esc(alt)}" src="data:image/png;base64,{data}">'


def _section(section_id: str, title: str, body: str) -> str:
    return f'<section id="{section_id}" data-section="{section_id}">\n<h2>{_esc(title)}</h2>\n{body}\n</section>'


def _note(text: str) -> str:
    return f'<p class="note">{_esc(text)}</p>'


def _table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{_esc(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _figure(out_dir: Path, name: str, draw: Callable[[Path], Path], alt: str) -> str:
    return _image(draw(out_dir / f"report_{name}.png"), alt)


def _warnings_section(warnings: list[str]) -> str:
    if not warnings:
        return _section("warnings", "Warnings", '<p class="ok">No warnings.</p>')
    items = "".join(f'<div class="warning">{_esc(w)}</div>' for w in warnings)
    return _section("warnings", f"Warnings ({len(warnings)})", items)


def _summary_section(run: RunData) -> str:
    summary = run.summary or {}
    final = summary.get("final") or (run.rounds[-1] if run.rounds else {})
    rows = [("status", run.status), ("rounds", summary.get("rounds", len(run.rounds) - 1)),
            ("wall time (s)", summary.get("wall_time_s")),
            ("bytes per client per round", summary.get("bytes_per_client_per_round"))]
    rows += [(f"final {key}", value) for key, value in final.items() if key != "round"]
    secagg = _secagg_line(run.config.get("agg") or {})
    if secagg:
        rows.append(("secure aggregation", secagg))
    sim = summary.get("simulation") or {}  # issue 24: where the simulated clients ran
    if sim:
        peak = sim.get("client_worker_peak_rss_bytes")
        rows += [("clients ran on", f"Ray ({sim.get('ray_address')}), device {sim.get('device')}"),
                 ("each client reserved", ", ".join(f"{k} {v:g}" for k, v in sim.get("client_resources", {}).items())),
                 ("clients at once", sim.get("clients_at_once")),
                 ("client worker peak RSS (MB)", None if peak is None else round(peak / 2**20, 1))]
    return _section("summary", "Summary", _table(("item", "value"), rows))


def _secagg_line(agg: dict[str, Any]) -> str | None:
    """issue 21: how the run aggregated, when config.toml says (None for a config without an [agg] table)."""
    if "secagg" not in agg:
        return None
    if not agg["secagg"]:
        return "off: the server received each owner's update (DP-protected under dp sample)"
    return (f"SecAgg+ (Flower): the server learned only the sum of the owners' masked updates; reconstruction "
            f"threshold {agg.get('secagg_threshold'):g} of each round's owners, each change coordinate clipped to "
            f"±{agg.get('secagg_clip'):g} before quantisation")


def _config_section(run: RunData) -> str:
    if not run.config_text:
        return _section("config", "Configuration", _note("config.toml is absent from this run."))
    return _section("config", "Configuration (resolved config.toml)", f"<pre>{_esc(run.config_text)}</pre>")


def _clients_section(run: RunData, out_dir: Path) -> str:
    if not run.clients or not run.clients.get("clients"):
        return _section("clients", "Clients and their data", _note("clients.json is absent."))
    entries = sorted(run.clients["clients"], key=lambda c: int(c["partition_id"]))
    rows = [(c["partition_id"], c.get("num_examples"), sum(1 for n in c.get("label_counts", []) if n))
            for c in entries]
    if len(entries) > many.MANY:  # issue 24: distributions, not 1,000 rows and bars
        table = _quantile_table(("examples", [r[1] or 0 for r in rows]), ("labels present", [r[2] for r in rows]))
        figure = _figure(out_dir, "clients", lambda p: many.plot_client_distributions(run.clients or {}, p),
                         "distribution of examples and label shares over clients")
        return _section("clients", f"Clients and their data ({len(entries)} clients)", figure + table)
    table = _table(("client", "examples", "labels present"), rows)
    figure = _figure(out_dir, "clients", lambda p: plots.plot_label_histograms(run.clients or {}, p),
                     "examples and label distribution per client")
    return _section("clients", "Clients and their data", figure + table)


def _quantile_table(*columns: tuple[str, Sequence[float]]) -> str:
    """One row per quantity: its min, 10 %, median, 90 % and max over clients."""
    rows = [(name, *(round(v, 4) for v in many.quantiles(values).values())) for name, values in columns if values]
    return _table(("over clients", "min", "10 %", "median", "90 %", "max"), rows)


def _num_clients(run: RunData) -> int:
    return len((run.clients or {}).get("clients", [])) or len({c.get("partition_id") for c in run.client_rounds})


def _is_causal(run: RunData) -> bool:
    return (run.summary or {}).get("task") == "causal-lm"


def _is_recommend(run: RunData) -> bool:
    return (run.summary or {}).get("task") == "recommend"


def _ranking_section(run: RunData) -> str:
    """issue 25: the recommender's held-out users' ranking figures per round, and the popularity baseline."""
    rows = [[r.get(c) for c in _RANKING_COLUMNS] for r in run.rounds]
    pop = (run.summary or {}).get("popularity_baseline") or {}
    baseline = _table(("popularity baseline", "auc", "hit_rate_at_10", "ndcg_at_10"),
                      [("same held-out users", pop.get("auc"), pop.get("hit_rate_at_10"), pop.get("ndcg_at_10"))])
    return _section("global-metrics", "Global model per round (round 0 = initial towers): held-out users' ranking",
                    _table(_RANKING_COLUMNS, rows) + baseline)


def _perplexity_section(run: RunData, out_dir: Path) -> str:
    """issue 25: the causal LM's held-out perplexity per round, and its completions of fixed prompts."""
    figure = _figure(out_dir, "global_metrics", lambda p: plots.plot_perplexity(run.rounds, p),
                     "held-out perplexity per round")
    rows = [[r.get(c) for c in _CAUSAL_COLUMNS] for r in run.rounds]
    gens = (run.summary or {}).get("generations") or []
    table = _table(("held-out prompt", "before training", "after training"),
                   [(g.get("prompt"), g.get("before"), g.get("after")) for g in gens]) if gens else ""
    return _section("global-metrics", "Global model per round (round 0 = initial model)",
                    figure + _table(_CAUSAL_COLUMNS, rows) + table)


def _metrics_section(run: RunData, out_dir: Path) -> str:
    if _is_causal(run):
        return _perplexity_section(run, out_dir)
    if _is_recommend(run):
        return _ranking_section(run)
    figure = _figure(out_dir, "global_metrics", lambda p: plots.plot_global_metrics(run.rounds, p),
                     "global accuracy, macro-F1 and loss per round")
    rows = [[r.get(c) for c in _METRIC_COLUMNS] for r in run.rounds]
    return _section("global-metrics", "Global model per round (round 0 = initial model)",
                    figure + _table(_METRIC_COLUMNS, rows))


def _robust_section(run: RunData) -> str:
    """issue 21: per round, the clients a robust rule (--robust) clipped or rejected."""
    title = "Robust aggregation: clipped and rejected clients per round"
    rows = [(r["round"], r["robust"].get("rule"), ", ".join(map(str, r["robust"].get("clipped", []))) or "-",
             ", ".join(map(str, r["robust"].get("rejected", []))) or "-")
            for r in run.rounds if isinstance(r.get("robust"), dict)]
    if not rows:
        return _section("robust", title, _note("No robust rule in this run (--robust none)."))
    return _section("robust", title, _table(("round", "rule", "clipped", "rejected"), rows))


def _privacy_section(run: RunData, out_dir: Path) -> str:
    title = "Privacy: ε per round per client"
    if not run.is_dp:
        body = '<div class="warning">No differential privacy in this run: no formal privacy guarantee.</div>'
        return _section("privacy", title, body)
    found = find_budget(run)
    budget = None if found is None else found.epsilon
    text = f"Budget ε = {found.epsilon:g} ({found.source})" if found else "No ε budget recorded for this run."
    if not any(c.get("epsilon") is not None for c in run.client_rounds):
        return _section("privacy", title, _note(text) + _note("No per-client ε was recorded."))
    n = _num_clients(run)
    if n > many.MANY:  # issue 24: the spread over owners, and how often each trained
        figure = _figure(out_dir, "epsilon", lambda p: many.plot_epsilon_distribution(run.client_rounds, budget, p, n),
                         "epsilon per round over clients: median, 10-90 % band, highest, budget")
        final = many.epsilon_by_round(run.client_rounds, n)[1][-1]
        trained: dict[Any, int] = {}
        for c in run.client_rounds:
            if c.get("epsilon") is not None:
                trained[c.get("partition_id")] = trained.get(c.get("partition_id"), 0) + 1
        counts = list(trained.values()) + [0] * (n - len(trained))
        table = _quantile_table(("final ε", list(final)), ("rounds trained", counts))
        return _section("privacy", f"Privacy: ε per round over {n} clients", f"<p>{_esc(text)}</p>" + figure + table)
    figure = _figure(out_dir, "epsilon", lambda p: plots.plot_epsilon(run.client_rounds, budget, p),
                     "epsilon per round per client with budget line")
    return _section("privacy", title, f"<p>{_esc(text)}</p>" + figure)


def _status_table(run: RunData) -> str:
    """Client rounds that did not end "ok" (refused for budget, failed), or a one-line all-clear."""
    bad = [c for c in run.client_rounds if c.get("status", "ok") != "ok"]
    if not bad:
        return _note(f"All {len(run.client_rounds)} client rounds ended ok.")
    rows = [(c.get("round"), c.get("partition_id"), c.get("status"), c.get("reason", "")) for c in bad]
    return "<p>Client rounds that did not end ok:</p>" + _table(("round", "client", "status", "reason"), rows)


def _train_loss_section(run: RunData, out_dir: Path) -> str:
    title = "Training loss per client"
    if not any(c.get("train_loss") is not None for c in run.client_rounds):
        return _section("train-loss", title, _note("No client training loss was recorded.") + _status_table(run))
    if _num_clients(run) > many.MANY:
        figure = _figure(out_dir, "train_loss", lambda p: many.plot_train_loss_distribution(run.client_rounds, p),
                         "train loss per round over the sampled clients: median and 10-90 % band")
        return _section("train-loss", "Training loss over clients", figure + _status_table(run))
    figure = _figure(out_dir, "train_loss", lambda p: plots.plot_train_loss(run.client_rounds, p),
                     "train loss per client per round")
    return _section("train-loss", title, figure + _status_table(run))


def _confusion_section(run: RunData, out_dir: Path) -> str:
    title = "Confusion matrix (final global model)"
    matrix = (run.summary or {}).get("confusion_matrix")
    if _is_causal(run) or _is_recommend(run):
        return _section("confusion", title, _note(f"A {(run.summary or {}).get('task')} run has no classes "
                                                  "(see the global model's figures above)."))
    if not matrix:
        return _section("confusion", title, _note("No confusion matrix in summary.json."))
    figure = _figure(out_dir, "confusion", lambda p: plots.plot_confusion(matrix, run.label_names, p),
                     "confusion matrix")
    return _section("confusion", title, figure)


def _bytes_section(run: RunData, out_dir: Path) -> str:
    title = "Bytes sent per round"
    sent = [r["bytes_up"] for r in run.rounds if r.get("bytes_up") is not None]
    if not sent:
        return _section("bytes", title, _note("No byte counts were recorded."))
    figure = _figure(out_dir, "bytes", lambda p: plots.plot_bytes(run.rounds, p), "bytes uploaded per round")
    return _section("bytes", title, f"<p>Total uploaded: {sum(sent) / 1e6:.3f} MB</p>" + figure)


def _explanations_section(run_dir: Path) -> str:
    """issue 23: explained examples of the server's own evaluation set (written by the server)."""
    title = "Explained examples (server's evaluation set)"
    path = run_dir / "explanations.json"
    if not path.is_file():
        return _section("explanations", title, _note("No explanations.json (Captum not installed, or an older run)."))
    found = json.loads(path.read_text(encoding="utf-8"))
    return _section("explanations", title, str(found.get("html", "")))


def render_report(run: RunData, out_dir: Path) -> str:
    """The report page as a string; figures are written to ``out_dir`` as PNG."""
    sections = [
        _warnings_section(collect_warnings(run)), _summary_section(run), _config_section(run),
        _clients_section(run, out_dir), _metrics_section(run, out_dir), _robust_section(run),
        _privacy_section(run, out_dir),
        _train_loss_section(run, out_dir), _confusion_section(run, out_dir), _bytes_section(run, out_dir),
        _explanations_section(run.run_dir),
    ]
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>fedflm run report: {_esc(run.run_dir.name)}</title><style>{_STYLE}</style></head>\n"
        f"<body><h1>fedflm run report</h1><p>Run <code>{_esc(run.run_dir.name)}</code>, "
        f"generated {stamp}.</p>\n" + "\n".join(sections) + "\n</body></html>\n"
    )


def write_report(run_dir: Path) -> Path:
    """Write ``run_dir/report.html`` (and its PNGs beside it); return the page's path."""
    run_dir = Path(run_dir)
    run = load_run(run_dir)
    page = run_dir / REPORT_FILE
    write_atomic(page, render_report(run, run_dir))
    return page
