"""Continue a federation from a finished run: its global adapter becomes this run's starting point.

The head's rows are matched by label *name*, so that label ``k`` of the earlier run is
still label ``k`` by name here, whatever order the new data lists its labels in. A label
the earlier run had and the new data lacks is refused (its row would be dropped); a label
the new data adds is refused unless asked for (``--allow-new-labels``): then it gets a new,
zero-initialised row (as every head row starts) and the earlier rows are kept.
The LoRA tensors are taken as they are; they must have the same shapes (same model,
rank, targets and layers).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fedflm.errors import ModelError
from fedflm.models.classifier import read_head_config

HEAD_SUFFIXES = ("classifier.weight", "classifier.bias")


@dataclass(frozen=True)
class PriorRun:
    """The global adapter of a finished run and what it was trained for."""

    path: Path
    label_names: tuple[str, ...]
    base_model: str
    state: dict[str, np.ndarray]


def read_prior(run_dir: str | Path) -> PriorRun:
    """``RUN/adapter`` of a finished run (refuses an unfinished run or a missing adapter)."""
    from safetensors.numpy import load_file

    run_dir = Path(run_dir)
    adapter = run_dir / "adapter"
    if not run_dir.is_dir():
        raise ModelError(f"--init-from {run_dir}: run directory not found")
    if (run_dir / "INCOMPLETE").exists():
        raise ModelError(f"--init-from {run_dir}: that run did not finish (INCOMPLETE marker)")
    weights = adapter / "adapter_model.safetensors"
    if not weights.is_file():
        raise ModelError(f"--init-from {run_dir}: no {weights.relative_to(run_dir)} (not a finished fedflm run)")
    head = read_head_config(adapter)
    return PriorRun(run_dir, tuple(head["label_names"]), str(head.get("base_model", "")), load_file(str(weights)))


def label_rows(prior: tuple[str, ...], new: tuple[str, ...], allow_new_labels: bool) -> list[int | None]:
    """For each label of ``new``, its row in the earlier head (None: a new label, new row)."""
    missing = [n for n in prior if n not in new]
    if missing:
        raise ModelError(f"--init-from: the earlier run's labels {missing} are not in this run's data "
                         f"(labels here: {list(new)}); the label mapping must keep every earlier label")
    added = [n for n in new if n not in prior]
    if added and not allow_new_labels:
        raise ModelError(f"--init-from: this run's data has labels the earlier model does not know: {added}; "
                         "pass --allow-new-labels to add head rows for them (the earlier rows are kept)")
    index = {n: i for i, n in enumerate(prior)}
    return [index.get(n) for n in new]


def continued_state(prior: PriorRun, current: dict[str, np.ndarray], label_names: tuple[str, ...],
                    allow_new_labels: bool = False, base_model: str | None = None) -> dict[str, np.ndarray]:
    """This run's initial adapter state: the earlier run's, head rows mapped to ``label_names``."""
    if base_model is not None and prior.base_model and prior.base_model != base_model:
        raise ModelError(f"--init-from {prior.path}: that run fine-tuned model {prior.base_model!r}, "
                         f"this run uses {base_model!r}")
    missing, extra = set(current) - set(prior.state), set(prior.state) - set(current)
    if missing or extra:
        raise ModelError(f"--init-from {prior.path}: adapter tensors differ (missing {sorted(missing)[:2]}, "
                         f"unexpected {sorted(extra)[:2]}): use the same --model, --target-modules and "
                         "--lora-layers as that run")
    rows = label_rows(prior.label_names, label_names, allow_new_labels)
    out: dict[str, np.ndarray] = {}
    for key, ref in current.items():
        old = np.asarray(prior.state[key])
        if key.endswith(HEAD_SUFFIXES):
            new = np.zeros(ref.shape, dtype=ref.dtype)  # new labels: a zero row, as every head row starts
            for i, j in enumerate(rows):
                if j is not None:
                    new[i] = old[j]
            out[key] = new
        elif old.shape != ref.shape:
            raise ModelError(f"--init-from {prior.path}: tensor {key} has shape {old.shape}, this model "
                             f"{ref.shape}: use the same --lora-r as that run")
        else:
            out[key] = old.astype(ref.dtype, copy=True)
    return out


def describe(prior: PriorRun, label_names: tuple[str, ...]) -> dict:
    """What ``RUN/init_from.json`` records about the start."""
    return {"run_dir": str(prior.path.resolve()), "labels_before": list(prior.label_names),
            "labels_added": [n for n in label_names if n not in prior.label_names]}

