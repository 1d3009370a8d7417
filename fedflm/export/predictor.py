"""Open any fedflm model (run directory, adapter, merged export, ONNX file) and predict with it.

:func:`open_model` tells the format from the files and returns a :class:`Predictor`: the
tokenizer, the labels, the model card's settings (max length, de-identification) and a
``logits`` function over a padded batch, PyTorch or onnxruntime behind it.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from fedflm.errors import ExportError
from fedflm.export.card import read_card

FORMATS = ("adapter", "merged", "onnx")
ONNX_FILE, ONNX_INT8_FILE = "model.onnx", "model.int8.onnx"


@dataclass
class Predictor:
    """A ready classifier: ``probabilities(texts)`` -> ``[n, labels]``."""

    kind: str
    path: Path
    label_names: tuple[str, ...]
    tokenizer: Any
    max_length: int
    deid: bool
    run: Callable[[dict[str, torch.Tensor]], np.ndarray]
    torch_model: torch.nn.Module | None = None  # for explanations (None for ONNX)
    card: dict[str, Any] = field(default_factory=dict)

    def encode(self, texts: list[str]) -> dict[str, torch.Tensor]:
        enc = self.tokenizer(list(texts), padding=True, truncation=True, max_length=self.max_length,
                             return_tensors="pt")
        return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}

    def logits(self, texts: list[str]) -> np.ndarray:
        return self.run(self.encode(texts))

    def probabilities(self, texts: list[str], batch_size: int = 32,
                      on_batch: Callable[[int], None] | None = None, by_length: bool = True) -> np.ndarray:
        """``[n, labels]`` in the order of ``texts``. ``by_length``: each batch holds texts of similar token
        count (less padding, the same numbers); ``False``: batches in the given order."""
        if not texts:
            return np.zeros((0, len(self.label_names)))
        ids = self.tokenizer(list(texts), truncation=True, max_length=self.max_length)["input_ids"]
        order = np.argsort([len(x) for x in ids], kind="stable") if by_length else np.arange(len(texts))
        out = np.zeros((len(texts), len(self.label_names)), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            rows = order[start:start + batch_size]
            out[rows] = softmax(self.run(pad([ids[i] for i in rows], self.tokenizer.pad_token_id)))
            if on_batch is not None:
                on_batch(len(rows))
        return out


def pad(ids: list[list[int]], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-padded ``input_ids`` and ``attention_mask`` (what the tokenizer's ``padding=True`` gives)."""
    width = max(len(x) for x in ids)
    input_ids = torch.full((len(ids), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(ids), width), dtype=torch.long)
    for row, x in enumerate(ids):
        input_ids[row, :len(x)] = torch.tensor(x, dtype=torch.long)
        mask[row, :len(x)] = 1
    return {"input_ids": input_ids, "attention_mask": mask}


def softmax(x: np.ndarray) -> np.ndarray:
    z = np.exp(x - x.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def detect_format(path: Path) -> tuple[str, Path]:
    """(format, the directory or file to load) for a run dir, adapter dir, merged dir or ONNX file."""
    if path.is_file() and path.suffix == ".onnx":
        return "onnx", path
    if not path.is_dir():
        raise ExportError(f"{path}: not found (give a run directory, an export directory or an .onnx file)")
    if (path / ONNX_FILE).is_file():
        return "onnx", path / ONNX_FILE
    if (path / "classifier.safetensors").is_file():
        return "merged", path
    if (path / "adapter_config.json").is_file():
        return "adapter", path
    if (path / "adapter" / "adapter_config.json").is_file():
        return "adapter", path / "adapter"
    raise ExportError(f"{path}: not a fedflm model (no model.onnx, classifier.safetensors or adapter_config.json)")


def _settings(model_dir: Path) -> dict[str, Any]:
    """max_length and de-identification from the export's card, or from the run's config.toml."""
    card = read_card(model_dir)
    if card is not None:
        return {"max_length": int(card.get("max_length", 128)),
                "deid": bool(card.get("deidentification", {}).get("enabled", False)), "card": card}
    config = model_dir.parent / "config.toml"  # RUN/adapter -> RUN/config.toml
    if config.is_file():
        data = tomllib.loads(config.read_text()).get("data", {})
        return {"max_length": int(data.get("max_length", 128)), "deid": bool(data.get("prepare", False)), "card": {}}
    return {"max_length": 128, "deid": False, "card": {}}


def _tokenizer(model_dir: Path, base_model: str):
    from transformers import AutoTokenizer

    from fedflm.models.registry import resolve_model_path

    source = str(model_dir) if (model_dir / "tokenizer_config.json").is_file() else resolve_model_path(base_model)
    tok = AutoTokenizer.from_pretrained(source)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token or tok.unk_token
    tok.padding_side = "right"  # pooling reads the last real token on the right
    return tok


def _torch_runner(model: torch.nn.Module) -> Callable[[dict[str, torch.Tensor]], np.ndarray]:
    def run(batch: dict[str, torch.Tensor]) -> np.ndarray:
        with torch.inference_mode():
            return model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.float().numpy()
    return run


def open_model(path: str | Path, int8: bool = False, base_model: str | None = None, threads: int = 0) -> Predictor:
    """Load ``path`` (any fedflm format); ``int8`` picks the quantised weights of a merged or ONNX export;
    ``threads``: onnxruntime's intra-op threads (0 = its default; PyTorch follows torch.set_num_threads)."""
    from fedflm.models.classifier import read_head_config

    kind, target = detect_format(Path(path))
    model_dir = target.parent if kind == "onnx" else target
    head = read_head_config(model_dir)
    settings = _settings(model_dir)
    tok = _tokenizer(model_dir, base_model or head["base_model"])
    torch_model = None
    if kind == "adapter":
        from fedflm.models.classifier import load_classifier
        torch_model = load_classifier(model_dir, base_model)
        run = _torch_runner(torch_model)
    elif kind == "merged":
        from fedflm.export.merged import load_merged
        torch_model, _ = load_merged(model_dir, int8=int8)
        run = _torch_runner(torch_model)
    else:
        from fedflm.export.onnx_export import onnx_logits, session
        if int8 and target.name == ONNX_FILE:
            target = target.with_name(ONNX_INT8_FILE)
        if not target.is_file():
            raise ExportError(f"{target}: not found (export with --format onnx --quantize int8)")
        sess = session(target, threads)
        run = lambda batch: onnx_logits(sess, batch)  # noqa: E731
    return Predictor(kind=kind, path=target, label_names=tuple(head["label_names"]), tokenizer=tok,
                     max_length=settings["max_length"], deid=settings["deid"], run=run,
                     torch_model=torch_model, card=settings["card"])


def accuracy(pred: Predictor, texts: list[str], labels: list[int], batch_size: int = 64) -> float:
    """Share of ``texts`` whose most probable label is ``labels``."""
    if not texts:
        raise ExportError("accuracy on an empty evaluation set")
    probs = pred.probabilities(texts, batch_size)
    return float((probs.argmax(1) == np.asarray(labels)).mean())

