"""``fedflm export`` of a run of the non-classification tasks (issue 25): which task a run directory
holds, the model card of such a run, and the dispatch to :mod:`fedflm.export.causal_export`
(``causal-lm``: the merged causal LM) and :mod:`fedflm.export.recommender` (``recommend``: encoder +
towers, optionally ONNX). Classification runs keep :func:`fedflm.export.run_export.export_run`'s path.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from fedflm import __version__
from fedflm.errors import ExportError
from fedflm.export.card import _read_json, git_commit, owner_privacy, read_run_config, write_card
from fedflm.export.dirs import check_finished, prepare_out

#: the formats each task can export (no adapter-only or int8 export for these tasks)
TASK_FORMATS = {"causal-lm": ("merged",), "recommend": ("merged", "onnx")}
#: what a finished run of each task leaves for its export
_REQUIRED = {"causal-lm": "adapter/adapter_config.json", "recommend": "towers.json"}
_EVALUATION = {"causal-lm": ("perplexity_before", "perplexity_after", "generations"),
               "recommend": ("before", "after", "popularity_baseline", "eval_users")}


def run_task(run_dir: Path) -> str:
    """``classify``, ``causal-lm`` or ``recommend``: the ``task`` key of the run's config (flat tasks write it)."""
    return str(read_run_config(run_dir).get("task", "classify"))


def task_card(run_dir: Path, task: str) -> dict[str, Any]:
    """The model card of a causal-lm or recommend run (the classification card's keys)."""
    cfg = read_run_config(run_dir)
    summary = _read_json(run_dir / "summary.json")
    owners = owner_privacy(run_dir)
    n_owners = int(cfg.get("clients", 0))
    return {
        "base_model": cfg.get("model"), "task": task, "labels": [], "pooling": cfg.get("pooling"),
        "datasets": [d for d in (cfg.get("dataset"), cfg.get("eval-file")) if d],
        "max_length": int(cfg.get("max-length", 0)),
        "rounds": {"planned": summary.get("rounds"), "completed": summary.get("final", {}).get("round"),
                   "status": summary.get("status")},
        "owners": {"count": n_owners, "names": sorted(owners) or [f"client-{i}" for i in range(n_owners)]},
        "privacy": {"dp": cfg.get("dp"), "target_epsilon": cfg.get("epsilon") or None, "delta": cfg.get("delta"),
                    "run_id": cfg.get("run-id") or None, "per_owner": owners},
        "deidentification": {"enabled": False, "engine": "none", "source": f"--task {task} has no prepare step"},
        "evaluation": {k: summary[k] for k in _EVALUATION[task] if k in summary},
        "continued_from": None, "warnings": summary.get("warnings", []),
        "fedflm": {"version": __version__, "commit": git_commit()}, "run_dir": str(run_dir.resolve()),
    }


def export_task_run(run_dir: Path, task: str, fmt: str, quantize: str, out: Path, tolerance: float) -> dict[str, Any]:
    """Export a finished causal-lm or recommend run to ``out`` (new or empty) with its card."""
    if fmt not in TASK_FORMATS.get(task, ()):
        raise ExportError(f"--task {task} runs export as {' or '.join(TASK_FORMATS.get(task, ('nothing',)))}, "
                          f"got --format {fmt}")
    if quantize != "none":
        raise ExportError(f"--quantize {quantize} is for classification exports, not --task {task}")
    check_finished(run_dir)
    if not (run_dir / _REQUIRED[task]).is_file():
        raise ExportError(f"{run_dir / _REQUIRED[task]}: not found (not a finished --task {task} run)")
    card = task_card(run_dir, task)
    prepare_out(out)
    t0 = time.perf_counter()
    try:
        export = {"format": fmt, "quantize": quantize, **_write(run_dir, task, fmt, out, tolerance)}
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)  # nothing half-written (out was new or empty)
        raise
    export["files"] = sorted(p.name for p in out.iterdir()) + ["README.md", "model_card.json"]
    export["seconds"] = round(time.perf_counter() - t0, 2)
    write_card(out, card, export)
    return {**export, "files": sorted(p.name for p in out.iterdir())}


def _write(run_dir: Path, task: str, fmt: str, out: Path, tolerance: float) -> dict[str, Any]:
    if task == "causal-lm":
        from fedflm.export.causal_export import export_causal

        return export_causal(run_dir, out, tolerance)
    from fedflm.export.recommender import export_recommend

    return export_recommend(run_dir, out, fmt, tolerance)
