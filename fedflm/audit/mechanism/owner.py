"""An owner's claim, from its verified ledger and the run it trained in.

The ledger gives what the owner's node ran, entry by entry (sigma, q, steps,
clipping norm, delta) and the epsilon it claims; the run directory gives the
model (``config.toml`` and the label names in ``summary.json``) and the batch
size. Nothing of the owner's data is read.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from torch import nn

from fedflm.audit.ledger.audit import OwnerAudit
from fedflm.audit.ledger.recompute import SAME_KIND
from fedflm.audit.mechanism.config import MechanismClaim
from fedflm.audit.mechanism.config import Block
from fedflm.config import RunConfig
from fedflm.errors import ConfigError

DPSGD = "dpsgd-poisson-gaussian"


def load_run(run_dir: Path) -> tuple[RunConfig, tuple[str, ...]]:
    """The run's configuration and label names."""
    cfg_path, summary_path = run_dir / "config.toml", run_dir / "summary.json"
    if not cfg_path.is_file():
        raise ConfigError(f"{cfg_path}: run config not found (is {run_dir} a run directory?)")
    try:
        cfg = RunConfig.from_flat(tomllib.loads(cfg_path.read_text(encoding="utf-8")))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{cfg_path}: not valid TOML: {exc}") from None
    try:
        labels = json.loads(summary_path.read_text(encoding="utf-8"))["label_names"]
    except (OSError, ValueError, KeyError, TypeError):
        raise ConfigError(f"{summary_path}: no label_names (the run must have finished to audit its model)") from None
    return cfg, tuple(str(x) for x in labels)


def owner_model(cfg: RunConfig, labels: tuple[str, ...]) -> nn.Module:
    """The model the owner's node trains: the run's base model, LoRA adapter and head."""
    from fedflm.models.lora import build_model

    return build_model(cfg.model, labels, cfg.fed.seed)


def owner_claim(owner: OwnerAudit, cfg: RunConfig, secure_mode: bool | None = None) -> MechanismClaim | None:
    """The DP-SGD history and claimed epsilon of ``owner``; None when it ran no DP-SGD step.

    The ledger does not record secure mode: ``secure_mode`` (the owner's node
    setting, when the auditor knows it) else the run config's."""
    entries = [e for e in owner.entries if e["mechanism"] == DPSGD and int(e["steps"]) > 0]
    if not entries:
        return None
    norms = {float(e["max_grad_norm"]) for e in entries}
    if len(norms) > 1:
        raise ConfigError(f"owner {owner.owner}: several clipping norms recorded ({sorted(norms)}); "
                          f"audit one run at a time")
    last = owner.entries[-1]
    recomputed = owner.recomputation.final(SAME_KIND[last["accountant"]])
    claimed = min(float(last["epsilon"]), recomputed if recomputed is not None else float("inf"))
    history = tuple(Block(float(e["noise_multiplier"]), float(e["sample_rate"]), int(e["steps"])) for e in entries)
    return MechanismClaim(history, norms.pop(), cfg.train.batch_size, float(last["delta"]), claimed,
                          cfg.privacy.secure_mode if secure_mode is None else secure_mode)
