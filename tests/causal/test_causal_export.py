"""``fedflm export`` of a causal-LM run: the adapter merged into the base, loadable by plain transformers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from fedflm.causal.config import CausalRunConfig
from fedflm.errors import ExportError
from fedflm.export.run_export import ExportConfig, export_run


def _run_dir(root: Path, model: Path) -> Path:
    """A finished causal-LM run directory as the server leaves it: config.toml, summary.json and an
    adapter whose LoRA B matrices are non-zero (a trained adapter; zero B would merge to the base)."""
    from fedflm.causal.model import load_causal_lm

    cfg = CausalRunConfig(dataset="synthetic:40", model=str(model), max_length=48, clients=2, rounds=1)
    run = root / "run"
    run.mkdir()
    (run / "config.toml").write_text(cfg.to_toml())
    (run / "summary.json").write_text(json.dumps({"task": "causal-lm", "status": "complete", "rounds": 1,
                                                  "final": {"round": 1}, "perplexity_before": 9.0,
                                                  "perplexity_after": 8.0}))
    torch.manual_seed(5)
    peft_model, _ = load_causal_lm(str(model))
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.3)
    peft_model.save_pretrained(str(run / "adapter"))
    return run


def test_merged_export_loads_in_plain_transformers_and_matches_the_adapter_model(tiny_llama_dir, tmp_path):
    # Prepare
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    run = _run_dir(tmp_path, tiny_llama_dir)
    out = tmp_path / "export"

    # Execute
    res = export_run(run, ExportConfig(format="merged", out=str(out)))

    # Assert: plain transformers (no peft, no fedflm) loads it; its logits are the adapter model's
    merged = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32).eval()
    tok = AutoTokenizer.from_pretrained(out)
    base = AutoModelForCausalLM.from_pretrained(tiny_llama_dir, dtype=torch.float32)
    adapted = PeftModel.from_pretrained(base, str(run / "adapter")).eval()
    plain = AutoModelForCausalLM.from_pretrained(tiny_llama_dir, dtype=torch.float32).eval()
    ids = tok(["### Instruction:\nreverse the words\n\n### Response:\n"], return_tensors="pt")
    with torch.no_grad():
        got, want, untouched = merged(**ids).logits, adapted(**ids).logits, plain(**ids).logits
    assert torch.allclose(got, want, atol=1e-4)
    assert (got - untouched).abs().max() > 1e-2  # the adapter is really in the weights
    assert not any("lora" in k for k in merged.state_dict())
    text = tok.decode(merged.generate(**ids, max_new_tokens=5, do_sample=False)[0][ids["input_ids"].shape[1]:])
    assert isinstance(text, str) and len(text) > 0
    assert res["parity"]["max_abs_logit_diff"] <= 1e-3 and "config.json" in res["files"]
    card = json.loads((out / "model_card.json").read_text())
    assert card["task"] == "causal-lm" and card["evaluation"]["perplexity_after"] == 8.0


def test_causal_export_refuses_formats_it_cannot_write(tiny_llama_dir, tmp_path):
    # Prepare
    run = _run_dir(tmp_path, tiny_llama_dir)

    # Execute / Assert
    with pytest.raises(ExportError, match="--task causal-lm runs export as merged, got --format onnx"):
        export_run(run, ExportConfig(format="onnx", out=str(tmp_path / "o")))
    with pytest.raises(ExportError, match="--quantize int8 is for classification exports"):
        export_run(run, ExportConfig(format="merged", quantize="int8", out=str(tmp_path / "q")))


def test_export_cli_names_the_merged_causal_check_as_an_export_check_not_onnx(tiny_llama_dir, tmp_path, capsys):
    # Prepare
    from fedflm.cli.main import main

    run = _run_dir(tmp_path, tiny_llama_dir)

    # Execute
    rc = main(["export", str(run), "--format", "merged", "--out", str(tmp_path / "o")])

    # Assert: the merged model was checked against the adapter model, and the line says so
    err = capsys.readouterr().err
    assert rc == 0 and "export parity: max |logit difference|" in err
    assert "ONNX" not in err
