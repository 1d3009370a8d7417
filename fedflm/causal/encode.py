"""Records -> token sequences with a response-only label mask, and their batches.

A record is ``prompt tokens + response tokens + EOS``; its labels are ``-100`` (ignored) on the
prompt and the token ids on the response (plain text: on every token). A record longer than
``max_length`` is split into consecutive sequences of at most ``max_length`` tokens (at most
``max_sequences`` of them; the rest is cut and counted). Sequences without a predicted token are
dropped. A batch holds every sequence of its records and ``record_index`` (which record each
row belongs to), so that DP-SGD can clip per *record*: one record is one privacy unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import torch
from torch.utils.data import Dataset

from fedflm.causal.records import LMRecord
from fedflm.errors import ConfigError, DataError

IGNORE = -100
#: Prompt format for tokenizers without a chat template (Alpaca-style).
PLAIN_TEMPLATE = "### Instruction:\n{prompt}\n\n### Response:\n"


def prompt_text(tokenizer: Any, prompt: str) -> str:
    """The text before the response: the tokenizer's chat template when it has one, else
    :data:`PLAIN_TEMPLATE`; "" for plain-text records."""
    if not prompt:
        return ""
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False,
                                             add_generation_prompt=True)
    return PLAIN_TEMPLATE.format(prompt=prompt)


def encode_record(tokenizer: Any, record: LMRecord) -> tuple[list[int], list[int]]:
    """(token ids, labels) of one whole record: labels are IGNORE on the prompt."""
    head = prompt_text(tokenizer, record.prompt)
    prompt_ids = tokenizer(head, add_special_tokens=False)["input_ids"] if head else []
    if not record.prompt and tokenizer.bos_token_id is not None:
        prompt_ids = [tokenizer.bos_token_id]
    response_ids = tokenizer(record.response, add_special_tokens=False)["input_ids"]
    if tokenizer.eos_token_id is not None:
        response_ids = response_ids + [tokenizer.eos_token_id]
    return prompt_ids + response_ids, [IGNORE] * len(prompt_ids) + response_ids


def split_sequences(ids: list[int], labels: list[int], max_length: int,
                    max_sequences: int) -> tuple[list[tuple[list[int], list[int]]], bool]:
    """Consecutive pieces of at most ``max_length`` tokens that predict at least one token
    (the model predicts position t from positions < t of the same piece), and whether
    tokens were cut after the ``max_sequences``-th piece."""
    pieces = []
    for start in range(0, len(ids), max_length):
        if len(pieces) == max_sequences:
            return pieces, True
        piece_labels = labels[start:start + max_length]
        if any(t != IGNORE for t in piece_labels[1:]):
            pieces.append((ids[start:start + max_length], piece_labels))
    return pieces, False


@dataclass(frozen=True)
class EncodedRecord:
    """One record's sequences and how many tokens its loss averages over."""

    sequences: tuple[tuple[tuple[int, ...], tuple[int, ...]], ...]

    @property
    def predicted_tokens(self) -> int:
        return sum(sum(t != IGNORE for t in labels[1:]) for _, labels in self.sequences)


class RecordDataset(Dataset):
    """Encoded records; item i is record i (the unit Poisson sampling draws)."""

    def __init__(self, records: Sequence[LMRecord], tokenizer: Any, max_length: int,
                 max_sequences: int = 4) -> None:
        if max_length < 8 or max_sequences < 1:
            raise ConfigError(f"max_length must be >= 8 and max_sequences >= 1, got {max_length}, {max_sequences}")
        self.items: list[EncodedRecord] = []
        self.truncated = 0
        for i, rec in enumerate(records):
            ids, labels = encode_record(tokenizer, rec)
            pieces, cut = split_sequences(ids, labels, max_length, max_sequences)
            if not pieces:
                raise DataError(f"record {i}: no response token fits in max_length {max_length} "
                                "(the prompt is too long)")
            self.truncated += cut
            self.items.append(EncodedRecord(tuple((tuple(a), tuple(b)) for a, b in pieces)))

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> EncodedRecord:
        return self.items[i]


class RecordCollator:
    """Pads every sequence of the batch's records (right padding). Accepts an empty list
    (Poisson sampling draws empty batches): zero rows."""

    def __init__(self, pad_token_id: int) -> None:
        self.pad = pad_token_id

    def __call__(self, records: list[EncodedRecord]) -> dict[str, torch.Tensor]:
        rows = [(seq, r) for r, rec in enumerate(records) for seq in rec.sequences]
        width = max((len(ids) for (ids, _), _ in rows), default=0)
        ids = torch.full((len(rows), width), self.pad, dtype=torch.long)
        labels = torch.full((len(rows), width), IGNORE, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, ((seq, lab), _) in enumerate(rows):
            ids[i, :len(seq)], labels[i, :len(lab)], mask[i, :len(seq)] = torch.tensor(seq), torch.tensor(lab), 1
        index = torch.tensor([r for _, r in rows], dtype=torch.long)
        tokens = torch.tensor([records[r].predicted_tokens for _, r in rows], dtype=torch.float32)
        return {"input_ids": ids, "attention_mask": mask, "labels": labels, "record_index": index,
                "record_tokens": tokens, "num_records": torch.tensor(len(records))}
