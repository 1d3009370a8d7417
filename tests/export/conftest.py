"""A finished run directory without a federation: a tiny model with a trained-looking adapter
(random non-zero LoRA and head), its config, summary, clients and the owners' ledger copies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

LABELS = ("negative", "positive")


def _eval_csv(path: Path, rows: list[tuple[str, int]]) -> Path:
    lines = ["text,label"] + [f'"{t.replace(chr(34), chr(39))}",{LABELS[y]}' for t, y in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_ledger(path: Path, owner: str, run_id: str, epsilons: list[float]) -> None:
    from fedflm.privacy import ledger

    for rnd, eps in enumerate(epsilons, start=1):
        ledger.append(path, {"owner_id": owner, "run_id": run_id, "round": rnd, "mechanism": "dpsgd-poisson-gaussian",
                             "accountant": "rdp", "noise_multiplier": 1.5, "sample_rate": 0.1, "steps": 10,
                             "delta": 1e-5, "epsilon": eps, "epsilon_cap": None, "max_grad_norm": 1.0})


def make_run_dir(root: Path, model_dir: Path, rows: list[tuple[str, int]], *,
                 prepare: bool = False, seed: int = 0) -> Path:
    """RUN/ as the server writes it, with a perturbed adapter (LoRA B != 0, head != 0)."""
    import torch

    from fedflm.config import RunConfig
    from fedflm.fl.rundir import config_to_toml
    from fedflm.models.lora import build_model, save_adapter

    run = root / "run"
    run.mkdir(parents=True)
    data = _eval_csv(root / "reviews.csv", rows)
    cfg = RunConfig.from_flat({"dataset": str(data), "model": str(model_dir), "clients": 2, "rounds": 2,
                               "max_length": 32, "eval_samples": 40, "prepare": prepare, "dp": "sample",
                               "epsilon": 3.0, "run_id": "run-a", "out": str(run), "partition": "iid"})
    (run / "config.toml").write_text(config_to_toml(cfg))
    model = build_model(cfg.model, LABELS, seed)
    torch.manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_" in name or "classifier" in name:
                p.copy_(torch.randn_like(p) * 0.3)
        # a head that splits the sentence vectors around their mean (not one class for every text)
        from fedflm.models.lora import load_tokenizer
        enc = load_tokenizer(cfg.model)([t for t, _ in rows[:64]], padding=True, truncation=True,
                                        max_length=32, return_tensors="pt")
        model.eval()
        emb = model.base_model.model.embed(enc["input_ids"], enc["attention_mask"])
        head = model.base_model.model.classifier.modules_to_save["default"]
        head.weight.mul_(10.0)
        head.bias.copy_(-head.weight @ emb.mean(0))
    save_adapter(model, run / "adapter", LABELS)
    (run / "summary.json").write_text(json.dumps({
        "status": "complete", "rounds": 2, "label_names": list(LABELS),
        "final": {"round": 2, "accuracy": 0.5, "macro_f1": 0.4, "loss": 0.7}, "warnings": []}))
    (run / "clients.json").write_text(json.dumps({"label_names": list(LABELS), "clients": [
        {"partition_id": i, "num_examples": 10, "label_counts": [5, 5]} for i in range(2)]}))
    for owner, eps in (("client-0", [1.0, 2.5]), ("client-1", [1.1, 2.9])):
        write_ledger(run / "ledgers" / f"{owner}.jsonl", owner, "run-a", eps)
    return run


@pytest.fixture(scope="session")
def export_run_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory, sst2_sample) -> Path:
    return make_run_dir(tmp_path_factory.mktemp("export-run"), tiny_model_dir, sst2_sample[:200])


@pytest.fixture(scope="session")
def exports(export_run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The run exported once in each format (merged and onnx with int8)."""
    from fedflm.export.run_export import ExportConfig, export_run

    root = tmp_path_factory.mktemp("exports")
    out = {}
    for fmt in ("adapter", "merged", "onnx"):
        out[fmt] = root / fmt
        export_run(export_run_dir, ExportConfig(format=fmt, quantize="none" if fmt == "adapter" else "int8",
                                                out=str(out[fmt])))
    return out


@pytest.fixture()
def make_export_run(tiny_model_dir: Path, sst2_sample, tmp_path: Path):
    """``make_export_run(**kwargs)``: another run directory (see :func:`make_run_dir`) under tmp_path."""
    def make(name: str = "r", rows: int = 60, **kwargs) -> Path:
        root = tmp_path / name
        root.mkdir()
        return make_run_dir(root, tiny_model_dir, sst2_sample[:rows], **kwargs)
    return make
