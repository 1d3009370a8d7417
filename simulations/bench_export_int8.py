"""Benchmark: onnxruntime int8 variants of one exported run, side by side (issue 23).

    python simulations/bench_export_int8.py RUN_DIR [--texts 500] [--rounds 4] [--batch-size 32]

Variants: the export's int8 path (plain-attention graph, per-channel, reduce_range), the same from
the earlier sdpa-traced graph, without reduce_range, after onnxruntime's BERT fusion
(``onnxruntime.transformers.optimizer``: Attention, SkipLayerNorm, BiasGelu, then QAttention), and static
dynamic int8 of the attention score/context matmuls too (``MatMulConstBOnly`` off), and static quantisation
(``quantize_static``, activation ranges calibrated on the last --calibration rows of the server's own evaluation
set, which are carved off and left out of every accuracy and timing figure; never owners' training data): QDQ and
QOperator over every MatMul, QDQ over all the ops onnxruntime quantises, per-channel weights. Batches hold texts of similar token length
(``Predictor.probabilities``) for every model alike; ``--given-order`` batches in the evaluation set's order.
The models are timed in interleaved rounds (each round runs every model once) on one thread, and
the fastest pass of each counts, so a burst of load on this shared machine hits all of them alike.
Throughput is texts per CPU-second of this process, as in simulations/bench_export.py.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


class _Calibration:
    """onnxruntime's CalibrationDataReader protocol over encoded batches of ``texts``."""

    def __init__(self, pred, texts: list[str], batch_size: int = 32) -> None:
        self.batches = [pred.encode(texts[i:i + batch_size]) for i in range(0, len(texts), batch_size)]

    def get_next(self) -> dict | None:
        if not self.batches:
            return None
        return {k: v.numpy() for k, v in self.batches.pop(0).items()}


def static_variants(pred, plain: Path, calib: list[str], d: Path) -> dict[str, Path]:
    """Static int8 (calibrated activation ranges), QDQ and QOperator formats, per-channel weights."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    def q(dst: str, ops: list[str] | None, fmt=QuantFormat.QDQ) -> Path:
        quantize_static(str(plain), str(d / dst), _Calibration(pred, calib), quant_format=fmt,
                        op_types_to_quantize=ops, per_channel=True, reduce_range=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax)
        return d / dst
    return {"int8 static QDQ MatMul": q("static_mm.onnx", ["MatMul"]),
            "int8 static QOp MatMul": q("static_qop_mm.onnx", ["MatMul"], QuantFormat.QOperator),
            "int8 static QDQ all": q("static_all.onnx", None)}


def variants(merged, sample, d: Path) -> dict[str, Path]:
    """The ONNX files to compare, written into ``d``."""
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers import optimizer

    from fedflm.export.onnx_export import export_onnx, quantize_onnx

    plain, sdpa = export_onnx(merged, sample, d / "plain.onnx"), export_onnx(merged, sample, d / "sdpa.onnx", False)
    cfg = merged.encoder.config
    fused = optimizer.optimize_model(str(plain), model_type="bert", num_heads=cfg.num_attention_heads,
                                     hidden_size=cfg.hidden_size)
    print("onnxruntime BERT fusion:", {k: v for k, v in fused.get_fused_operator_statistics().items() if v})
    fused.save_model_to_file(str(d / "fused.onnx"))

    def q(src: str, dst: str, reduce_range: bool = True, **extra) -> Path:
        quantize_dynamic(str(d / src), str(d / dst), weight_type=QuantType.QInt8, per_channel=True,
                         reduce_range=reduce_range, extra_options={"DefaultTensorType": TensorProto.FLOAT, **extra})
        return d / dst
    return {"onnx_fp32": plain, "int8 export path": quantize_onnx(plain, d / "plain.int8.onnx"),
            "int8 sdpa graph": quantize_onnx(sdpa, d / "sdpa.int8.onnx"),
            "int8 no reduce_range": q("plain.onnx", "plain.int8nr.onnx", False),
            "int8 + attn matmuls": q("plain.onnx", "plain.int8att.onnx", MatMulConstBOnly=False),
            "int8 ORT-fused": q("fused.onnx", "fused.int8.onnx")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--texts", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--calibration", type=int, default=256,
                    help="rows at the end of the server's evaluation set that calibrate static int8 (left out of "
                         "the figures)")
    ap.add_argument("--given-order", action="store_true", help="batches in the given order, not by length")
    args = ap.parse_args()

    import numpy as np
    import torch

    torch.set_num_threads(1)
    logging.getLogger().setLevel(logging.ERROR)
    from fedflm.export.merged import load_merged
    from fedflm.export.predictor import open_model
    from fedflm.export.run_export import ExportConfig, eval_rows, export_run

    out = Path(tempfile.mkdtemp(prefix="bench-int8-"))
    export_run(args.run_dir, ExportConfig(format="onnx", out=str(out / "onnx"), eval_samples=args.texts))
    export_run(args.run_dir, ExportConfig(format="merged", out=str(out / "merged"), eval_samples=args.texts))
    texts, labels = eval_rows(args.run_dir, 0)
    if len(texts) < args.calibration + 1:
        raise SystemExit(f"the evaluation set has {len(texts)} rows; --calibration {args.calibration} leaves none")
    calib = texts[-args.calibration:]  # server-side text, carved off: neither timed nor scored
    texts, labels = texts[:-args.calibration][:args.texts], labels[:-args.calibration][:args.texts]
    merged, _ = load_merged(out / "merged")
    pt = open_model(out / "merged")
    files = variants(merged, pt.encode(texts[:8]), out)
    files.update(static_variants(pt, files["onnx_fp32"], calib, out))
    models = {"pytorch_fp32": pt}
    for name, f in files.items():
        (out / "onnx" / "model.onnx").unlink()
        (out / "onnx" / "model.onnx").symlink_to(f)
        models[name] = open_model(out / "onnx", threads=1)
    best, acc = dict.fromkeys(models, float("inf")), {}
    for m in models.values():
        m.probabilities(texts[:args.batch_size], args.batch_size)  # warm-up
    for _ in range(args.rounds):
        for name, m in models.items():
            cpu0 = time.process_time()
            probs = m.probabilities(texts, args.batch_size, by_length=not args.given_order)
            best[name] = min(best[name], time.process_time() - cpu0)
            acc[name] = float((probs.argmax(1) == np.asarray(labels)).mean())
    print(f"{len(texts)} rows, batch {args.batch_size} ({'given order' if args.given_order else 'by length'}), "
          f"1 thread, {args.rounds} interleaved rounds, static int8 calibrated on {len(calib)} carved-off evaluation rows, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'model':<22}{'texts/CPU-s':>12}{'x PT fp32':>10}{'x ONNX fp32':>12}{'accuracy':>10}")
    for name in models:
        speed = len(texts) / best[name]
        print(f"{name:<22}{speed:>12.1f}{best['pytorch_fp32'] / best[name]:>10.2f}"
              f"{best['onnx_fp32'] / best[name]:>12.2f}{100 * acc[name]:>9.2f}%")


if __name__ == "__main__":
    main()
