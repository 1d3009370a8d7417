from __future__ import annotations

from fedflm.causal.encode import IGNORE, RecordCollator, RecordDataset, encode_record, prompt_text
from fedflm.causal.records import LMRecord


def _tok(tiny_llama_dir):
    from transformers import AutoTokenizer
    return AutoTokenizer.from_pretrained(tiny_llama_dir)


def test_loss_mask_covers_exactly_the_response_and_eos(tiny_llama_dir):
    # Prepare
    tok = _tok(tiny_llama_dir)
    rec = LMRecord("Reverse the order of these words: apple river", "river apple")
    # Execute
    ids, labels = encode_record(tok, rec)
    # Assert
    start = len(tok(prompt_text(tok, rec.prompt), add_special_tokens=False)["input_ids"])
    assert labels[:start] == [IGNORE] * start
    assert labels[start:] == ids[start:]
    assert ids[-1] == tok.eos_token_id
    assert tok.decode(ids[start:-1]) == "river apple"
    assert tok.decode(ids[:start]).endswith("### Response:\n")


def test_plain_text_is_predicted_after_bos(tiny_llama_dir):
    # Prepare
    tok = _tok(tiny_llama_dir)
    # Execute
    ids, labels = encode_record(tok, LMRecord("", "apple river stone"))
    # Assert
    assert ids[0] == tok.bos_token_id and labels[0] == IGNORE
    assert labels[1:] == ids[1:]


def test_long_record_spans_sequences_of_one_record(tiny_llama_dir):
    # Prepare
    tok = _tok(tiny_llama_dir)
    long = LMRecord("", " ".join(["apple river stone cloud"] * 12))
    short = LMRecord("Sort these words alphabetically: lamp, honey", "honey, lamp")
    data = RecordDataset([long, short], tok, max_length=16, max_sequences=3)
    # Execute
    batch = RecordCollator(tok.pad_token_id)([data[0], data[1]])
    # Assert
    assert len(data[0].sequences) == 3 and data.truncated == 1
    assert batch["record_index"].tolist() == [0, 0, 0, 1]
    assert batch["input_ids"].shape[1] <= 16
    assert batch["record_tokens"].tolist()[:3] == [data[0].predicted_tokens] * 3
    assert data[0].predicted_tokens == int((batch["labels"][:3, 1:] != IGNORE).sum())


def test_empty_batch_has_zero_rows(tiny_llama_dir):
    # Execute
    batch = RecordCollator(0)([])
    # Assert
    assert batch["input_ids"].shape[0] == 0 and int(batch["num_records"]) == 0
