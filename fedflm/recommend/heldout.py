"""The server's side of a recommendation federation: the frozen encoder, the initial towers, the
held-out users' ranking cases (their texts encoded once) and the popularity baseline."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np
import torch

from fedflm.recommend.config import RecommendRunConfig
from fedflm.recommend.metrics import evaluate, popularity_scores
from fedflm.recommend.model import TwoTower, encode_texts, load_encoder
from fedflm.recommend.split import server_split
from fedflm.recommend.train import scorer

__all__ = ["RankingHeldOut", "towers_state", "set_towers_state"]


def towers_state(model: TwoTower) -> "OrderedDict[str, np.ndarray]":
    """The tensors that travel: the towers and the item prior (nothing of the frozen encoder)."""
    return OrderedDict((k, v.detach().cpu().numpy().copy()) for k, v in model.state_dict().items())


def set_towers_state(model: TwoTower, state: dict[str, np.ndarray]) -> None:
    own = model.state_dict()
    if set(state) != set(own):
        raise ValueError(f"tower tensors {sorted(state)} do not match the model's {sorted(own)}")
    model.load_state_dict({k: torch.as_tensor(np.asarray(v)) for k, v in state.items()})


class RankingHeldOut:
    """The global towers and the server's held-out users."""

    def __init__(self, cfg: RecommendRunConfig, deployed: bool = False) -> None:
        split = server_split(cfg, deployed)
        self.cases = split.cases
        self.popularity = split.popularity
        encoder, tok = load_encoder(cfg.model, cfg.pooling)
        texts = [t for c in self.cases for t in (c.history, *c.candidates)]
        self.vectors = encode_texts(encoder, tok, texts, cfg.max_length)
        self.model = TwoTower(int(encoder.config.hidden_size), cfg.embed_dim, seed=cfg.seed, init=cfg.tower_init)

    def state(self) -> dict[str, np.ndarray]:
        return dict(towers_state(self.model))

    def score(self, state: dict[str, np.ndarray]) -> dict[str, Any]:
        """Load ``state`` and rank every held-out user's candidates (metrics.py's protocol)."""
        set_towers_state(self.model, state)
        return evaluate(self.cases, scorer(self.model, self.vectors))

    def baseline(self) -> dict[str, Any]:
        """The popularity baseline on the same cases."""
        return evaluate(self.cases, popularity_scores(self.popularity))
