"""Build a LoRA sequence classifier and move its adapter state in and out.

Only the trainable tensors (LoRA matrices and the classification head) ever
leave this module as ``numpy`` arrays; the frozen base stays where it is.
"""

from __future__ import annotations

import json
import warnings
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
from peft import LoraConfig, PeftModel, TaskType, get_peft_model
from peft import get_peft_model_state_dict, set_peft_model_state_dict
from transformers import AutoModelForSequenceClassification, AutoTokenizer, PreTrainedTokenizerBase
from transformers.utils import logging as hf_logging

from fedflm.config import ModelConfig
from fedflm.errors import ModelError
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
    """Pretrained base + fresh head + LoRA adapter; only adapter and head are trainable."""
    path = resolve_model_path(cfg.model)
    torch.manual_seed(seed)
    id2label = dict(enumerate(label_names))
    hf_logging.set_verbosity_error()  # "newly initialized classifier" is expected here
    hf_logging.disable_progress_bar()
    try:
        base = AutoModelForSequenceClassification.from_pretrained(
            path, num_labels=len(label_names), id2label=id2label,
            label2id={v: k for k, v in id2label.items()})
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot load model {cfg.model!r}: {str(exc).splitlines()[0]}") from None
    finally:
        hf_logging.set_verbosity_warning()
    if base.config.pad_token_id is None:
        base.config.pad_token_id = base.config.eos_token_id or 0
    model_type = base.config.model_type
    lcfg = LoraConfig(task_type=TaskType.SEQ_CLS, r=cfg.lora_r, lora_alpha=cfg.lora_alpha,
                      lora_dropout=cfg.lora_dropout,
                      target_modules=list(cfg.target_modules or default_targets(model_type)),
                      fan_in_fan_out=model_type in FAN_IN_FAN_OUT,
                      layers_to_transform=_top_layers(base.config, cfg.lora_layers))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fan_in_fan_out notices for Conv1D layers
        model = get_peft_model(base, lcfg)
    return model


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


def get_adapter_state(model: PeftModel) -> "OrderedDict[str, np.ndarray]":
    """The trainable tensors (LoRA + head) as numpy arrays, in a stable order."""
    state = get_peft_model_state_dict(model)
    return OrderedDict((k, v.detach().cpu().numpy().copy()) for k, v in state.items())


def set_adapter_state(model: PeftModel, state: dict[str, np.ndarray]) -> None:
    """Load trainable tensors; refuses missing, unexpected or mis-shaped tensors."""
    current = get_peft_model_state_dict(model)
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
    """peft ``save_pretrained`` + ``labels.json``; ``PeftModel.from_pretrained`` loads it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out_dir))
    (out_dir / "labels.json").write_text(json.dumps({"label_names": list(label_names)}, indent=2))
