"""Sentence pooling that follows the model: the way its checkpoint was trained to be read.

A sentence-transformers checkpoint says how it turns token states into a sentence
embedding: ``modules.json`` lists its modules (Transformer -> Pooling -> Normalize) and
``1_Pooling/config.json`` names the pooling (mean, CLS or max). all-MiniLM-L6-v2 was
trained as mean pooling + L2 normalisation; the CLS pooler that
``AutoModelForSequenceClassification`` reads was never trained for it, and under DP a head
on the wrong embedding has to be learnt through the noise (DESIGN.md section 5).

``--pooling auto`` uses the model's own config when it has one, else the architecture's
convention: ``last`` (the last real token) for decoder models, ``cls`` for encoders.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch

from fedflm.errors import ModelError

POOLING_CHOICES = ("auto", "mean", "cls", "last", "max")
#: Architectures that read a sentence from its last token (causal decoders).
DECODER_TYPES = {"gpt2", "llama", "mistral", "qwen2", "gemma", "phi", "gpt_neox", "opt", "falcon"}


@dataclass(frozen=True)
class PoolingSpec:
    """How token states become one sentence vector."""

    mode: str  # mean | cls | last | max
    normalize: bool = False
    source: str = "default"  # where the choice came from (shown to the user)

    def __post_init__(self) -> None:
        if self.mode not in POOLING_CHOICES[1:]:
            raise ModelError(f"pooling must be one of {', '.join(POOLING_CHOICES[1:])}, got {self.mode!r}")


def read_sentence_transformers(model_dir: str | Path) -> PoolingSpec | None:
    """The pooling of a sentence-transformers directory, or None when it has no such config."""
    root = Path(model_dir)
    modules_file = root / "modules.json"
    if not modules_file.is_file():
        return None
    try:
        modules = json.loads(modules_file.read_text())
        kinds = {str(m.get("type", "")).rsplit(".", 1)[-1]: m for m in modules}
    except (json.JSONDecodeError, AttributeError, TypeError) as exc:
        raise ModelError(f"{modules_file}: not a sentence-transformers modules list ({exc})") from None
    if "Pooling" not in kinds:
        return None
    cfg_file = root / str(kinds["Pooling"].get("path", "1_Pooling")) / "config.json"
    try:
        cfg = json.loads(cfg_file.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"{cfg_file}: cannot read the pooling config ({exc})") from None
    for key, mode in (("pooling_mode_cls_token", "cls"), ("pooling_mode_mean_tokens", "mean"),
                      ("pooling_mode_max_tokens", "max"), ("pooling_mode_lasttoken", "last")):
        if cfg.get(key):
            return PoolingSpec(mode, normalize="Normalize" in kinds, source=str(cfg_file))
    raise ModelError(f"{cfg_file}: no pooling mode fedflm supports (mean, cls, max, lasttoken) is set")


def resolve_pooling(choice: str, model_dir: str | Path | None, model_type: str) -> PoolingSpec:
    """``choice`` as asked; ``auto``: the model's sentence-transformers config, else convention."""
    if choice not in POOLING_CHOICES:
        raise ModelError(f"pooling must be one of {', '.join(POOLING_CHOICES)}, got {choice!r}")
    own = read_sentence_transformers(model_dir) if model_dir and Path(model_dir).is_dir() else None
    if choice == "auto":
        if own is not None:
            return own
        return PoolingSpec("last" if model_type in DECODER_TYPES else "cls", source=f"{model_type} convention")
    # an explicit mode keeps the model's own normalisation when the model asks for one
    return PoolingSpec(choice, normalize=bool(own and own.normalize and own.mode == choice), source="--pooling")


def pool(hidden: torch.Tensor, mask: torch.Tensor, spec: PoolingSpec) -> torch.Tensor:
    """Sentence vectors ``[batch, dim]`` from token states ``[batch, seq, dim]`` and a 0/1 mask.

    Padding is on the right (fedflm's collator pads so); ``last`` reads the last real token.
    """
    m = mask.to(hidden.dtype).unsqueeze(-1)
    if spec.mode == "mean":
        out = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
    elif spec.mode == "cls":
        out = hidden[:, 0]
    elif spec.mode == "max":
        out = hidden.masked_fill(m == 0, torch.finfo(hidden.dtype).min).max(1).values
    else:  # last
        idx = (mask.sum(1).long() - 1).clamp(min=0)
        out = hidden[torch.arange(hidden.shape[0], device=hidden.device), idx]
    return torch.nn.functional.normalize(out, p=2, dim=-1) if spec.normalize else out
