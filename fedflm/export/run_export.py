"""``fedflm export``: a finished run as an adapter, a merged model or ONNX, optionally int8, with its card.

Every export is checked before it is called done: ONNX logits against PyTorch on rows of the
run's own evaluation set (fails above the tolerance), and the int8 model's accuracy on that
evaluation set next to the fp32 one (reported, with both file sizes).
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fedflm.errors import ExportError
from fedflm.export.card import build_card, read_run_config, write_card
from fedflm.export.dirs import check_finished, prepare_out
from fedflm.export.predictor import FORMATS, ONNX_FILE, ONNX_INT8_FILE, Predictor, accuracy, open_model
from fedflm.export.task_export import export_task_run, run_task

QUANTIZE = ("none", "int8")
HOW_TO_LOAD = {
    "adapter": "A peft LoRA adapter plus the fedflm head (`fedflm_head.json`: base model, labels, pooling). "
               "Load with `fedflm.models.classifier.load_classifier(DIR)` or `fedflm predict DIR TEXT`.",
    "merged": "The encoder with LoRA merged in is a standard transformers checkpoint: "
              "`AutoModel.from_pretrained(DIR)`, `AutoTokenizer.from_pretrained(DIR)`. The pooling "
              "(`fedflm_head.json`) and the linear head (`classifier.safetensors`: weight [labels, hidden], "
              "bias [labels]) are stored beside it; `fedflm.export.merged.load_merged(DIR)` joins them. "
              "`model_int8.pt` (with --quantize int8): PyTorch dynamic-int8 state dict "
              "(`load_merged(DIR, int8=True)`).",
    "onnx": "`model.onnx`: inputs input_ids, attention_mask (int64, [batch, sequence], dynamic), output "
            "logits [batch, labels]; tokenizer files beside it. `model.int8.onnx` (with --quantize int8): "
            "onnxruntime dynamic int8. Run with onnxruntime or `fedflm predict DIR TEXT`.",
}


@dataclass(frozen=True)
class ExportConfig:
    """What to export and where."""

    format: str = "merged"
    quantize: str = "none"
    out: str = ""
    tolerance: float = 1e-3  # max |logit difference| ONNX vs PyTorch
    eval_samples: int = 0  # rows of the run's evaluation set for the int8 accuracy (0 = all)

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ExportError(f"format must be one of {', '.join(FORMATS)}, got {self.format!r}")
        if self.quantize not in QUANTIZE:
            raise ExportError(f"quantize must be none or int8, got {self.quantize!r}")
        if self.quantize == "int8" and self.format == "adapter":
            raise ExportError("--quantize int8 needs --format merged or onnx (an adapter is applied to fp32 weights)")
        if not self.out:
            raise ExportError("--out DIR is required")
        if not self.tolerance > 0:
            raise ExportError(f"tolerance must be > 0, got {self.tolerance}")
        if self.eval_samples < 0:
            raise ExportError(f"eval_samples must be >= 0 (0 = all), got {self.eval_samples}")


def check_run_dir(run_dir: Path) -> None:
    check_finished(run_dir)
    if not (run_dir / "adapter" / "adapter_config.json").is_file():
        raise ExportError(f"{run_dir / 'adapter'}: no adapter (not a finished fedflm run directory)")


def eval_rows(run_dir: Path, limit: int = 0) -> tuple[list[str], list[int]]:
    """The server's evaluation set of the run (texts, label ids), re-derived from its config."""
    from fedflm.config import RunConfig
    from fedflm.data.load import load_federated_data

    cfg = RunConfig.from_flat(read_run_config(run_dir))
    data = load_federated_data(cfg.data, cfg.fed.seed)
    ds = data.eval if not limit or limit >= len(data.eval) else data.eval.select(range(limit))
    return list(ds["text"]), [int(y) for y in ds["label"]]


def _int8_report(fp32: Predictor, int8: Predictor, fp32_file: Path, int8_file: Path,
                 texts: list[str], labels: list[int]) -> dict[str, Any]:
    acc32, acc8 = accuracy(fp32, texts, labels), accuracy(int8, texts, labels)
    return {"fp32_bytes": fp32_file.stat().st_size, "int8_bytes": int8_file.stat().st_size,
            "accuracy_fp32": acc32, "accuracy_int8": acc8,
            "accuracy_change_points": round(100 * (acc8 - acc32), 3), "eval_rows": len(texts)}


def export_run(run_dir: str | Path, cfg: ExportConfig) -> dict[str, Any]:
    """Write the export; returns what the card's ``export`` section says (files, parity, int8)."""
    run_dir, out = Path(run_dir), Path(cfg.out)
    if not run_dir.is_dir():
        raise ExportError(f"{run_dir}: run directory not found")
    task = run_task(run_dir)
    if task != "classify":  # issue 25: the merged causal LM, or the recommender's encoder and towers
        return export_task_run(run_dir, task, cfg.format, cfg.quantize, out, cfg.tolerance)
    check_run_dir(run_dir)
    card = build_card(run_dir)
    prepare_out(out)
    t0 = time.perf_counter()
    source = open_model(run_dir / "adapter")
    export: dict[str, Any] = {"format": cfg.format, "quantize": cfg.quantize, "how_to_load": HOW_TO_LOAD[cfg.format]}
    write_card(out, card, export)  # first: loading the export back reads max length and de-id from it
    if cfg.format == "adapter":
        for f in (run_dir / "adapter").iterdir():
            if f.is_file() and f.name != "README.md":
                shutil.copy2(f, out / f.name)
        source.tokenizer.save_pretrained(str(out))
    else:
        export.update(_export_merged_or_onnx(run_dir, source, card, cfg, out))
    export["files"] = sorted(p.name for p in out.iterdir())
    export["seconds"] = round(time.perf_counter() - t0, 2)
    write_card(out, card, export)
    return {**export, "files": sorted(p.name for p in out.iterdir())}


def _export_merged_or_onnx(run_dir: Path, source: Predictor, card: dict[str, Any], cfg: ExportConfig,
                           out: Path) -> dict[str, Any]:
    from fedflm.export.merged import merge_adapter, quantize_torch, save_int8, save_merged

    merged = merge_adapter(source.torch_model)
    base, labels = card["base_model"], tuple(card["labels"])
    result: dict[str, Any] = {}
    texts, gold = (eval_rows(run_dir, cfg.eval_samples) if cfg.quantize == "int8" or cfg.format == "onnx"
                   else ([], []))
    if cfg.format == "merged":
        save_merged(merged, source.tokenizer, out, base, labels)
        if cfg.quantize == "int8":
            int8_file = save_int8(quantize_torch(merged), out)
            result["int8"] = _int8_report(open_model(out), open_model(out, int8=True),
                                          out / "model.safetensors", int8_file, texts, gold)
        return result
    from fedflm.export.onnx_export import export_onnx, parity, quantize_onnx
    from fedflm.models.classifier import write_head_config

    source.tokenizer.save_pretrained(str(out))
    write_head_config(out, base, labels, merged.pooling)
    sample = source.encode(texts[:8] or ["a", "a longer sample sentence"])
    export_onnx(merged, sample, out / ONNX_FILE)
    # several batch sizes and sequence lengths (the axes are dynamic): eval rows, then one short text
    checks = [source.encode(texts[i:i + n]) for i, n in ((0, 16), (16, 3)) if texts[i:i + n]]
    checks.append(source.encode(["ok"]))
    result["parity"] = parity(merged, out / ONNX_FILE, checks, cfg.tolerance)
    if cfg.quantize == "int8":
        quantize_onnx(out / ONNX_FILE, out / ONNX_INT8_FILE)
        result["int8"] = _int8_report(open_model(out), open_model(out, int8=True), out / ONNX_FILE,
                                      out / ONNX_INT8_FILE, texts, gold)
    return result
