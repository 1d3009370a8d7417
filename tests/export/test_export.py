"""fedflm export: merged = base + adapter, ONNX parity, int8 loads and predicts, the model card."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from fedflm.errors import ExportError
from fedflm.export.card import build_card
from fedflm.export.predictor import open_model
from fedflm.export.run_export import ExportConfig, export_run

TEXTS = ["a gripping , beautiful film", "dull and far too long", "it is a movie", "the best of the year",
         "i want my two hours back"]


def _batch(tokenizer, texts: list[str]) -> dict[str, torch.Tensor]:
    enc = tokenizer(texts, padding=True, return_tensors="pt")
    return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}


def test_merged_model_outputs_equal_base_plus_adapter(export_run_dir: Path, exports: dict[str, Path]) -> None:
    # Prepare
    from fedflm.export.merged import load_merged
    from fedflm.models.classifier import load_classifier
    peft_model = load_classifier(export_run_dir / "adapter")
    merged, _ = load_merged(exports["merged"])
    batch = _batch(open_model(exports["merged"]).tokenizer, TEXTS)

    # Execute
    with torch.no_grad():
        ref = peft_model(**batch).logits
        got = merged(**batch).logits

    # Assert
    assert ref.abs().max() > 1e-3  # the adapter is not a no-op
    torch.testing.assert_close(got, ref, atol=1e-5, rtol=1e-4)


def test_merged_encoder_is_a_standard_transformers_checkpoint(exports: dict[str, Path]) -> None:
    # Prepare
    from transformers import AutoModel, AutoTokenizer

    # Execute
    encoder = AutoModel.from_pretrained(str(exports["merged"]))
    tok = AutoTokenizer.from_pretrained(str(exports["merged"]))

    # Assert
    assert encoder.config.id2label == {0: "negative", 1: "positive"}
    assert not any("lora" in name for name, _ in encoder.named_parameters())
    assert tok("a film")["input_ids"]


def test_onnx_matches_pytorch_on_other_batch_and_sequence_sizes(exports: dict[str, Path]) -> None:
    # Prepare
    from fedflm.export.merged import load_merged
    from fedflm.export.onnx_export import onnx_logits, session
    merged_model, _ = load_merged(exports["merged"])
    tok = open_model(exports["merged"]).tokenizer
    sess = session(exports["onnx"] / "model.onnx")
    card = json.loads((exports["onnx"] / "model_card.json").read_text())

    # Execute
    diffs = []
    for texts in (TEXTS[:1], TEXTS, TEXTS * 3):
        batch = _batch(tok, texts)
        with torch.no_grad():
            ref = merged_model(**batch).logits.numpy()
        diffs.append(float(np.abs(onnx_logits(sess, batch) - ref).max()))

    # Assert: within the parity the export promises (ExportConfig.tolerance, 1e-3); float32 kernels differ by CPU
    # (the export's own parity check measured 5.7e-6 here); the batches above vary padding, which a mask bug shows in
    assert max(diffs) < ExportConfig.tolerance == 1e-3
    assert card["export"]["parity"]["max_abs_logit_diff"] <= card["export"]["parity"]["tolerance"]


def test_onnx_parity_fails_above_the_tolerance(exports: dict[str, Path]) -> None:
    # Prepare: a model that is not the exported one
    from fedflm.export.merged import load_merged
    from fedflm.export.onnx_export import parity
    other, _ = load_merged(exports["merged"])
    with torch.no_grad():
        other.classifier.bias.add_(0.5)
    batch = _batch(open_model(exports["merged"]).tokenizer, TEXTS)

    # Execute / Assert
    with pytest.raises(ExportError, match="differ from PyTorch by 0.5"):
        parity(other, exports["onnx"] / "model.onnx", [batch], tolerance=1e-3)


def test_onnx_export_traces_plain_attention_and_restores_the_model(exports: dict[str, Path], tmp_path: Path) -> None:
    # Prepare: the merged model as loaded (transformers' default attention, sdpa)
    import onnx

    from fedflm.export.merged import load_merged
    from fedflm.export.onnx_export import export_onnx
    model, _ = load_merged(exports["merged"])
    before = model.encoder.config._attn_implementation
    batch = _batch(open_model(exports["merged"]).tokenizer, TEXTS)

    # Execute
    path = export_onnx(model, batch, tmp_path / "m.onnx")

    # Assert: no scaled_dot_product_attention NaN guard (IsNaN/Where per layer) in the graph, and the
    # PyTorch model computes attention as before once the export is done
    ops = {node.op_type for node in onnx.load(str(path)).graph.node}
    assert "IsNaN" not in ops and "Softmax" in ops
    assert before == "sdpa" and model.encoder.config._attn_implementation == before


@pytest.mark.parametrize("fmt", ["merged", "onnx"])
def test_int8_model_loads_predicts_and_is_reported(exports: dict[str, Path], fmt: str) -> None:
    # Prepare
    card = json.loads((exports[fmt] / "model_card.json").read_text())

    # Execute
    probs = open_model(exports[fmt], int8=True).probabilities(TEXTS)

    # Assert
    assert probs.shape == (len(TEXTS), 2)
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)
    q = card["export"]["int8"]
    assert q["int8_bytes"] < q["fp32_bytes"]
    assert q["eval_rows"] == 40 and 0.0 <= q["accuracy_int8"] <= 1.0
    assert q["accuracy_change_points"] == pytest.approx(100 * (q["accuracy_int8"] - q["accuracy_fp32"]), abs=1e-3)


def test_the_card_carries_what_the_run_says(export_run_dir: Path, exports: dict[str, Path]) -> None:
    # Execute
    card = json.loads((exports["adapter"] / "model_card.json").read_text())
    readme = (exports["adapter"] / "README.md").read_text()

    # Assert
    assert card["labels"] == ["negative", "positive"] and card["task"] == "sequence-classification"
    assert card["privacy"]["per_owner"]["client-1"]["epsilon"] == 2.9  # the last ledger entry
    assert card["privacy"]["per_owner"]["client-0"]["runs"] == ["run-a"]
    assert card["rounds"]["completed"] == 2 and card["owners"]["count"] == 2
    assert card["datasets"] == [str(export_run_dir.parent / "reviews.csv")]
    assert card["deidentification"]["enabled"] is False
    assert card["fedflm"]["version"] and card["export"]["format"] == "adapter"
    assert "| client-1 | 2.900 |" in readme


def test_card_without_ledgers_has_no_privacy_rows(export_run_dir: Path, tmp_path: Path) -> None:
    # Prepare: a copy of the run without its ledgers (a --dp none run has none)
    import shutil
    run = tmp_path / "run"
    shutil.copytree(export_run_dir, run, ignore=shutil.ignore_patterns("ledgers"))

    # Execute
    card = build_card(run)

    # Assert
    assert card["privacy"]["per_owner"] == {} and card["owners"]["names"] == ["client-0", "client-1"]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"format": "adapter", "quantize": "int8", "out": "x"}, "needs --format merged or onnx"),
    ({"format": "tflite", "out": "x"}, "format must be one of"),
    ({"format": "onnx", "out": "x", "tolerance": 0.0}, "tolerance must be > 0"),
    ({"format": "onnx"}, "--out DIR is required"),
])
def test_bad_export_settings_are_refused(kwargs: dict, message: str) -> None:
    # Execute / Assert
    with pytest.raises(ExportError, match=message):
        ExportConfig(**kwargs)


def test_an_unfinished_run_or_a_used_out_dir_is_refused(export_run_dir: Path, tmp_path: Path) -> None:
    # Prepare
    import shutil
    run = tmp_path / "run"
    shutil.copytree(export_run_dir, run)
    used = tmp_path / "used"
    used.mkdir()
    (used / "x").write_text("x")

    # Execute / Assert
    with pytest.raises(ExportError, match="exists and is not empty"):
        export_run(run, ExportConfig(format="adapter", out=str(used)))
    (run / "INCOMPLETE").write_text("run started; not finished\n")
    with pytest.raises(ExportError, match="did not finish"):
        export_run(run, ExportConfig(format="adapter", out=str(tmp_path / "new")))


def test_export_cli_writes_and_reports(export_run_dir: Path, tmp_path: Path, capsys) -> None:
    # Prepare
    from fedflm.cli.main import main

    # Execute
    rc = main(["export", str(export_run_dir), "--format", "onnx", "--out", str(tmp_path / "o")])

    # Assert
    err = capsys.readouterr().err
    assert rc == 0 and "ONNX parity: max |logit difference|" in err
    assert (tmp_path / "o" / "model.onnx").is_file() and (tmp_path / "o" / "README.md").is_file()
