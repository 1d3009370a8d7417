"""``fedflm export`` of a ``--task recommend`` run: the frozen encoder and the trained towers, to score
candidates outside a federation.

Layout of the export directory::

    encoder/                   the frozen LM (AutoModel.from_pretrained) and its tokenizer
    towers.safetensors         user.weight [embed, hidden], item.weight [embed, hidden],
                               prior.weight [1, hidden], prior.bias [1]
    fedflm_recommender.json    base model, pooling (mode, normalize), max_length, embed_dim
    recommender.onnx           (--format onnx) text -> user vector, item vector, item prior

With plain transformers + safetensors (no fedflm): ``h = pool(AutoModel(DIR/encoder)(**tok(text)))``
with the stated pooling, then ``score(history, item) = (U h_history) . (V h_item) + w . h_item + b``.
The ONNX graph does the encoder, the pooling and the three projections of one text at once: run it
on the history (keep ``user``) and on the candidates (keep ``item`` and ``prior``) and score with one
dot product per candidate. :class:`Recommender` does the same in Python. The export is checked
before it is called done: its scores of the run's held-out users' candidates against the in-fedflm
bi-encoder's (fails above the tolerance).
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from fedflm.errors import ExportError
from fedflm.recommend.model import TwoTower

ENCODER_DIR = "encoder"
TOWERS_FILE = "towers.safetensors"
SETTINGS_FILE = "fedflm_recommender.json"
ONNX_FILE = "recommender.onnx"
OUTPUTS = ("user", "item", "prior")
HOW_TO_LOAD = {
    "merged": "`fedflm.export.recommender.Recommender.load(DIR).score(history, candidates)`; by hand: "
              "`AutoModel.from_pretrained(DIR/encoder)`, pooling in `fedflm_recommender.json`, towers in "
              "`towers.safetensors`: score = (U h_history) . (V h_item) + prior.weight . h_item + prior.bias.",
    "onnx": "`recommender.onnx` (onnxruntime): inputs input_ids, attention_mask (int64, [batch, sequence]); "
            "outputs user [batch, embed], item [batch, embed], prior [batch]; score = user(history) . "
            "item(candidate) + prior(candidate). Tokenizer in `encoder/`.",
}


class TextTowers(nn.Module):
    """``(input_ids, attention_mask) -> (U h, V h, w . h + b)`` of one batch of texts (the ONNX graph)."""

    def __init__(self, encoder: nn.Module, towers: TwoTower) -> None:
        super().__init__()
        self.encoder, self.towers = encoder, towers

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, ...]:
        h = self.encoder.embed(input_ids, attention_mask)
        return self.towers.user(h), self.towers.item(h), self.towers.prior(h).squeeze(-1)


class Recommender:
    """An exported recommender: ``score(history, candidates)``, higher = more likely taken."""

    def __init__(self, encoder: nn.Module, tokenizer: Any, towers: TwoTower, max_length: int) -> None:
        self.encoder, self.tokenizer, self.towers, self.max_length = encoder, tokenizer, towers, max_length

    @classmethod
    def load(cls, model_dir: str | Path) -> "Recommender":
        from transformers import AutoTokenizer

        from fedflm.models.classifier import PooledClassifier
        from fedflm.models.pooling import PoolingSpec

        model_dir = Path(model_dir)
        if not (model_dir / SETTINGS_FILE).is_file():
            raise ExportError(f"{model_dir / SETTINGS_FILE}: not found (not a fedflm recommender export)")
        settings = json.loads((model_dir / SETTINGS_FILE).read_text(encoding="utf-8"))
        encoder = PooledClassifier.from_pretrained(str(model_dir / ENCODER_DIR), 1, PoolingSpec(**settings["pooling"]))
        weights = load_file(str(model_dir / TOWERS_FILE))
        towers = TwoTower(int(weights["user.weight"].shape[1]), int(weights["user.weight"].shape[0]), seed=0)
        towers.load_state_dict(weights)
        tok = AutoTokenizer.from_pretrained(str(model_dir / ENCODER_DIR))
        return cls(encoder.eval(), tok, towers.eval(), int(settings["max_length"]))

    @torch.no_grad()
    def vectors(self, texts: list[str]) -> torch.Tensor:
        from fedflm.recommend.model import encode_texts

        table = encode_texts(self.encoder, self.tokenizer, texts, self.max_length)
        return torch.stack([table[t] for t in texts])

    @torch.no_grad()
    def score(self, history: str, candidates: list[str]) -> np.ndarray:
        """Scores of ``candidates`` for a user whose history text is ``history`` (fedflm's format: item
        texts, most recent first, joined by `` | ``)."""
        h = self.vectors([history, *candidates])
        feats = torch.cat([h[:1].expand(len(candidates), -1), h[1:]], dim=1)
        return self.towers(feats).numpy()


@torch.no_grad()
def _scores(towers: TwoTower, user: torch.Tensor, items: list[torch.Tensor]) -> np.ndarray:
    """The run's bi-encoder scores (as fedflm.recommend.train.scorer computes them)."""
    return towers(torch.stack([torch.cat([user, item]) for item in items])).numpy()


def _run_config(run_dir: Path) -> Any:
    from fedflm.recommend.config import RecommendRunConfig

    return RecommendRunConfig.from_flat(tomllib.loads((run_dir / "config.toml").read_text(encoding="utf-8")))


def _trained_towers(run_dir: Path, width: int) -> TwoTower:
    path = run_dir / "towers.json"
    if not path.is_file():
        raise ExportError(f"{path}: not found (not a finished --task recommend run)")
    saved = json.loads(path.read_text(encoding="utf-8"))
    towers = TwoTower(width, int(saved["embed_dim"]), seed=0)
    towers.load_state_dict({k: torch.as_tensor(np.asarray(v, dtype=np.float32)) for k, v in saved["tensors"].items()})
    return towers.eval()


def export_recommend(run_dir: Path, out: Path, fmt: str, tolerance: float) -> dict[str, Any]:
    """Write the export of a finished recommend run, check its scores; returns the card's export section."""
    from fedflm.recommend.model import encode_texts, load_encoder
    from fedflm.recommend.split import split_users

    cfg = _run_config(run_dir)
    encoder, tok = load_encoder(cfg.model, cfg.pooling)
    towers = _trained_towers(run_dir, int(encoder.config.hidden_size))
    encoder.encoder.save_pretrained(str(out / ENCODER_DIR))
    tok.save_pretrained(str(out / ENCODER_DIR))
    save_file({k: v.detach().contiguous() for k, v in towers.state_dict().items()}, str(out / TOWERS_FILE))
    pooling = {k: v for k, v in asdict(encoder.pooling).items() if k in ("mode", "normalize")}
    (out / SETTINGS_FILE).write_text(json.dumps({"base_model": cfg.model, "pooling": pooling,
                                                 "max_length": cfg.max_length, "embed_dim": cfg.embed_dim},
                                                indent=1) + "\n", encoding="utf-8")
    cases = list(split_users(cfg).cases[:4])  # the in-fedflm scores: the server's scorer on held-out users
    vectors = encode_texts(encoder, tok, [t for c in cases for t in (c.history, *c.candidates)], cfg.max_length)
    expected = [_scores(towers, vectors[c.history], [vectors[t] for t in c.candidates]) for c in cases]
    loaded = Recommender.load(out)
    worst = max(float(np.abs(loaded.score(c.history, list(c.candidates)) - e).max()) for c, e in zip(cases, expected))
    result: dict[str, Any] = {"how_to_load": HOW_TO_LOAD[fmt], "parity": {
        "max_abs_score_diff": worst, "users": len(cases), "tolerance": tolerance}}
    if fmt == "onnx":
        result["parity_onnx"] = _export_onnx(loaded, out / ONNX_FILE, cases, expected, tolerance)
    if not worst <= tolerance:
        raise ExportError(f"exported recommender's scores differ from the run's by {worst:.3g} (> tolerance "
                          f"{tolerance:g}) on {len(cases)} held-out users")
    return result


def onnx_scores(sess: Any, tok: Any, history: str, candidates: list[str], max_length: int) -> np.ndarray:
    """Scores of ``candidates`` with the ONNX graph alone (what a user outside fedflm runs)."""
    def run(texts: list[str]) -> list[np.ndarray]:
        enc = tok(texts, truncation=True, max_length=max_length, padding=True, return_tensors="np")
        return sess.run(list(OUTPUTS), {"input_ids": enc["input_ids"].astype(np.int64),
                                        "attention_mask": enc["attention_mask"].astype(np.int64)})
    user = run([history])[0][0]
    _, item, prior = run(candidates)
    return item @ user + prior


def _export_onnx(rec: Recommender, path: Path, cases: list, expected: list[np.ndarray],
                 tolerance: float) -> dict[str, Any]:
    import warnings

    from fedflm.export.onnx_export import INPUTS, OPSET, eager_attention, need, session

    need("onnx")
    sample = rec.tokenizer(["a", "a longer sample text"], padding=True, return_tensors="pt")
    axes = {name: {0: "batch", 1: "sequence"} for name in INPUTS} | {name: {0: "batch"} for name in OUTPUTS}
    module = TextTowers(rec.encoder, rec.towers).eval()
    with warnings.catch_warnings(), eager_attention(module):
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (sample["input_ids"], sample["attention_mask"]), str(path),
                          input_names=list(INPUTS), output_names=list(OUTPUTS), dynamic_axes=axes,
                          opset_version=OPSET, dynamo=False)
    sess = session(path)
    rec.tokenizer.padding_side = "right"
    worst = max(float(np.abs(onnx_scores(sess, rec.tokenizer, c.history, list(c.candidates), rec.max_length) - e).max())
                for c, e in zip(cases, expected))
    if not worst <= tolerance:
        raise ExportError(f"{path}: ONNX scores differ from the run's by {worst:.3g} (> tolerance {tolerance:g})")
    return {"max_abs_score_diff": worst, "users": len(cases), "tolerance": tolerance}
