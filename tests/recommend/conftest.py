"""A tiny random BERT whose tokenizer knows the generated items' words (no download)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_rec_model(tmp_path_factory: pytest.TempPathFactory, tiny_bert_factory) -> Path:
    from fedflm.recommend.synthetic import synthetic_log

    corpus = sorted({r.item_text for r in synthetic_log(60, seed=99)})
    return tiny_bert_factory(tmp_path_factory.mktemp("tiny-rec-bert"), corpus * 3, vocab_size=200)
