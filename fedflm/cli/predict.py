"""``fedflm predict MODEL TEXT... | --input FILE [--output FILE]``: labels with probabilities."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from fedflm.cli.command import add_command
from fedflm.errors import DataError


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = add_command(
        sub, "predict", run, "classify texts with a run, an adapter, a merged model or an ONNX export",
        "Predict labels (with probabilities) for texts given on the command line or in a "
        "CSV/TSV/JSONL file. MODEL is a run directory, an export directory (adapter, merged "
        "or onnx) or an .onnx file. When the model card says the training text was "
        "de-identified, the inputs are de-identified the same way first (unless --no-deid). "
        "Options go before MODEL or after the texts (argparse cannot read them in between).")
    p.add_argument("model", metavar="MODEL", help="run directory, export directory or .onnx file")
    p.add_argument("texts", metavar="TEXT", nargs="*", help="texts to classify")
    p.add_argument("--input", type=Path, help="CSV/TSV (with a header) or JSONL file of texts")
    p.add_argument("--text-column", default="text", help="column (or JSON key) holding the text (default text)")
    p.add_argument("--output", type=Path, help="write predictions to this .csv/.tsv/.jsonl file")
    p.add_argument("--batch-size", type=int, default=32, help="texts per forward pass (default 32)")
    p.add_argument("--int8", action="store_true", help="use the int8 weights of a merged or ONNX export")
    p.add_argument("--no-deid", action="store_true",
                   help="do not de-identify the inputs even if the training text was")
    p.add_argument("--base-model", help="base model for an adapter (default: the one its head config names)")
    p.add_argument("--explain", action="store_true",
                   help="per-token attributions (integrated gradients, Captum) of the predicted label, coloured "
                        "in the terminal; needs the PyTorch fp32 model (run, adapter or merged export)")
    p.add_argument("--explain-html", type=Path, metavar="FILE", help="also write the explanations as an HTML page")
    p.add_argument("--explain-max", type=int, default=20, help="explain at most this many texts (default 20)")
    p.add_argument("--explain-steps", type=int, default=64, help="integration steps (default 64)")


def _inputs(args: argparse.Namespace) -> list[str]:
    from fedflm.export.predict_io import read_texts

    if args.input is not None and args.texts:
        raise DataError("give texts on the command line or --input FILE, not both")
    if args.batch_size < 1:
        raise DataError(f"--batch-size must be >= 1, got {args.batch_size}")
    texts = read_texts(args.input, args.text_column) if args.input is not None else list(args.texts)
    if not texts:
        raise DataError(f"{args.input}: no rows" if args.input else "no texts: give TEXT... or --input FILE")
    return texts


def run(args: argparse.Namespace) -> int:
    texts = _inputs(args)  # input errors first, before the heavy imports
    explaining = args.explain or args.explain_html is not None
    if explaining and (args.explain_max < 1 or args.explain_steps < 2):
        raise DataError(f"--explain-max must be >= 1 and --explain-steps >= 2, got {args.explain_max} "
                        f"and {args.explain_steps}")
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from fedflm.cli.display import console, warn
    from fedflm.export.predict_io import deidentify, prediction_rows, write_predictions
    from fedflm.export.predictor import open_model

    model = open_model(args.model, int8=args.int8, base_model=args.base_model)
    if explaining:
        from fedflm.export.explain import classifier_of
        classifier_of(model.torch_model or object())  # refuses ONNX and int8 before any work
    t0 = time.perf_counter()
    seen = texts
    if model.deid and not args.no_deid:
        seen = deidentify(texts)
        console.print(f"de-identified the inputs as the training text was ({time.perf_counter() - t0:.2f} s)")
    elif model.deid:
        warn("--no-deid: the training text was de-identified but these inputs are not")
    batch_mode = args.input is not None
    with Progress(TextColumn("predicting"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console, disable=not batch_mode) as bar:
        task = bar.add_task("predict", total=len(texts))
        t1 = time.perf_counter()
        probs = model.probabilities(seen, args.batch_size, on_batch=lambda n: bar.advance(task, n))
        model_s = time.perf_counter() - t1
    rows = prediction_rows(texts, probs, model.label_names)
    if args.output is not None:
        write_predictions(args.output, rows)
        console.print(f"predictions written: [bold]{args.output}[/]")
    else:
        _print_rows(rows)
    total_s = time.perf_counter() - t0
    if explaining:
        _explain(model, seen[:args.explain_max], args)
    console.print(f"{len(texts)} texts in {total_s:.2f} s: {len(texts) / max(total_s, 1e-9):.1f} texts/s "
                  f"({model.kind}{' int8' if args.int8 else ''}; model alone {len(texts) / max(model_s, 1e-9):.1f} "
                  "texts/s)")
    return 0


def _explain(model, texts: list[str], args: argparse.Namespace) -> None:
    from rich.console import Console

    from fedflm.cli.display import console
    from fedflm.export.explain import explain, html_page, terminal_text

    out = Console()
    found = []
    for text in texts:
        e = explain(model.torch_model, model.tokenizer, text, model.label_names, model.max_length,
                    steps=args.explain_steps)
        found.append(e)
        if args.explain:
            out.print(terminal_text(e))
    worst = max(abs(e.delta) for e in found)
    console.print(f"explanations: integrated gradients, {args.explain_steps} steps; attributions sum to the "
                  f"logit change from the baseline within {worst:.2g}")
    if args.explain_html is not None:
        args.explain_html.write_text(html_page(found), encoding="utf-8")
        console.print(f"explanations written: [bold]{args.explain_html}[/]")


def _print_rows(rows: list[dict]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(show_header=True)
    for col in ("label", "probability", "text"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(r["label"], f"{r['probability']:.3f}", r["text"])
    Console().print(table)  # stdout: the result; progress and timings go to stderr
