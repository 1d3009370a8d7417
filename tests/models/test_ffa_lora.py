"""issue 21: FFA-LoRA (--lora-variant ffa): A frozen at a shared seeded init, never sent."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from datasets import Dataset
from peft import get_peft_model_state_dict

from fedflm.config import ModelConfig, TrainConfig
from fedflm.errors import ModelError
from fedflm.models.lora import build_model, get_adapter_state, load_tokenizer, set_adapter_state, set_phase
from fedflm.train.batching import TokenizedDataset, train_loader
from fedflm.train.local import train_local

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
LABELS = ("negative", "positive")


def _a_matrices(model) -> dict[str, np.ndarray]:
    return {k: v.detach().numpy().copy() for k, v in get_peft_model_state_dict(model).items() if "lora_A" in k}


def _train_one_client(cfg: ModelConfig, rows, global_state, seed: int):
    """A client: its own process's model (built from the run's seed), the global adapter, 2 local LoRA steps."""
    model = build_model(cfg, LABELS, seed=0)
    torch.manual_seed(seed)  # the client's own randomness differs from the server's
    set_adapter_state(model, global_state)
    set_phase(model, "lora")
    data = TokenizedDataset(Dataset.from_dict({"text": [t for t, _ in rows], "label": [y for _, y in rows]}),
                            load_tokenizer(cfg), 32)
    train_local(model, train_loader(data, 8, seed=seed), TrainConfig(local_steps=2, lr=0.05), torch.device("cpu"))
    return model


def test_ffa_sends_no_a_and_every_client_keeps_the_seeded_a(tiny_model_dir: Path, sst2_sample) -> None:
    # Prepare: the server's model and its initial (global) adapter
    cfg = ModelConfig(model=str(tiny_model_dir), lora_variant="ffa")
    server = build_model(cfg, LABELS, seed=0)
    initial = get_adapter_state(server)
    seeded_a = _a_matrices(server)

    # Execute: two clients train on different rows
    clients = [_train_one_client(cfg, sst2_sample[i * 16:(i + 1) * 16], initial, seed=i + 1) for i in range(2)]
    sent = [get_adapter_state(c) for c in clients]

    # Assert: no A travels (and B does, and it moved); every client's A is the seeded init
    assert seeded_a and not any("lora_A" in k for s in [initial, *sent] for k in s)
    assert any("lora_B" in k for k in initial)
    assert all(any(not np.array_equal(s[k], initial[k]) for k in s if "lora_B" in k) for s in sent)
    for client in clients:
        assert all(np.array_equal(client_a, seeded_a[k]) for k, client_a in _a_matrices(client).items())
        assert all(not p.requires_grad for n, p in client.named_parameters() if "lora_A" in n)


def test_ffa_halves_the_lora_traffic_and_standard_lora_is_unchanged(tiny_model_dir: Path) -> None:
    # Prepare
    ffa = build_model(ModelConfig(model=str(tiny_model_dir), lora_variant="ffa"), LABELS, seed=0)
    std = build_model(ModelConfig(model=str(tiny_model_dir)), LABELS, seed=0)

    # Execute
    ffa_state, std_state = get_adapter_state(ffa), get_adapter_state(std)
    lora_values = lambda s: sum(v.size for k, v in s.items() if "lora_" in k)  # noqa: E731

    # Assert: r x d for A and d x r for B (square query/value): FFA sends half the LoRA values
    assert lora_values(ffa_state) * 2 == lora_values(std_state)
    assert any("lora_A" in k for k in std_state)
    with pytest.raises(ModelError, match="unexpected"):
        set_adapter_state(ffa, std_state)  # an A that should not travel is refused
