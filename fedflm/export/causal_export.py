"""``fedflm export`` of a ``--task causal-lm`` run: the LoRA adapter merged into the base model.

The run directory holds the final global adapter (``adapter/``, peft's ``save_pretrained``) and the
run's config (``config.toml``: the base model). The export is the base causal LM with the adapter
folded into its weights (peft ``merge_and_unload``), written with ``save_pretrained`` together with
the tokenizer: a plain transformers checkpoint,

    model = AutoModelForCausalLM.from_pretrained(DIR); tok = AutoTokenizer.from_pretrained(DIR)
    model.generate(**tok(prompt, return_tensors="pt"), max_new_tokens=32)

with no fedflm or peft needed. Before it is called done, the merged model's logits are compared with
the adapter model's on a few held-out prompts of the run (fails above the tolerance).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import torch

from fedflm.errors import ExportError

HOW_TO_LOAD = ("The base causal LM with the run's LoRA adapter merged in: a standard transformers checkpoint. "
               "`AutoModelForCausalLM.from_pretrained(DIR)`, `AutoTokenizer.from_pretrained(DIR)`, then "
               "`model.generate(...)`; prompts formatted as in training (the tokenizer's chat template, else "
               "fedflm.causal.encode.PLAIN_TEMPLATE).")


def causal_config(run_dir: Path) -> Any:
    """The run's :class:`~fedflm.causal.config.CausalRunConfig` (from its flat ``config.toml``)."""
    from fedflm.causal.config import CausalRunConfig

    return CausalRunConfig.from_flat(tomllib.loads((run_dir / "config.toml").read_text(encoding="utf-8")))


def adapter_model(run_dir: Path) -> tuple[Any, Any]:
    """(the base model with the run's final adapter, as peft loads it; the tokenizer)."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from fedflm.causal.model import resolve_causal_model

    cfg = causal_config(run_dir)
    path = resolve_causal_model(cfg.model)
    tok = AutoTokenizer.from_pretrained(path)
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    base = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    return PeftModel.from_pretrained(base, str(run_dir / "adapter")).eval(), tok


def check_prompts(run_dir: Path, limit: int = 4) -> list[str]:
    """A few of the run's held-out prompts (in the chat template), for the parity check."""
    from fedflm.causal.split import split_records

    _, held = split_records(causal_config(run_dir))
    return [r.prompt for r in held if r.prompt][:limit] or ["Hello"]


@torch.no_grad()
def logits_of(model: Any, tok: Any, prompts: list[str]) -> torch.Tensor:
    from fedflm.causal.encode import prompt_text

    tok.padding_side = "right"
    enc = tok([prompt_text(tok, p) for p in prompts], return_tensors="pt", padding=True)
    out = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).logits
    return out * enc["attention_mask"].unsqueeze(-1)  # padded positions do not count


def export_causal(run_dir: Path, out: Path, tolerance: float) -> dict[str, Any]:
    """Merge, save, reload with plain transformers and compare logits; returns the card's export section."""
    from transformers import AutoModelForCausalLM

    peft_model, tok = adapter_model(run_dir)
    prompts = check_prompts(run_dir)
    expected = logits_of(peft_model, tok, prompts)
    merged = peft_model.merge_and_unload().eval()
    merged.save_pretrained(str(out))
    tok.save_pretrained(str(out))
    reloaded = AutoModelForCausalLM.from_pretrained(str(out), dtype=torch.float32).eval()
    diff = float((logits_of(reloaded, tok, prompts) - expected).abs().max())
    if not diff <= tolerance:
        raise ExportError(f"merged causal LM differs from the adapter model: max |logit difference| {diff:.3g} "
                          f"> tolerance {tolerance:g}")
    return {"how_to_load": HOW_TO_LOAD, "parity": {"max_abs_logit_diff": diff, "rows": len(prompts),
                                                   "tolerance": tolerance}}
