"""A text classifier as the encoder was trained to be read: encoder -> pooling -> linear head.

:class:`PooledClassifier` replaces ``AutoModelForSequenceClassification`` (whose head reads
a CLS pooler that sentence encoders never trained). The head is one ``nn.Linear`` on the
pooled (and, when the model asks for it, L2-normalised) sentence vector, initialised at
zero: every class starts equally likely and DP noise is the only thing that moves it
until the data does.

A saved adapter (``fedflm simulate`` writes ``RUN/adapter``) loads with peft and these
lines (:func:`load_classifier` does exactly this)::

    from peft import PeftModel
    from fedflm.models.classifier import PooledClassifier, PoolingSpec, read_head_config
    from fedflm.models.registry import resolve_model_path  # 'minilm' -> the packaged weights
    head = read_head_config(adapter_dir)          # base model, labels, pooling
    base = PooledClassifier.from_pretrained(resolve_model_path(head["base_model"]),
                                            len(head["label_names"]), PoolingSpec(**head["pooling"]))
    model = PeftModel.from_pretrained(base, adapter_dir).eval()
    logits = model(input_ids=..., attention_mask=...).logits
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import torch
from torch import nn
from transformers import AutoModel
from transformers.modeling_outputs import SequenceClassifierOutput
from transformers.utils import logging as hf_logging

from fedflm.errors import ModelError
from fedflm.models.pooling import PoolingSpec, pool

HEAD_FILE = "fedflm_head.json"


class PooledClassifier(nn.Module):
    """``encoder`` (a transformers ``AutoModel``) + ``pool`` + ``classifier`` (linear, zero init)."""

    def __init__(self, encoder: nn.Module, num_labels: int, pooling: PoolingSpec) -> None:
        super().__init__()
        self.encoder = encoder
        self.config = encoder.config
        self.pooling = pooling
        width = int(getattr(encoder.config, "hidden_size", 0) or getattr(encoder.config, "n_embd", 0))
        if width <= 0:
            raise ModelError(f"cannot tell the hidden size of model type {encoder.config.model_type!r}")
        self.classifier = nn.Linear(width, num_labels)
        nn.init.zeros_(self.classifier.weight)
        nn.init.zeros_(self.classifier.bias)

    @classmethod
    def from_pretrained(cls, path: str, num_labels: int, pooling: PoolingSpec) -> "PooledClassifier":
        hf_logging.set_verbosity_error()  # "unused weights (pooler, lm head)" is expected
        hf_logging.disable_progress_bar()
        try:
            encoder = AutoModel.from_pretrained(path)
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot load model {path!r}: {str(exc).splitlines()[0]}") from None
        finally:
            hf_logging.set_verbosity_warning()
        if getattr(encoder.config, "pad_token_id", None) is None:
            encoder.config.pad_token_id = getattr(encoder.config, "eos_token_id", None) or 0
        return cls(encoder, num_labels, pooling)

    def embed(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """The pooled sentence vectors ``[batch, hidden]``."""
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return pool(hidden, attention_mask, self.pooling)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                labels: torch.Tensor | None = None, **_: object) -> SequenceClassifierOutput:
        logits = self.classifier(self.embed(input_ids, attention_mask))
        loss = None if labels is None else nn.functional.cross_entropy(logits, labels)
        return SequenceClassifierOutput(loss=loss, logits=logits)


def write_head_config(out_dir: Path, base_model: str, label_names: tuple[str, ...],
                      pooling: PoolingSpec) -> None:
    """What, besides peft's own files, rebuilds the classifier: base model, labels, pooling."""
    (out_dir / HEAD_FILE).write_text(json.dumps({
        "base_model": base_model, "label_names": list(label_names),
        "pooling": dataclasses.asdict(pooling)}, indent=2))


def read_head_config(adapter_dir: str | Path) -> dict:
    path = Path(adapter_dir) / HEAD_FILE
    if not path.is_file():
        raise ModelError(f"{path}: not found (not a fedflm adapter directory)")
    return json.loads(path.read_text())


def load_classifier(adapter_dir: str | Path, base_model: str | None = None) -> nn.Module:
    """A saved fedflm adapter as a ready classifier (peft ``PeftModel``), in eval mode."""
    from peft import PeftModel

    from fedflm.models.registry import resolve_model_path

    head = read_head_config(adapter_dir)
    base = PooledClassifier.from_pretrained(resolve_model_path(base_model or head["base_model"]), len(head["label_names"]),
                                            PoolingSpec(**head["pooling"]))
    return PeftModel.from_pretrained(base, str(adapter_dir)).eval()
