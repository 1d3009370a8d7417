"""ONNX export of the merged classifier, verified against PyTorch, and its int8 form.

Inputs ``input_ids`` and ``attention_mask`` (int64, ``[batch, sequence]``, both axes dynamic),
output ``logits`` (``[batch, labels]``). The TorchScript-based exporter (``dynamo=False``)
is used: it handles these models in seconds and needs no extra package; the parity check
below is what makes the file trustworthy, whichever exporter wrote it. Attention is traced in its
plain ("eager") form, not through ``scaled_dot_product_attention``: the same numbers, and the graph
onnxruntime's int8 path ran 5-11 % faster in ``simulations/bench_export_int8.py`` (issue 23).
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager, nullcontext
from pathlib import Path

import numpy as np
import torch
from torch import nn

from fedflm.errors import ExportError

INPUTS = ("input_ids", "attention_mask")
OPSET = 17


class _LogitsOnly(nn.Module):
    """``(input_ids, attention_mask) -> logits``: the signature the ONNX graph gets."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=input_ids, attention_mask=attention_mask).logits


@contextmanager
def eager_attention(model: nn.Module):
    """Within the block, every transformers model inside ``model`` computes attention in plain ops."""
    saved = [(m, m.config._attn_implementation) for m in model.modules()
             if hasattr(m, "set_attn_implementation") and hasattr(m, "config")]
    for m, _ in saved:
        m.set_attn_implementation("eager")
    try:
        yield model
    finally:
        for m, impl in saved:
            m.set_attn_implementation(impl)


def export_onnx(model: nn.Module, sample: dict[str, torch.Tensor], path: Path, plain_attention: bool = True) -> Path:
    """Write ``model`` (a merged classifier) to ``path`` with dynamic batch and sequence axes
    (``plain_attention=False``: attention as the model computes it, for comparisons)."""
    need("onnx")
    axes = {name: {0: "batch", 1: "sequence"} for name in INPUTS}
    axes["logits"] = {0: "batch"}
    with warnings.catch_warnings(), (eager_attention(model) if plain_attention else nullcontext()):
        warnings.simplefilter("ignore")  # tracer notices about Python conditionals on shapes
        torch.onnx.export(_LogitsOnly(model).eval(), (sample["input_ids"], sample["attention_mask"]), str(path),
                          input_names=list(INPUTS), output_names=["logits"], dynamic_axes=axes,
                          opset_version=OPSET, dynamo=False)
    return path


def need(module: str):
    """Import an optional dependency of exports, or say how to install it."""
    import importlib
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ExportError(f"this needs the Python package {module.split('.')[0]}: "
                          "pip install 'fedflm[export]'") from None


def session(path: Path, threads: int = 0):
    """An onnxruntime CPU session for ``path`` (``threads`` 0: onnxruntime's default)."""
    ort = need("onnxruntime")

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1 if threads else 0
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def onnx_logits(sess, batch: dict[str, torch.Tensor]) -> np.ndarray:
    feeds = {name: batch[name].to(torch.int64).numpy() for name in INPUTS}
    return sess.run(["logits"], feeds)[0]


def parity(model: nn.Module, path: Path, batches: list[dict[str, torch.Tensor]], tolerance: float) -> dict:
    """Max absolute logit difference ONNX vs PyTorch over ``batches``; raises above ``tolerance``."""
    sess = session(path)
    worst = 0.0
    rows = 0
    with torch.no_grad():
        for batch in batches:
            ref = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.numpy()
            worst = max(worst, float(np.abs(onnx_logits(sess, batch) - ref).max()))
            rows += len(ref)
    report = {"max_abs_logit_diff": worst, "tolerance": tolerance, "rows": rows,
              "shapes": [list(b["input_ids"].shape) for b in batches]}
    if not worst <= tolerance:
        raise ExportError(f"{path}: ONNX logits differ from PyTorch by {worst:.3g} (> tolerance {tolerance:g}) "
                          f"on {rows} sample rows")
    return report


def quantize_onnx(src: Path, dst: Path) -> Path:
    """onnxruntime dynamic quantisation: int8 weights (per output channel) for MatMul/Gemm, activations
    quantised at run time. Every other int8 form measured was slower on MiniLM/SST-2
    (``simulations/bench_export_int8.py``, 616 rows, load 17, texts per CPU-second x PyTorch fp32: this path
    4.03x and -0.5 points; static QDQ MatMul 3.26x, static QOperator MatMul 3.29x, static QDQ all ops 3.61x and
    -10 points, all calibrated on rows carved off the server's evaluation set; int8 attention matmuls 3.78x;
    onnxruntime's BERT fusion + QAttention 2.98x), so static quantisation is not offered."""
    import logging

    quantization = need("onnxruntime.quantization")
    QuantType, quantize_dynamic = quantization.QuantType, quantization.quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # "consider pre-processing" notice on the root logger
    try:
        # per-channel weight scales: per-tensor int8 lost 4.2 accuracy points on SST-2 (MiniLM, 500 rows),
        # per-channel 0 (simulations/bench_export.py); reduce_range (7-bit weights) avoids int16
        # saturation on x86 CPUs without VNNI
        quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, per_channel=True, reduce_range=True)
    finally:
        root.setLevel(level)
    return dst
