"""Tests for fedflm.privacy.dp on a tiny random BERT with peft LoRA (query/value)
and the classifier head in modules_to_save."""

from __future__ import annotations

import math
import warnings

import pytest
import torch
from peft import LoraConfig, PeftModel, TaskType, get_peft_model
from torch.utils.data import DataLoader
from transformers import BertConfig, BertForSequenceClassification

from fedflm.errors import ConfigError
from fedflm.privacy.dp import GRAD_SAMPLE_MODES, SecureModeOffWarning, make_private, release
from fedflm.train.batching import PadCollator

VOCAB, LABELS = 120, 3
# Expected with frozen embeddings; dp.py silences it at run time, pytest resets filters per test.
pytestmark = pytest.mark.filterwarnings("ignore:Full backward hook is firing:UserWarning")


def _model(seed: int = 0, layers: list[int] | None = None) -> PeftModel:
    torch.manual_seed(seed)
    cfg = BertConfig(vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=48, max_position_embeddings=64, num_labels=LABELS,
                     hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    lora = LoraConfig(task_type=TaskType.SEQ_CLS, r=4, lora_alpha=8, lora_dropout=0.0,
                      target_modules=["query", "value"], modules_to_save=["classifier"],
                      layers_to_transform=layers)
    model = get_peft_model(BertForSequenceClassification(cfg), lora)
    for name, p in model.named_parameters():
        if "lora_B" in name:  # non-zero B so that lora_A has non-zero gradients
            torch.nn.init.normal_(p, std=0.2)
    return model.train()


def _rows(n: int, seed: int = 1) -> list[tuple[list[int], int]]:
    """Tokenizer-free rows of random ids with varied lengths (dynamic padding)."""
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(3, 14, (n,), generator=g).tolist()
    return [(torch.randint(5, VOCAB, (k,), generator=g).tolist(), int(torch.randint(0, LABELS, (1,), generator=g)))
            for k in lengths]


def _trainable(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {n: p for n, p in model.named_parameters() if p.requires_grad}


def _private(model: PeftModel, rows: list, batch_size: int, sigma: float = 1.0, clip: float = 1.0,
             mode: str = "hooks", lr: float = 0.1, **kw: object):
    opt = torch.optim.SGD(list(_trainable(model).values()), lr=lr)
    loader = DataLoader(rows, batch_size=batch_size, collate_fn=PadCollator(0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecureModeOffWarning)
        return make_private(model, opt, loader, noise_multiplier=sigma, max_grad_norm=clip,
                            grad_sample_mode=mode, **kw)


def _loss(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    return torch.nn.functional.cross_entropy(out.logits, batch["labels"])


@pytest.mark.parametrize(("layers", "n_trainable"), [(None, 10), ([1], 6)], ids=["all-layers", "top-layer"])
@pytest.mark.parametrize("mode", GRAD_SAMPLE_MODES)
def test_per_sample_grads_match_batch_size_one_reference(mode: str, layers, n_trainable: int) -> None:
    # Prepare: LoRA on every layer, or on the top one only (``lora_layers=1``: layer 0 runs without autograd)
    rows = _rows(7)
    batch = PadCollator(0)(rows)
    model = _model(layers=layers)
    private, _, _ = _private(model, rows, batch_size=7, mode=mode)

    # Execute
    _loss(private, batch).backward()
    per_sample = {n: p.grad_sample.detach().clone() for n, p in _trainable(model).items()}
    release(private)

    # Assert: one micro-batch of size 1 per row (same padded row, same mask)
    reference = _model(layers=layers)
    assert len(per_sample) == n_trainable  # layers x (query, value) x (A, B) + classifier weight, bias
    for i in range(len(rows)):
        reference.zero_grad()
        _loss(reference, {k: v[i : i + 1] for k, v in batch.items()}).backward()
        for name, p in _trainable(reference).items():
            torch.testing.assert_close(per_sample[name][i], p.grad, atol=1e-5, rtol=1e-4, msg=name)


def test_only_trainable_tensors_get_grad_sample() -> None:
    # Prepare
    rows = _rows(5)
    model = _model()
    private, _, _ = _private(model, rows, batch_size=5)

    # Execute
    _loss(private, PadCollator(0)(rows)).backward()

    # Assert
    with_gs = {n for n, p in model.named_parameters() if getattr(p, "grad_sample", None) is not None}
    assert with_gs == set(_trainable(model))
    assert all("lora_" in n or "classifier" in n for n in with_gs)


@pytest.mark.parametrize("mode", GRAD_SAMPLE_MODES)
def test_adapter_weights_change_after_every_dp_step(mode: str) -> None:
    # Prepare: the Opacus #820 guard -- LoRA updates must not be silently dropped
    model = _model()
    private, opt, loader = _private(model, _rows(64), batch_size=16, mode=mode)
    steps = 0

    # Execute / Assert
    for batch in loader:
        before = {n: p.detach().clone() for n, p in _trainable(model).items()}
        opt.zero_grad()
        if batch["labels"].numel():
            _loss(private, batch).backward()
        opt.step()
        steps += 1
        unchanged = [n for n, p in _trainable(model).items() if torch.equal(before[n], p)]
        assert not unchanged, f"step {steps}: {unchanged}"
    assert steps == opt.steps_taken == 4  # int(1 / (16 / 64))


def test_clipped_update_without_noise_equals_clipped_reference() -> None:
    # Prepare: tiny noise, tight clipping, SGD lr 1 so the update is the gradient
    rows = _rows(6)
    batch = PadCollator(0)(rows)
    model, reference = _model(), _model()
    clip = 0.05
    private, opt, _ = _private(model, rows, batch_size=6, sigma=1e-12, clip=clip, lr=1.0, poisson_sampling=False)
    expected = {n: torch.zeros_like(p) for n, p in _trainable(reference).items()}
    for i in range(len(rows)):
        reference.zero_grad()
        _loss(reference, {k: v[i : i + 1] for k, v in batch.items()}).backward()
        grads = {n: p.grad.clone() for n, p in _trainable(reference).items()}
        norm = math.sqrt(sum(float(g.pow(2).sum()) for g in grads.values()))
        for n, g in grads.items():
            expected[n] += g * min(1.0, clip / (norm + 1e-6)) / len(rows)
    before = {n: p.detach().clone() for n, p in _trainable(model).items()}

    # Execute
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _loss(private, batch).backward()
    opt.step()

    # Assert
    for n, p in _trainable(model).items():
        torch.testing.assert_close(before[n] - p.detach(), expected[n], atol=1e-6, rtol=1e-4, msg=n)


@pytest.mark.parametrize("secure_mode", [False, True])
def test_noise_norm_matches_sigma_c_sqrt_d_with_zero_gradients(secure_mode: bool) -> None:
    # Prepare: zero loss -> zero per-sample grads; SGD lr 1 -> update = noise / B
    sigma, clip, batch_size = 1.3, 0.7, 8
    rows = _rows(batch_size)
    model = _model()
    private, opt, _ = _private(model, rows, batch_size=batch_size, sigma=sigma, clip=clip, lr=1.0,
                               poisson_sampling=False, secure_mode=secure_mode)
    before = {n: p.detach().clone() for n, p in _trainable(model).items()}
    d = sum(p.numel() for p in before.values())

    # Execute
    (0.0 * _loss(private, PadCollator(0)(rows))).backward()
    opt.step()

    # Assert: ||noise|| ~ sigma*C*sqrt(d); the chi distribution's sd is ~0.71, band = 6 sd
    noise = torch.cat([(before[n] - p.detach()).flatten() for n, p in _trainable(model).items()]) * batch_size
    expected = sigma * clip * math.sqrt(d)
    assert abs(float(noise.norm()) - expected) < 6 * 0.71 * sigma * clip
    assert abs(float(noise.mean())) < 6 * sigma * clip / math.sqrt(d)


def test_empty_poisson_batch_is_a_pure_noise_step() -> None:
    # Prepare
    model = _model()
    private, opt, _ = _private(model, _rows(10), batch_size=5)
    before = {n: p.detach().clone() for n, p in _trainable(model).items()}
    empty = PadCollator(0)([])

    # Execute: no forward pass for an empty batch, as the training loop does
    assert empty["labels"].numel() == 0
    opt.zero_grad()
    opt.step()

    # Assert
    assert opt.steps_taken == 1
    assert all(not torch.equal(before[n], p) for n, p in _trainable(model).items())


def test_poisson_loader_has_expected_rate_and_length() -> None:
    # Prepare
    rows = _rows(200)
    model = _model()

    # Execute
    _, opt, loader = _private(model, rows, batch_size=20, noise_seed=3)
    sizes = [int(b["labels"].numel()) for b in loader]

    # Assert
    assert opt.sample_rate == pytest.approx(0.1)
    assert len(sizes) == 10
    assert 100 < sum(sizes) < 300  # Binomial(2000, 0.1): mean 200, sd ~13
    assert len(set(sizes)) > 1  # variable batch sizes: really Poisson


@pytest.mark.parametrize("mode", GRAD_SAMPLE_MODES)
def test_release_lets_the_same_model_be_made_private_again(mode: str) -> None:
    # Prepare: a worker process caches one model across rounds
    rows = _rows(8)
    batch = PadCollator(0)(rows)
    model = _model()
    first, _, _ = _private(model, rows, batch_size=8, mode=mode)
    _loss(first, batch).backward()

    # Execute
    release(first)
    model.zero_grad()
    _loss(model, batch).backward()
    leftover = [n for n, p in model.named_parameters() if getattr(p, "grad_sample", None) is not None]
    second, _, _ = _private(model, rows, batch_size=8, mode=mode)
    _loss(second, batch).backward()

    # Assert
    assert leftover == []
    assert all(p.grad_sample is not None for p in _trainable(model).values())


def test_secure_mode_off_is_announced() -> None:
    # Prepare
    model = _model()
    opt = torch.optim.SGD(list(_trainable(model).values()), lr=0.1)
    loader = DataLoader(_rows(4), batch_size=2, collate_fn=PadCollator(0))

    # Execute / Assert
    with pytest.warns(SecureModeOffWarning, match="secure_mode is off"):
        make_private(model, opt, loader, noise_multiplier=1.0, max_grad_norm=1.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"noise_multiplier": 0.0}, "noise_multiplier must be > 0, got 0.0"),
        ({"max_grad_norm": -1.0}, "max_grad_norm must be > 0, got -1.0"),
        ({"grad_sample_mode": "ghost"}, "grad_sample_mode must be one of"),
        ({"secure_mode": True, "noise_seed": 1}, "noise_seed cannot be set in secure_mode"),
    ],
)
def test_invalid_settings_are_refused(kwargs: dict, match: str) -> None:
    # Prepare
    model = _model()
    opt = torch.optim.SGD(list(_trainable(model).values()), lr=0.1)
    loader = DataLoader(_rows(4), batch_size=2, collate_fn=PadCollator(0))
    args = {"noise_multiplier": 1.0, "max_grad_norm": 1.0, **kwargs}

    # Execute / Assert
    with pytest.raises(ConfigError, match=match):
        make_private(model, opt, loader, **args)


def test_secure_mode_samples_poisson_batches_from_the_os_csprng() -> None:
    # Prepare
    from fedflm.privacy.secure_rng import secure_uniform
    model = _model()

    # Execute
    _, opt, loader = _private(model, _rows(200), batch_size=20, secure_mode=True)
    sizes = [int(b["labels"].numel()) for b in loader]
    u = secure_uniform(20000)

    # Assert
    assert opt.secure_mode and len(sizes) == 10 and 100 < sum(sizes) < 300
    assert float(u.min()) > 0.0 and float(u.max()) <= 1.0 and abs(float(u.mean()) - 0.5) < 0.02


def _batches_after_seed(secure_mode: bool, seed: int) -> list[list[int]]:
    """The Poisson batches (row indices) of one pass, drawn right after ``torch.manual_seed(seed)``
    (outside secure mode from a generator seeded with ``noise_seed=seed``)."""
    seeded = {} if secure_mode else {"noise_seed": seed}
    _, _, loader = _private(_model(), _rows(200), batch_size=20, secure_mode=secure_mode, **seeded)
    torch.manual_seed(seed)
    return [list(batch) for batch in loader.batch_sampler]


def test_secure_mode_poisson_batches_do_not_come_from_torchs_generator() -> None:
    # Prepare / Execute: the same torch seed before two passes, in each mode
    plain = [_batches_after_seed(False, seed=0) for _ in range(2)]
    secure = [_batches_after_seed(True, seed=0) for _ in range(2)]

    # Assert: a seeded torch generator repeats itself (the control); the OS CSPRNG ignores torch's seed
    assert plain[0] == plain[1]
    assert secure[0] != secure[1]


def _noise_after_seed(secure_mode: bool, seed: int) -> torch.Tensor:
    """The update of one DP step on zero gradients (pure noise), drawn right after ``torch.manual_seed(seed)``
    (outside secure mode from a generator seeded with ``noise_seed=seed``)."""
    rows = _rows(8)
    model = _model()
    seeded = {} if secure_mode else {"noise_seed": seed}
    private, opt, _ = _private(model, rows, batch_size=8, lr=1.0, poisson_sampling=False, secure_mode=secure_mode,
                               **seeded)
    before = torch.cat([p.detach().flatten().clone() for p in _trainable(model).values()])
    (0.0 * _loss(private, PadCollator(0)(rows))).backward()
    torch.manual_seed(seed)
    opt.step()
    return before - torch.cat([p.detach().flatten() for p in _trainable(model).values()])


def test_secure_mode_noise_does_not_come_from_torchs_generator() -> None:
    # Prepare / Execute
    plain = [_noise_after_seed(False, seed=0) for _ in range(2)]
    secure = [_noise_after_seed(True, seed=0) for _ in range(2)]

    # Assert: the seeded control repeats exactly; secure noise is non-zero and ignores torch's seed
    assert torch.equal(plain[0], plain[1])
    assert float(secure[0].norm()) > 0 and not torch.allclose(secure[0], secure[1])
