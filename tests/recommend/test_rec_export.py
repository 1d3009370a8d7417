"""``fedflm export`` of a recommend run: encoder + towers (and ONNX) score candidates outside fedflm
exactly as the run's bi-encoder does."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from fedflm.errors import ExportError
from fedflm.export.run_export import ExportConfig, export_run
from fedflm.recommend.config import RecommendRunConfig
from fedflm.recommend.model import TwoTower, encode_texts, load_encoder
from fedflm.recommend.split import split_users
from fedflm.recommend.train import scorer


def _run_dir(root: Path, model: Path) -> tuple[Path, RecommendRunConfig, TwoTower]:
    """A finished recommend run directory as the server leaves it (config.toml, summary.json, towers.json)
    with random, non-zero towers (prior included)."""
    cfg = RecommendRunConfig(dataset="synthetic:60", model=str(model), pooling="mean", max_length=64, embed_dim=8,
                             clients=2, rounds=1)
    encoder, _ = load_encoder(cfg.model, cfg.pooling)
    towers = TwoTower(int(encoder.config.hidden_size), cfg.embed_dim, seed=4)
    with torch.no_grad():
        towers.prior.weight.normal_(0, 0.5, generator=torch.Generator().manual_seed(1))
        towers.prior.bias.fill_(0.25)
    run = root / "run"
    run.mkdir()
    (run / "config.toml").write_text(cfg.to_toml())
    (run / "summary.json").write_text(json.dumps({"task": "recommend", "status": "complete", "rounds": 1,
                                                  "final": {"round": 1}, "after": {"auc": 0.6}}))
    (run / "towers.json").write_text(json.dumps({"embed_dim": 8, "tensors": {
        k: v.tolist() for k, v in towers.state_dict().items()}}))
    return run, cfg, towers


def _reference(cfg: RecommendRunConfig, towers: TwoTower) -> tuple[list, list[np.ndarray]]:
    """Held-out users' cases and the in-fedflm bi-encoder's scores of their candidates."""
    encoder, tok = load_encoder(cfg.model, cfg.pooling)
    cases = list(split_users(cfg).cases[:5])
    vectors = encode_texts(encoder, tok, [t for c in cases for t in (c.history, *c.candidates)], cfg.max_length)
    return cases, [np.asarray(scorer(towers, vectors)(c)) for c in cases]


def test_merged_export_scores_like_the_run_with_plain_transformers(tiny_rec_model, tmp_path):
    # Prepare
    from safetensors.torch import load_file
    from transformers import AutoModel, AutoTokenizer

    from fedflm.export.recommender import Recommender

    run, cfg, towers = _run_dir(tmp_path, tiny_rec_model)
    cases, expected = _reference(cfg, towers)
    out = tmp_path / "export"

    # Execute
    res = export_run(run, ExportConfig(format="merged", out=str(out)))

    # Assert: fedflm's loader, and by hand with transformers + safetensors (mean pooling as the settings say)
    rec = Recommender.load(out)
    settings = json.loads((out / "fedflm_recommender.json").read_text())
    enc, tok = AutoModel.from_pretrained(out / "encoder").eval(), AutoTokenizer.from_pretrained(out / "encoder")
    w = load_file(str(out / "towers.safetensors"))
    assert settings["pooling"]["mode"] == "mean" and not settings["pooling"]["normalize"]
    for case, want in zip(cases, expected):
        assert np.allclose(rec.score(case.history, list(case.candidates)), want, atol=1e-5)
        batch = tok([case.history, *case.candidates], padding=True, truncation=True, max_length=64,
                    return_tensors="pt")
        with torch.no_grad():
            hidden = enc(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).float()
        h = (hidden * mask).sum(1) / mask.sum(1)
        by_hand = (h[1:] @ w["item.weight"].T) @ (w["user.weight"] @ h[0]) + h[1:] @ w["prior.weight"][0] + w["prior.bias"]
        assert np.allclose(by_hand.numpy(), want, atol=1e-4)
    assert res["parity"]["max_abs_score_diff"] <= 1e-3 and "towers.safetensors" in res["files"]
    assert json.loads((out / "model_card.json").read_text())["task"] == "recommend"


def test_onnx_export_scores_like_the_run_in_onnxruntime(tiny_rec_model, tmp_path):
    # Prepare
    import onnxruntime as ort
    from transformers import AutoTokenizer

    run, cfg, towers = _run_dir(tmp_path, tiny_rec_model)
    cases, expected = _reference(cfg, towers)
    out = tmp_path / "onnx"

    # Execute
    res = export_run(run, ExportConfig(format="onnx", out=str(out)))

    # Assert: onnxruntime and the tokenizer alone give the run's scores (several batch and sequence sizes)
    sess = ort.InferenceSession(str(out / "recommender.onnx"), providers=["CPUExecutionProvider"])
    tok = AutoTokenizer.from_pretrained(out / "encoder")

    def run_graph(texts):
        enc = tok(texts, padding=True, truncation=True, max_length=64, return_tensors="np")
        return sess.run(["user", "item", "prior"], {k: enc[k].astype(np.int64) for k in ("input_ids", "attention_mask")})
    for case, want in zip(cases, expected):
        user = run_graph([case.history])[0][0]
        _, item, prior = run_graph(list(case.candidates))
        assert np.allclose(item @ user + prior, want, atol=1e-4)
    assert res["parity_onnx"]["max_abs_score_diff"] <= 1e-3


def test_recommend_export_refuses_what_it_cannot_write(tiny_rec_model, tmp_path):
    # Prepare
    run, _, _ = _run_dir(tmp_path, tiny_rec_model)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")

    # Execute / Assert
    with pytest.raises(ExportError, match="--task recommend runs export as merged or onnx, got --format adapter"):
        export_run(run, ExportConfig(format="adapter", out=str(tmp_path / "a")))
    with pytest.raises(ExportError, match="full: exists and is not empty"):
        export_run(run, ExportConfig(format="merged", out=str(tmp_path / "full")))
    (run / "towers.json").unlink()
    with pytest.raises(ExportError, match="towers.json: not found"):
        export_run(run, ExportConfig(format="merged", out=str(tmp_path / "b")))
    assert not (tmp_path / "b").exists()
