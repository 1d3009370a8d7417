"""The server's side of a causal-LM federation: its held-out records, their token perplexity under
a global adapter, and greedy completions of a few fixed held-out prompts (for the summary/report)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from fedflm.causal.config import CausalRunConfig
from fedflm.causal.encode import RecordDataset
from fedflm.causal.model import load_causal_lm
from fedflm.causal.split import server_records
from fedflm.causal.train import generate, perplexity
from fedflm.models.lora import get_adapter_state, set_adapter_state


class HeldOut:
    """The global model (base + LoRA adapter) and the server's held-out records."""

    def __init__(self, cfg: CausalRunConfig, deployed: bool = False) -> None:
        torch.manual_seed(cfg.seed)  # the adapter's initial A matrices: the run's seed
        self.model, self.tok = load_causal_lm(cfg.model, cfg.lora_r, cfg.lora_alpha, cfg.target_modules)
        held = server_records(cfg, deployed)
        self.records = len(held)
        self.data = RecordDataset(held, self.tok, cfg.max_length, cfg.max_sequences)
        self.prompts = [r.prompt for r in held if r.prompt][:cfg.prompts]
        self.max_new_tokens = cfg.max_new_tokens

    def state(self) -> dict[str, np.ndarray]:
        """The adapter tensors that travel (LoRA A and B only)."""
        return dict(get_adapter_state(self.model))

    def score(self, state: dict[str, np.ndarray]) -> dict[str, Any]:
        """Load ``state`` and measure the held-out perplexity over the predicted tokens."""
        set_adapter_state(self.model, state)
        m = perplexity(self.model, self.data, self.tok.pad_token_id)
        return {"perplexity": round(m["perplexity"], 4), "loss": round(m["loss"], 5), "eval_tokens": m["tokens"]}

    def generations(self) -> list[str]:
        """Greedy completions of the fixed prompts under the adapter last loaded."""
        return generate(self.model, self.tok, self.prompts, self.max_new_tokens)
