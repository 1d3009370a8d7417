"""issue 22: --long-text sliding:WINDOW:STRIDE wired. A document (all its windows) is one privacy unit
under DP-SGD: its window gradients are averaged, then clipped once, and the sampler draws documents
(q = batch / documents); evaluation pools a document's window logits; DP prototypes get one vector
per document."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from datasets import Dataset
from torch.utils.data import DataLoader

from fedflm.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from fedflm.errors import ConfigError
from fedflm.models.lora import load_tokenizer
from fedflm.options import SlidingSpec, parse_long_text
from fedflm.privacy.dp import make_private, release
from fedflm.train.batching import PadCollator, TokenizedDataset, train_loader
from fedflm.train.documents import Documents, GroupCollator, document_loader, document_vectors
from fedflm.train.local import evaluate
from fedflm.train.long_text import pool_logits, windows
from tiny_token_model import TinyTokenModel, per_row_grads, summed_clipped

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

CLIP = 0.01  # small enough that every document's gradient is clipped


def _window_rows(lengths: list[int], window: int = 8, stride: int = 3) -> tuple[list, list[list[int]], list[int]]:
    """(window rows, rows of each document, document labels) of documents of these inner lengths."""
    rng = np.random.default_rng(0)
    rows, docs, labels = [], [], []
    for d, n in enumerate(lengths):
        parts = windows([1, *rng.integers(3, 30, size=n).tolist(), 2], window, stride)
        docs.append(list(range(len(rows), len(rows) + len(parts))))
        rows += [(w, d % 2) for w in parts]
        labels.append(d % 2)
    return rows, docs, labels


def test_per_document_clipping_equals_a_direct_computation():
    # Prepare: two documents of 5 and 3 windows, batched as the client's loader batches them
    rows, docs, labels = _window_rows([16, 10])
    collate = GroupCollator(PadCollator(0))
    batch = collate([Documents(rows, docs, labels)[d] for d in range(2)])
    model = TinyTokenModel()
    grads = per_row_grads(model, batch)
    means = [torch.stack([grads[r] for r in doc]).mean(0) for doc in docs]
    direct = sum(m * min(1.0, CLIP / float(m.norm())) for m in means)
    loader = DataLoader(Documents(rows, docs, labels), batch_size=1, collate_fn=collate)
    private_model, opt, _ = make_private(model, torch.optim.SGD(model.parameters(), lr=0.1), loader,
                                         noise_multiplier=1.0, max_grad_norm=CLIP, grad_sample_mode="hooks",
                                         noise_seed=0)
    first = {k: v[:5] for k, v in batch.items()}  # the first document's 5 windows

    # Execute
    grouped = summed_clipped(private_model, opt, batch, batch["groups"])
    one_doc = summed_clipped(private_model, opt, first, first["groups"])
    per_window = summed_clipped(private_model, opt, first, None)
    release(private_model)

    # Assert: the sum over documents of clip(mean of its windows); a document adds at most C where
    # clipping each window apart would let it add up to 5 C
    assert [len(d) for d in docs] == [5, 3] and batch["groups"].tolist() == [0] * 5 + [1] * 3
    assert torch.allclose(grouped, direct, atol=1e-7)
    assert float(one_doc.norm()) <= CLIP + 1e-7 and float(per_window.norm()) > 2 * CLIP


@pytest.fixture(scope="module")
def long_docs(tiny_model_dir) -> TokenizedDataset:
    """Six records of 5 to 60 words, read in windows of 8 tokens every 4 (max pooling)."""
    tok = load_tokenizer(ModelConfig(model=str(tiny_model_dir)))
    texts = [" ".join(["the film was good"] * k) for k in (2, 5, 9, 15, 3, 12)]
    return TokenizedDataset(Dataset.from_dict({"text": texts, "label": [0, 1, 0, 1, 1, 0]}), tok, 64,
                            "sliding:8:4:max")


def test_the_accountants_unit_is_the_document(long_docs):
    # Prepare: the client's loader, as round_module builds it (token ids; batch of 2 documents)
    rows = long_docs.model_rows()
    loader = document_loader(train_loader(rows, 2, seed=0), long_docs, 2, seed=0)
    model = TinyTokenModel(vocab=int(max(max(ids) for ids, _ in rows)) + 1)

    # Execute
    private_model, opt, poisson = make_private(model, torch.optim.SGD(model.parameters(), lr=0.1), loader,
                                               noise_multiplier=1.0, max_grad_norm=1.0, grad_sample_mode="hooks",
                                               noise_seed=0)
    batches = list(poisson)
    release(private_model)

    # Assert: q = batch / documents (6, not the window count); each batch holds all windows of the
    # documents it drew
    assert len(rows) > 2 * len(long_docs) and opt.sample_rate == pytest.approx(2 / 6)
    assert len(poisson.dataset) == 6 and len(batches) == 3
    sizes = [len(d) for d in long_docs.documents()]
    for b in batches:
        drawn = torch.bincount(b["groups"]).tolist() if len(b["groups"]) else []
        assert all(n in sizes for n in drawn) and len(b["labels"]) == sum(drawn)


def test_evaluation_pools_each_documents_windows(long_docs):
    # Prepare: the server's loader (documents in order) and a direct per-document computation
    rows = long_docs.model_rows()
    model = TinyTokenModel(vocab=int(max(max(ids) for ids, _ in rows)) + 1, seed=2)
    loader = document_loader(DataLoader(rows, batch_size=4, collate_fn=PadCollator(rows.pad_id)), long_docs, 4, None)
    direct = []
    for doc in long_docs.documents():
        b = PadCollator(rows.pad_id)([rows[r] for r in doc])
        with torch.no_grad():
            direct.append(pool_logits(model(b["input_ids"], b["attention_mask"]), torch.zeros(len(doc)), "max")[0])
    logits, y = torch.stack(direct), torch.as_tensor(long_docs.labels)

    # Execute
    res = evaluate(model, loader, torch.device("cpu"), 2, pool="max")

    # Assert: one row per document, in the confusion matrix and in the loss
    assert int(res.confusion.sum()) == 6
    assert res.metrics["accuracy"] == pytest.approx(float((logits.argmax(1) == y).float().mean()))
    assert res.metrics["loss"] == pytest.approx(float(torch.nn.functional.cross_entropy(logits, y)), rel=1e-5)


def test_prototypes_get_one_clipped_mean_per_document():
    # Prepare: 3 window vectors (one longer than 1) of two documents
    x = torch.tensor([[3.0, 4.0], [0.0, 0.5], [0.6, 0.0]])

    # Execute
    out = document_vectors(x, [[0, 1], [2]])

    # Assert
    assert torch.allclose(out, torch.tensor([[0.3, 0.65], [0.6, 0.0]]))
    assert document_vectors(x, None) is x


def test_long_text_is_validated():
    # Execute / Assert
    assert parse_long_text("truncate") is None and parse_long_text("head-tail") is None
    assert parse_long_text("sliding:64:32") == SlidingSpec(64, 32, "mean")
    assert parse_long_text("sliding:64:32:max", 128) == SlidingSpec(64, 32, "max")
    for bad, msg in (("sliding:64", "sliding:WINDOW:STRIDE"), ("sliding:8:7", "STRIDE <= WINDOW - 2"),
                     ("sliding:8:4:sum", "sliding:WINDOW:STRIDE"), ("window", "sliding:WINDOW:STRIDE")):
        with pytest.raises(ConfigError, match=msg):
            parse_long_text(bad)
    with pytest.raises(ConfigError, match="WINDOW must be <= max_length 128"):
        DataConfig(long_text="sliding:256:64")
    with pytest.raises(ConfigError, match="clipped per document"):
        RunConfig(data=DataConfig(long_text="sliding:64:32"), train=TrainConfig(loss="weighted"))
    with pytest.raises(ConfigError, match="cannot be combined"):
        RunConfig(data=DataConfig(long_text="sliding:64:32"), train=TrainConfig(augment="edit", feature_cache=False))
