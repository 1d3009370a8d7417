"""issue 22: what the server adds to every training request for the leakage check: a fresh key
and the keyed hashes of its held-out set, never a text; off by default."""

from __future__ import annotations

from fedflm.config import DataConfig, RunConfig
from fedflm.data import leakage
from fedflm.fl.client_data import federated_data


def test_the_request_carries_a_fresh_key_and_digests_never_texts():
    # Prepare: the packaged Banking77, 60 held-out rows
    from server.app import _train_config

    cfg = RunConfig(data=DataConfig(dataset="banking77", eval_samples=60, on_leakage="exclude"))
    texts = list(federated_data(cfg.data, cfg.fed.seed).eval["text"])

    # Execute
    first, second = dict(_train_config(cfg)), dict(_train_config(cfg))

    # Assert: one digest per distinct normalised text; no text in any value; a new key per run
    key, digests = leakage.from_record(first)
    assert len(digests) == len({leakage.normalise(t) for t in texts}) > 50
    assert digests == {leakage.digest(key, t) for t in texts}
    values = [v for v in first.values() if isinstance(v, (str, bytes))]
    assert not any(t in v for t in texts for v in values if isinstance(v, str))
    assert not any(t.encode() in v for t in texts for v in values if isinstance(v, bytes))
    assert first["leakage-key"] != second["leakage-key"]
    assert RunConfig.from_flat({k: v for k, v in first.items() if k not in leakage.RECORD_KEYS}) == cfg


def test_no_check_no_record():
    # Prepare
    from server.app import _train_config

    # Execute
    record = dict(_train_config(RunConfig(data=DataConfig(dataset="banking77", eval_samples=60))))

    # Assert
    assert not set(leakage.RECORD_KEYS) & set(record)
