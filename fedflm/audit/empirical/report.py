"""Write an empirical audit as empirical.json and empirical.md."""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from pathlib import Path

from fedflm.audit.empirical.audit import EmpiricalResult
from fedflm.config import RunConfig


def render_empirical_markdown(result: EmpiricalResult, cfg: RunConfig) -> str:
    """Human-readable account of what was measured and what it means."""
    b = result.bound
    claim = "∞ (no DP)" if math.isinf(result.claimed_epsilon) else f"{result.claimed_epsilon:.4f}"
    verdict = ("**VIOLATED** — the measured lower bound exceeds the claimed ε: the DP path leaks more "
               "than the ledger says" if result.violated else "consistent — the measured lower bound does "
               "not exceed the claimed ε")
    sigmas = sorted({round(s, 6) for s, _, _ in result.history})
    return "\n".join([
        "# Empirical privacy audit (one training run)", "",
        f"Generated {datetime.now(timezone.utc).isoformat(timespec='seconds')} by `fedflm audit empirical`.", "",
        f"- **empirical lower bound: ε ≥ {b.epsilon_lower_bound:.4f}** at {100 * b.confidence:g} % confidence, "
        f"δ = {b.delta:g}",
        f"- claimed ε for the rounds trained: {claim} (DP mode `{result.dp}`, accountant "
        f"`{cfg.privacy.accountant}`, as recorded in the owner's ledger by the training code; the audit's "
        f"own recomputation: {'∞' if math.isinf(result.recomputed_epsilon) else f'{result.recomputed_epsilon:.4f}'})",
        *[f"- ledger check failed: `{f}`" for f in result.ledger_findings],
        f"- verdict: {verdict}", "",
        "## What was done", "",
        f"- canaries: m = {b.m} `{result.canary_kind}` records, {result.canaries_included} included "
        f"(each with probability 1/2), in the data of client {result.client}; a shortened federation "
        f"of one client ({result.rounds} round(s), {result.train_examples} training records)",
        f"- training, as the run's nodes train: mode `{result.train_mode}`"
        f"{' on cached frozen features' if result.feature_cache else ' (encoder run every step)'}, "
        f"model `{cfg.model.model}`, LoRA r={cfg.model.lora_r}, batch {cfg.train.batch_size}, "
        f"lr {cfg.train.lr:g}, local epochs {cfg.train.local_epochs}, local steps {cfg.train.local_steps}",
        f"- DP per round (σ, q, steps): {list(result.history)}; σ values {sigmas}",
        f"- membership signal: minus the canary's loss; guesses: top {b.k_pos} in, bottom {b.k_neg} out "
        f"(best of {b.candidates} choices, Bonferroni-corrected); {b.v}/{b.r} correct; AUC {result.auc:.3f}",
        f"- wall time: {result.wall_time_s:.1f} s", "",
        "## How to read it", "",
        "The bound follows Steinke, Nasr & Jagielski (2023), *Privacy Auditing with One (1) Training Run*: if "
        "training were (ε, δ)-DP with a smaller ε, this many correct guesses would occur with probability "
        f"below {1 - b.confidence:.2g}. A bound far below the claim is expected (the audit is a lower "
        "bound, and one run with few canaries is weak); a bound above the claim means, at the stated "
        "confidence, that training does not deliver the claimed privacy: a bug in the DP path.", "",
    ])


def write_empirical_report(result: EmpiricalResult, cfg: RunConfig, out_dir: str | Path) -> dict[str, Path]:
    """Write empirical.json and empirical.md into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "empirical.json", "markdown": out / "empirical.md"}
    data = {"tool": "fedflm audit empirical", "config": cfg.to_flat(), **result.to_json()}
    paths["json"].write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    paths["markdown"].write_text(render_empirical_markdown(result, cfg), encoding="utf-8")
    return paths
