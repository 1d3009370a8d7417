"""``fedflm export RUN_DIR --format adapter|merged|onnx [--quantize int8] --out DIR``."""

from __future__ import annotations

import argparse

from fedflm.cli.command import add_command


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = add_command(
        sub, "export", run, "export a finished run (adapter, merged model, ONNX; int8) with a model card",
        "Write a finished run's model as a peft adapter, a merged transformers model "
        "(a --task causal-lm run: the causal LM with LoRA merged in; a --task recommend run: the "
        "encoder and the towers, --format merged or onnx) "
        "(LoRA folded in; pooling and head beside it) or ONNX (dynamic batch and sequence "
        "axes, checked against PyTorch), optionally int8 (dynamic quantisation; size and "
        "accuracy change on the run's evaluation set are reported). Every export carries "
        "a model card: README.md and model_card.json.")
    p.add_argument("run_dir", metavar="RUN_DIR", help="run directory of a finished run")
    p.add_argument("--format", default="merged", choices=("adapter", "merged", "onnx"),
                   help="what to write (default merged)")
    p.add_argument("--quantize", default="none", choices=("none", "int8"),
                   help="also write a dynamically quantised int8 model (merged or onnx)")
    p.add_argument("--out", required=True, help="output directory (new or empty)")
    p.add_argument("--tolerance", type=float, default=1e-3,
                   help="largest |logit difference| ONNX vs PyTorch accepted (default 1e-3)")
    p.add_argument("--eval-samples", type=int, default=0,
                   help="rows of the run's evaluation set for the int8 accuracy (default 0 = all)")


def run(args: argparse.Namespace) -> int:
    from fedflm.export.run_export import ExportConfig

    cfg = ExportConfig(format=args.format, quantize=args.quantize, out=args.out, tolerance=args.tolerance,
                       eval_samples=args.eval_samples)  # validated before the heavy imports
    from fedflm.cli.display import console
    from fedflm.export.run_export import export_run

    with console.status(f"exporting {args.run_dir} as {cfg.format}" + (" + int8" if cfg.quantize == "int8" else "")):
        res = export_run(args.run_dir, cfg)
    for key in ("parity", "parity_onnx"):
        if key in res:
            par = res[key]
            what = ("logit", "rows") if "max_abs_logit_diff" in par else ("score", "users")
            onnx = key == "parity_onnx" or (cfg.format == "onnx" and "parity_onnx" not in res)
            label = "ONNX parity" if onnx else "export parity"  # a merged causal LM is checked against its adapter
            console.print(f"{label}: max |{what[0]} difference| "
                          f"{par[f'max_abs_{what[0]}_diff']:.3g} on {par[what[1]]} {what[1]} "
                          f"(tolerance {par['tolerance']:g})")
    if "int8" in res:
        q = res["int8"]
        console.print(f"int8: {q['fp32_bytes'] / 1e6:.2f} MB -> {q['int8_bytes'] / 1e6:.2f} MB; accuracy "
                      f"{100 * q['accuracy_fp32']:.2f}% -> {100 * q['accuracy_int8']:.2f}% "
                      f"({q['accuracy_change_points']:+.2f} points, {q['eval_rows']} evaluation rows)")
    console.print(f"export written: [bold]{cfg.out}[/] ({', '.join(res['files'])}; {res['seconds']:.1f} s)")
    return 0
