"""The class names' sentence vectors: a zero-shot prior for the prototype head (issue 15).

The names of the classes are public task metadata (the server builds the model from them);
the frozen sentence encoder embeds each name as it embeds a text, so ``E[c]`` points where
texts about class ``c`` tend to lie. ``fedflm.privacy.prototypes.prototype_head`` mixes these
directions into the DP prototypes: no owner data, so no privacy cost.
"""

from __future__ import annotations

import re
from typing import Sequence

import torch
from transformers import PreTrainedTokenizerBase

from fedflm.models.classifier import PooledClassifier

__all__ = ["label_text", "name_vectors"]


def label_text(name: str) -> str:
    """A class name as words: ``card_arrival`` / ``card-arrival`` / ``cardArrival`` -> ``card arrival``."""
    words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name)
    return " ".join(re.sub(r"[_\-]+", " ", words).split())


@torch.no_grad()
def name_vectors(clf: PooledClassifier, tokenizer: PreTrainedTokenizerBase, label_names: Sequence[str],
                 max_length: int) -> torch.Tensor:
    """``[classes, hidden]``: the frozen encoder's pooled vector of each class name (eval mode)."""
    enc = tokenizer([label_text(n) for n in label_names], truncation=True, max_length=max_length,
                    padding=True, return_tensors="pt")
    device = next(clf.parameters()).device
    was_training = clf.training
    clf.eval()
    try:
        return clf.embed(enc["input_ids"].to(device), enc["attention_mask"].to(device)).detach().cpu()
    finally:
        clf.train(was_training)
