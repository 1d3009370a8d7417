"""Per-record DP-SGD gradients: Opacus' per-row gradients summed per record equal each record's
own gradient computed alone (the micro-batch reference; guards against Opacus issue #820)."""

from __future__ import annotations

import pytest
import torch

from fedflm.causal.encode import RecordCollator, RecordDataset
from fedflm.causal.model import load_causal_lm
from fedflm.causal.objective import group_grad_samples, row_losses
from fedflm.causal.records import LMRecord, synthetic_records
from fedflm.privacy.dp import make_private, release


@pytest.mark.parametrize("mode", ["ew", "hooks"])
def test_grouped_grad_samples_match_each_records_own_gradient(tiny_llama_dir, mode):
    # Prepare: one record spanning three sequences, two short ones
    model, tok = load_causal_lm(str(tiny_llama_dir), lora_r=4)
    for name, p in model.named_parameters():
        if "lora_B" in name:  # B starts at zero: make the gradients of A non-trivial too
            torch.nn.init.normal_(p, std=0.1)
    records = [LMRecord("", " ".join(["apple river stone cloud"] * 8))] + synthetic_records(2, seed=4)
    data = RecordDataset(records, tok, max_length=16, max_sequences=3)
    collate = RecordCollator(tok.pad_token_id)
    params = [p for p in model.parameters() if p.requires_grad]
    reference = []
    for i in range(len(data)):
        model.zero_grad()
        one = collate([data[i]])
        row_losses(model(input_ids=one["input_ids"], attention_mask=one["attention_mask"]).logits, one).sum().backward()
        reference.append([p.grad.clone() for p in params])
    loader = torch.utils.data.DataLoader(data, batch_size=3, collate_fn=collate)
    opt = torch.optim.SGD(params, lr=0.1)
    private, popt, _ = make_private(model, opt, loader, noise_multiplier=1.0, max_grad_norm=1.0,
                                    grad_sample_mode=mode, noise_seed=0)
    batch = collate([data[0], data[1], data[2]])
    # Execute
    row_losses(private(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits,
               batch).mean().backward()
    group_grad_samples(popt.params, batch["record_index"], 3)
    # Assert
    assert len(data[0].sequences) == 3
    assert batch["input_ids"].shape[0] == sum(len(data[i].sequences) for i in range(3))
    for j, p in enumerate(popt.params):
        assert p.grad_sample.shape[0] == 3
        for i in range(3):
            torch.testing.assert_close(p.grad_sample[i], reference[i][j], rtol=1e-4, atol=1e-6)
    release(private)
