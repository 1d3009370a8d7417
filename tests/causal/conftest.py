"""A tiny random Llama with a tokenizer trained on the fly (no download)."""

from __future__ import annotations

from pathlib import Path

import pytest


def build_tiny_llama(out: Path, corpus: list[str], vocab_size: int = 300) -> Path:
    """Train a byte-level BPE tokenizer on ``corpus`` and save it with a tiny random Llama."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=vocab_size,
                                                        special_tokens=["<pad>", "<s>", "</s>"],
                                                        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", bos_token="<s>", eos_token="</s>")
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=tok.get_vocab_size(), hidden_size=32, intermediate_size=64,
                         num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2,
                         max_position_embeddings=256, initializer_range=0.2, pad_token_id=0, bos_token_id=1, eos_token_id=2)
    LlamaForCausalLM(config).save_pretrained(out)
    fast.save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from fedflm.causal.encode import PLAIN_TEMPLATE
    from fedflm.causal.records import synthetic_records

    corpus = [PLAIN_TEMPLATE.format(prompt=r.prompt) + r.response for r in synthetic_records(400, seed=99)]
    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama"), corpus)
