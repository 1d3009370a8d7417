"""The causal-LM ClientApp caches an owner's encoded records under :func:`clients.causal_lm.data_key`:
every setting that decides the records must be in the key (else two runs that differ in it would share
one entry), and the settings left out must not change the records."""

from __future__ import annotations

import dataclasses

import pytest

from clients.causal_lm import NOT_DATA, data_key, owner_records
from fedflm.causal.config import CausalRunConfig
from fedflm.config import DPConfig

#: a valid value different from the base config's, for every setting (a new setting needs one here)
OTHER = {"dataset": "synthetic:140", "eval_file": "held.jsonl", "eval_fraction": 0.2, "eval_samples": 5,
         "model": "other-model", "lora_r": 4, "lora_alpha": 8, "target_modules": ("q_proj",), "max_length": 40,
         "max_sequences": 1, "clients": 3, "rounds": 5, "local_steps": 3, "batch_size": 4, "lr": 0.1, "seed": 4,
         "out": "elsewhere", "round_timeout": 60.0, "prompts": 1, "max_new_tokens": 5,
         "privacy": DPConfig(dp="none", privacy_state="s")}


@pytest.fixture(scope="module")
def base(tiny_llama_dir) -> CausalRunConfig:
    return CausalRunConfig(dataset="synthetic:130", model=str(tiny_llama_dir), clients=2, rounds=2, local_steps=15,
                           batch_size=16, lr=0.01, max_length=48, seed=3, out="run", prompts=0)


def _fields() -> list[str]:
    return [f.name for f in dataclasses.fields(CausalRunConfig)]


@pytest.mark.parametrize("name", [n for n in _fields() if n not in NOT_DATA])
def test_every_other_setting_is_in_the_records_key(base, name):
    # Prepare
    assert name in OTHER, f"new setting {name!r}: give it another valid value in OTHER"
    changed = dataclasses.replace(base, **{name: OTHER[name]})
    # Execute / Assert
    assert data_key(changed) != data_key(base)


@pytest.mark.parametrize("name", NOT_DATA)
def test_a_setting_left_out_of_the_key_does_not_change_an_owners_records(base, name):
    # Prepare
    changed = dataclasses.replace(base, **{name: OTHER[name]})
    # Execute
    mine, theirs = owner_records(base, 1), owner_records(changed, 1)
    # Assert: the same entry, and rightly so (the records computed without the cache are the same)
    assert data_key(changed) == data_key(base)
    assert mine.items == theirs.items and mine.truncated == theirs.truncated
    owner_records.cache_clear()


def test_the_key_keeps_the_data_settings_as_they_are(base):
    # Prepare / Execute
    key = data_key(base)
    # Assert
    assert all(getattr(key, n) == getattr(base, n) for n in _fields() if n not in NOT_DATA)
    assert all(getattr(key, n) == getattr(CausalRunConfig(), n) for n in NOT_DATA)
