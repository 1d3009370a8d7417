"""Can any canary give the black-box audit power on a head-mode node? The head's capacity, measured.

In head mode (the SST-2 / Banking77 recipes) a node trains a linear head on frozen, L2-normalised
sentence vectors. The black-box audit (audit_empirical.py) scores each canary by minus its loss
under the final model; without DP it reached a lower bound of only 0.83 there. Is the limit the
canary texts (vectors too close to each other or to the data), or the head itself?

This script trains the node's own path without DP (``train_like_a_node``: the prototype round,
then the recipe's head rounds, cached vectors) on client 0's real sentence vectors plus ``m``
canary vectors of one kind, each included with probability 1/2, and prints the one-run bound:

* ``text``: unique-token canary texts through the frozen encoder (what audit_empirical.py uses);
* ``iso``: random unit vectors, as spread out as 384 dimensions allow (no text reaches them);
* ``iso-perp``: random unit vectors orthogonal to the data's top ``--perp-k`` principal directions.

If even ``iso`` canaries stay far below 2, no choice of canary text gives a head-mode audit that
power: the limit is a linear head on 384 dimensions, not the canaries.

    python simulations/audit_head_capacity.py --rows 500 --canaries 100 500 --seeds 0 1
"""

from __future__ import annotations

import argparse
import copy
import math
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

KINDS = ("text", "iso", "iso-perp")


def _canary_vectors(kind: str, texts_vectors, data_vectors, m: int, seed: int, perp_k: int):
    import torch

    if kind == "text":
        return texts_vectors[:m]
    gen = torch.Generator().manual_seed(10_000 + seed)
    vecs = torch.randn(m, data_vectors.shape[1], generator=gen)
    if kind == "iso-perp":
        centred = data_vectors - data_vectors.mean(0)
        top = torch.linalg.svd(centred, full_matrices=False).Vh[:perp_k]
        vecs = vecs - (vecs @ top.T) @ top
    return vecs / vecs.norm(dim=1, keepdim=True)


def _audit_one(cfg, base_model, tokenizer, data_vectors, data_labels, canary_vectors, canaries, device):
    """Train the node's head path on data + included canaries; the bound and AUC of minus the loss."""
    import numpy as np
    import torch
    from datasets import Dataset

    from fedflm.audit.bounds.one_run import audit_scores
    from fedflm.audit.empirical.audit import _auc
    from fedflm.audit.empirical.training import PlainTrainer, cache_of_vectors, train_like_a_node
    from fedflm.models.lora import pooled_classifier
    from fedflm.train.batching import TokenizedDataset

    included = np.asarray(canaries.included)
    vectors = list(data_vectors) + [canary_vectors[i] for i in np.flatnonzero(included)]
    labels = list(data_labels) + [canaries.labels[i] for i in np.flatnonzero(included)]
    rows = TokenizedDataset(Dataset.from_dict({"text": ["x"] * len(labels), "label": labels}), tokenizer, 8)
    model = copy.deepcopy(base_model)
    cache = cache_of_vectors(model, rows, device, vectors)  # the chosen vectors, as if encoded
    train_like_a_node(cfg, model, rows, cfg.fed.rounds, PlainTrainer(cfg), device, cache=cache)
    with torch.no_grad():
        logits = pooled_classifier(model).classifier(canary_vectors.to(device)).float()
        loss = torch.nn.functional.cross_entropy(logits, torch.as_tensor(canaries.labels), reduction="none")
    scores = -loss.cpu().numpy()
    bound = audit_scores(scores, included, delta=cfg.privacy.delta, confidence=0.95)
    return bound, _auc(scores, included)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", default="sst2-fed-dp-eps8")
    parser.add_argument("--rows", type=int, default=500, help="client 0's rows (samples_per_client)")
    parser.add_argument("--canaries", type=int, nargs="+", default=[100, 500])
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--perp-k", type=int, default=50, help="principal directions iso-perp avoids")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config override")
    args = parser.parse_args(argv)

    import torch
    from datasets import Dataset

    from audit_empirical import _config
    from fedflm.audit.empirical.canaries import make_canaries
    from fedflm.errors import ConfigError
    from fedflm.fl.client_data import client_partition
    from fedflm.models.lora import build_model, load_tokenizer, pooled_classifier, resolve_device
    from fedflm.train.batching import TokenizedDataset
    from fedflm.train.cache import run_frozen

    cfg = _config(args.recipe, math.inf, {"samples_per_client": args.rows, "max_length": 48,
                                          **dict(s.split("=", 1) for s in args.set)})
    if cfg.train.train_mode != "head":
        raise ConfigError(f"this study is about head mode; the recipe trains {cfg.train.train_mode!r}")
    pool, names = client_partition(cfg.data, 0, cfg.fed.clients, cfg.fed.seed)
    tokenizer = load_tokenizer(cfg.model)
    model = build_model(cfg.model, tuple(names), cfg.fed.seed)
    device = resolve_device(cfg.model.device)
    encode = lambda texts: torch.stack(run_frozen(  # noqa: E731
        pooled_classifier(model), TokenizedDataset(Dataset.from_dict({"text": list(texts), "label": [0] * len(texts)}),
                                                   tokenizer, cfg.data.max_length), device, None))
    data_vectors = encode(pool["text"])
    print(f"recipe {args.recipe}, no DP, {len(pool)} rows of client 0; {cfg.fed.rounds} rounds "
          f"(prototype round, then {cfg.train.local_steps} steps x batch {cfg.train.batch_size}, lr {cfg.train.lr})")
    print(f"{'kind':>9} {'m':>5} {'seed':>4} {'lower bound':>12} {'v/r':>9} {'AUC':>6}", flush=True)
    for m in args.canaries:
        for seed in args.seeds:
            canaries, _ = make_canaries("unique-token", m, tokenizer=tokenizer, pool=pool,
                                        num_labels=len(names), seed=seed)
            text_vectors = encode(canaries.texts) if "text" in args.kinds else None
            for kind in args.kinds:
                vecs = _canary_vectors(kind, text_vectors, data_vectors, m, seed, args.perp_k)
                b, auc = _audit_one(cfg, model, tokenizer, data_vectors, pool["label"], vecs, canaries, device)
                print(f"{kind:>9} {m:>5} {seed:>4} {b.epsilon_lower_bound:>12.3f} {f'{b.v}/{b.r}':>9} {auc:>6.3f}",
                      flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
