"""Build a LoRA text classifier and move its adapter state in and out.

The model is :class:`~fedflm.models.classifier.PooledClassifier` (encoder -> the pooling
the checkpoint was trained with -> zero-initialised linear head) with LoRA on the encoder's
attention. Only the adapter tensors (LoRA matrices and the head) ever leave this module as
``numpy`` arrays; the frozen base stays where it is. Every training mode (head, lora,
lp-ft) builds the same tensors, so the federation's arrays keep one structure; in head
mode and the head phase of lp-ft the LoRA tensors stay frozen at their initial value
(B = 0: the encoder is exactly the pretrained one).
"""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
from peft import LoraConfig, PeftModel, get_peft_model
from peft import get_peft_model_state_dict, set_peft_model_state_dict
from transformers import AutoTokenizer, PreTrainedTokenizerBase

from fedflm.config import ModelConfig
from fedflm.errors import ModelError
from fedflm.models.classifier import PooledClassifier, write_head_config
from fedflm.models.pooling import resolve_pooling
from fedflm.models.registry import FAN_IN_FAN_OUT, default_targets, resolve_model_path


def resolve_device(device: str) -> torch.device:
    """``auto`` picks CUDA when present, else CPU."""
    if device == "cuda" and not torch.cuda.is_available():
        raise ModelError("device 'cuda' requested but no CUDA GPU is available")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def load_tokenizer(cfg: ModelConfig) -> PreTrainedTokenizerBase:
    """The model's tokenizer, with a pad token guaranteed."""
    tok = AutoTokenizer.from_pretrained(resolve_model_path(cfg.model))
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token or tok.unk_token
    return tok


def build_model(cfg: ModelConfig, label_names: tuple[str, ...], seed: int) -> PeftModel:
    """Pretrained encoder + pooling + zero head + LoRA adapter; only adapter and head are trainable."""
    path = resolve_model_path(cfg.model)
    torch.manual_seed(seed)
    config_type = config_model_type(path)
    pooling = resolve_pooling(cfg.pooling, path, config_type)
    base = PooledClassifier.from_pretrained(path, len(label_names), pooling)
    model_type = base.config.model_type
    lcfg = LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha,
                      lora_dropout=cfg.lora_dropout,
                      target_modules=list(cfg.target_modules or default_targets(model_type)),
                      fan_in_fan_out=model_type in FAN_IN_FAN_OUT,
                      layers_to_transform=_top_layers(base.config, cfg.lora_layers),
                      modules_to_save=["classifier"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fan_in_fan_out notices for Conv1D layers
        model = get_peft_model(base, lcfg)
    model.fedflm_base = cfg.model  # what save_adapter records as the base model
    model.fedflm_variant = cfg.lora_variant
    if cfg.lora_variant == "ffa":
        seed_lora_a(model, seed)
    return model


def seed_lora_a(model: PeftModel, seed: int) -> None:
    """FFA-LoRA (Sun et al., ICLR 2024): each A matrix from its own generator, seeded by the run's seed
    and the tensor's name, so that the server and every client hold the same frozen A whatever else
    drew random numbers before (peft's own initialisation: Kaiming uniform, a = sqrt(5))."""
    for name, p in model.named_parameters():
        if "lora_A" in name:
            digest = hashlib.sha256(f"{seed}|{name}".encode()).digest()
            gen = torch.Generator().manual_seed(int.from_bytes(digest[:8], "big") >> 1)
            with torch.no_grad():
                torch.nn.init.kaiming_uniform_(p, a=math.sqrt(5), generator=gen)


def config_model_type(path: str) -> str:
    """The ``model_type`` of the checkpoint at ``path`` (what pooling and LoRA targets are chosen by)."""
    from transformers import AutoConfig
    try:
        return str(AutoConfig.from_pretrained(path).model_type)
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot load model {path!r}: {str(exc).splitlines()[0]}") from None


def pooled_classifier(model: PeftModel) -> PooledClassifier:
    """The :class:`PooledClassifier` inside a peft model (its LoRA layers injected)."""
    inner = model.base_model.model
    if not isinstance(inner, PooledClassifier):
        raise ModelError(f"not a fedflm classifier: {type(inner).__name__}")
    return inner


def head_linear(model: PeftModel) -> torch.nn.Linear:
    """The trainable linear head (peft keeps it as a module to save)."""
    head = pooled_classifier(model).classifier
    saved = getattr(head, "modules_to_save", None)
    return next(iter(saved.values())) if saved else head


@torch.no_grad()
def set_head(model: PeftModel, weight: torch.Tensor, bias: torch.Tensor) -> None:
    """Overwrite the head's weight ``[classes, hidden]`` and bias ``[classes]``."""
    lin = head_linear(model)
    if tuple(weight.shape) != tuple(lin.weight.shape) or tuple(bias.shape) != tuple(lin.bias.shape):
        raise ModelError(f"head shape {tuple(weight.shape)} / {tuple(bias.shape)} != model "
                         f"{tuple(lin.weight.shape)} / {tuple(lin.bias.shape)}")
    lin.weight.copy_(weight)
    lin.bias.copy_(bias)


def set_phase(model: PeftModel, phase: str) -> None:
    """``head``: only the head is trainable (LoRA frozen); ``lora``: LoRA and head."""
    if phase not in ("head", "lora"):
        raise ModelError(f"training phase must be head or lora, got {phase!r}")
    ffa = getattr(model, "fedflm_variant", "standard") == "ffa"
    for name, p in model.named_parameters():
        if "lora_" in name:
            p.requires_grad_(phase == "lora" and not (ffa and "lora_A" in name))  # FFA: A stays frozen
        elif "classifier.modules_to_save" in name:
            p.requires_grad_(True)


def _top_layers(config, top: int) -> list[int] | None:
    """Indices of the top ``top`` transformer layers (None = every layer)."""
    if top == 0:
        return None
    total = getattr(config, "num_hidden_layers", None)  # transformers maps GPT-2's n_layer onto it
    if not total:
        raise ModelError(f"lora_layers={top}: cannot tell how many layers model type "
                         f"{config.model_type!r} has; use lora_layers=0")
    if top > total:
        raise ModelError(f"lora_layers={top} but the model has only {total} layers")
    return list(range(total - top, total))


def _travelling_state(model: PeftModel) -> dict[str, torch.Tensor]:
    """The adapter tensors that travel: all of them, but no A matrix under FFA-LoRA (A is the seeded init)."""
    state = get_peft_model_state_dict(model)
    if getattr(model, "fedflm_variant", "standard") == "ffa":
        return {k: v for k, v in state.items() if "lora_A" not in k}
    return state


def get_adapter_state(model: PeftModel) -> "OrderedDict[str, np.ndarray]":
    """The trainable tensors (LoRA + head) as numpy arrays, in a stable order (FFA-LoRA: no A)."""
    state = _travelling_state(model)
    return OrderedDict((k, v.detach().cpu().numpy().copy()) for k, v in state.items())


def head_weight_key(model: PeftModel) -> str:
    """The head weight's name in :func:`get_adapter_state` (the prototype round's class sums travel in it)."""
    keys = [k for k in _travelling_state(model) if k.endswith("classifier.weight")]
    if len(keys) != 1:
        raise ModelError(f"expected one head weight among the adapter tensors, found {keys}")
    return keys[0]


def set_adapter_state(model: PeftModel, state: dict[str, np.ndarray]) -> None:
    """Load trainable tensors; refuses missing, unexpected or mis-shaped tensors."""
    current = _travelling_state(model)
    missing, extra = set(current) - set(state), set(state) - set(current)
    if missing or extra:
        raise ModelError(f"adapter state does not match the model: missing {sorted(missing)[:3]}, "
                         f"unexpected {sorted(extra)[:3]}")
    tensors = {}
    for k, ref in current.items():
        arr = np.asarray(state[k])
        if tuple(arr.shape) != tuple(ref.shape):
            raise ModelError(f"adapter tensor {k}: shape {arr.shape} != model {tuple(ref.shape)}")
        tensors[k] = torch.as_tensor(arr, dtype=ref.dtype)
    set_peft_model_state_dict(model, tensors)


def adapter_nbytes(state: dict[str, np.ndarray]) -> int:
    """Bytes of an adapter update as it travels (raw tensor bytes)."""
    return int(sum(np.asarray(v).nbytes for v in state.values()))


def model_nbytes(model: torch.nn.Module) -> int:
    """Bytes of all parameters of the full model (frozen base included)."""
    return int(sum(p.numel() * p.element_size() for p in model.parameters()))


def save_adapter(model: PeftModel, out_dir: Path, label_names: tuple[str, ...]) -> None:
    """peft ``save_pretrained`` + ``labels.json`` + ``fedflm_head.json`` (base, labels, pooling);
    :func:`fedflm.models.classifier.load_classifier` loads it (a few lines of peft)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out_dir))
    write_head_config(out_dir, getattr(model, "fedflm_base", ""), label_names, pooled_classifier(model).pooling)
    (out_dir / "labels.json").write_text(json.dumps({"label_names": list(label_names)}, indent=2))
