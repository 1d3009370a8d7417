"""Opacus DP-SGD for one client's local training (per-sample clipping,
Gaussian noise, Poisson sampling) on a peft LoRA model.

:func:`make_private` turns ``(model, optimizer, data_loader)`` into private
versions, like Opacus' ``PrivacyEngine.make_private`` but without its
accountant: accounting is the owner's business (``fedflm.privacy.state``),
across rounds and runs. The returned optimizer counts the noisy steps it
took (``steps_taken``) and carries ``sample_rate``, ``noise_multiplier`` and
``max_grad_norm`` for the ledger.

Randomness: in ``secure_mode`` Poisson sampling and noise come from the OS
CSPRNG (``fedflm.privacy.secure_rng``); otherwise from a generator of this
call (seeded by ``noise_seed`` or by the OS), never from PyTorch's global one.

Batches are dicts ``{input_ids, attention_mask, labels}``; the collate
function must accept an empty list (Poisson sampling draws empty batches;
``PadCollator`` does). An empty batch is still a noisy step: call
``optimizer.step()`` without a forward pass and pure noise is applied.
"""

from __future__ import annotations

import secrets
import warnings
from typing import Any

import torch
from opacus.grad_sample import GradSampleModule, GradSampleModuleExpandedWeights
from opacus.optimizers import DPOptimizer
from opacus.optimizers.optimizer import _check_processed_flag, _mark_as_processed
from opacus.utils.uniform_sampler import UniformWithReplacementSampler
from opacus.validators import ModuleValidator
from torch import nn
from torch.utils.data import DataLoader

from fedflm.errors import ConfigError, PrivacyError
from fedflm.privacy.secure_rng import secure_gaussian, secure_uniform

__all__ = [
    "DEFAULT_GRAD_SAMPLE_MODE",
    "GRAD_SAMPLE_MODES",
    "NoPoissonSamplingWarning",
    "PrivateOptimizer",
    "SecureModeOffWarning",
    "make_private",
    "release",
]

GRAD_SAMPLE_MODES = ("hooks", "functorch", "ew")

# Opacus' backward hooks on the first adapted layer fire with no input that
# requires grad (the embeddings are frozen): expected for LoRA, and PyTorch
# says so on every step. Silence exactly that message, nothing else.
warnings.filterwarnings(
    "ignore", message="Full backward hook is firing when gradients are computed with respect to module outputs",
    category=UserWarning)
DEFAULT_GRAD_SAMPLE_MODE = "ew"  # fastest in simulations/bench_dp.py, per-sample grads verified in tests


class SecureModeOffWarning(UserWarning):
    """DP noise comes from PyTorch's (non-cryptographic) generator."""


class NoPoissonSamplingWarning(UserWarning):
    """Batches are not Poisson-sampled, so the accounting's assumption fails."""


class PrivateOptimizer(DPOptimizer):
    """Opacus' DPOptimizer that also handles empty Poisson batches, counts its
    noisy steps and, in secure mode, draws noise from the OS CSPRNG."""

    def __init__(self, optimizer: torch.optim.Optimizer, *, sample_rate: float, **kwargs: Any) -> None:
        super().__init__(optimizer, **kwargs)
        self.sample_rate = sample_rate
        self.steps_taken = 0
        #: per-example weights in [0, 1] applied AFTER clipping (issue 22's class weights), for the
        #: next step only; each example still adds at most max_grad_norm: the sensitivity is unchanged
        self.sample_weights: torch.Tensor | None = None
        #: issue 22: the privacy unit of each row of the next batch (one id per row; rows with one id
        #: are one record's augmented copies): their gradients are averaged BEFORE clipping, so a unit
        #: adds at most max_grad_norm however many rows it has; sample_weights are then one per unit
        self.sample_groups: torch.Tensor | None = None

    def _average_groups(self, groups: torch.Tensor) -> None:
        """Replace each parameter's per-row gradients by their mean per privacy unit."""
        rows = len(self.grad_samples[0])
        if groups.dim() != 1 or len(groups) != rows:
            raise PrivacyError(f"sample groups must be one id per row ({rows} rows), got shape {tuple(groups.shape)}")
        _, inverse = torch.unique(groups, return_inverse=True)
        counts = torch.bincount(inverse)
        for p in self.params:
            rows_grad = self._get_flat_grad_sample(p)
            summed = rows_grad.new_zeros((len(counts), *rows_grad.shape[1:])).index_add_(0, inverse.to(rows_grad.device),
                                                                                        rows_grad)
            p.grad_sample = summed / counts.to(summed).view(-1, *([1] * (summed.dim() - 1)))

    def clip_and_accumulate(self) -> None:
        weights, self.sample_weights = self.sample_weights, None
        groups, self.sample_groups = self.sample_groups, None
        if groups is not None and len(self.grad_samples[0]):
            self._average_groups(groups)
        if weights is None or len(self.grad_samples[0]) == 0:
            super().clip_and_accumulate()
            return
        if len(weights) != len(self.grad_samples[0]) or bool((weights < 0).any() | (weights > 1).any()):
            raise PrivacyError(f"sample weights must be one value in [0, 1] per example, got {weights.tolist()}")
        norms = torch.stack([g.reshape(len(g), -1).norm(2, dim=-1) for g in self.grad_samples], dim=1).norm(2, dim=1)
        factor = (self.max_grad_norm / (norms + 1e-6)).clamp(max=1.0) * weights.to(norms)
        for p in self.params:
            _check_processed_flag(p.grad_sample)
            grad_sample = self._get_flat_grad_sample(p).to(p.dtype)
            grad = torch.einsum("i,i...", factor.to(grad_sample), grad_sample)
            p.summed_grad = grad if p.summed_grad is None else p.summed_grad + grad
            _mark_as_processed(p.grad_sample)

    def pre_step(self, closure: Any = None) -> bool | None:
        if all(getattr(p, "grad_sample", None) is None for p in self.params):
            # Empty Poisson batch (no forward/backward): still a noisy step.
            for p in self.params:
                p.grad_sample = torch.zeros((0, *p.shape), dtype=p.dtype, device=p.device)
        stepped = super().pre_step(closure)
        if stepped:
            self.steps_taken += 1
        return stepped

    def add_noise(self) -> None:
        if not self.secure_mode:
            super().add_noise()
            return
        std = self.noise_multiplier * self.max_grad_norm
        for p in self.params:
            _check_processed_flag(p.summed_grad)
            noise = secure_gaussian(p.summed_grad.shape, std, like=p.summed_grad)
            p.grad = (p.summed_grad + noise).view_as(p)
            _mark_as_processed(p.summed_grad)


class _SecurePoissonSampler(UniformWithReplacementSampler):
    """Poisson sampling with uniforms from ``os.urandom``."""

    def __iter__(self):  # type: ignore[override]
        for _ in range(self.steps):
            mask = secure_uniform(self.num_samples) < self.sample_rate
            yield mask.nonzero(as_tuple=False).reshape(-1).tolist()


class _KeywordInputs(nn.Module):
    """Lets the ``ew`` wrapper (which needs the first input positionally) be
    called as ``model(input_ids=..., attention_mask=...)``."""

    def __init__(self, gsm: GradSampleModuleExpandedWeights) -> None:
        super().__init__()
        self._gsm = gsm

    def forward(self, input_ids: torch.Tensor, **kwargs: Any) -> Any:
        return self._gsm(input_ids, **kwargs)


def _expected_batch_size(loader: DataLoader) -> int:
    size = loader.batch_size or getattr(loader.batch_sampler, "batch_size", None)
    if size is None:
        size = max(1, round(len(loader.dataset) / max(len(loader), 1)))  # type: ignore[arg-type]
    return int(size)


def _poisson_loader(loader: DataLoader, sample_rate: float, secure_mode: bool,
                    generator: torch.Generator | None) -> DataLoader:
    n = len(loader.dataset)  # type: ignore[arg-type]
    if secure_mode:
        sampler: UniformWithReplacementSampler = _SecurePoissonSampler(num_samples=n, sample_rate=sample_rate)
    else:
        sampler = UniformWithReplacementSampler(num_samples=n, sample_rate=sample_rate, generator=generator)
    return DataLoader(loader.dataset, batch_sampler=sampler, collate_fn=loader.collate_fn,
                      num_workers=loader.num_workers, pin_memory=loader.pin_memory)


def _wrap_model(model: nn.Module, mode: str) -> nn.Module:
    errors = ModuleValidator.validate(model, strict=False)
    if errors:
        raise PrivacyError(f"model is not compatible with DP-SGD: {errors[0]}")
    if mode == "ew":
        return _KeywordInputs(GradSampleModuleExpandedWeights(model, batch_first=True, loss_reduction="mean"))
    return GradSampleModule(model, batch_first=True, loss_reduction="mean", strict=True,
                            force_functorch=mode == "functorch")


def _private_generator(noise_seed: int | None) -> torch.Generator:
    """Outside secure mode: a generator of our own, seeded by ``noise_seed`` or by the OS.

    Never PyTorch's global generator: whoever seeds that (a model builder, a
    server-chosen seed) would otherwise choose the DP noise and the batches."""
    seed = noise_seed if noise_seed is not None else secrets.randbits(63)
    return torch.Generator().manual_seed(int(seed))


def _check_args(noise_multiplier: float, max_grad_norm: float, mode: str, secure_mode: bool,
                noise_seed: int | None) -> None:
    if not noise_multiplier > 0:
        raise ConfigError(f"noise_multiplier must be > 0, got {noise_multiplier!r}")
    if not max_grad_norm > 0:
        raise ConfigError(f"max_grad_norm must be > 0, got {max_grad_norm!r}")
    if mode not in GRAD_SAMPLE_MODES:
        raise ConfigError(f"grad_sample_mode must be one of {', '.join(GRAD_SAMPLE_MODES)}, got {mode!r}")
    if secure_mode and noise_seed is not None:
        raise ConfigError("noise_seed cannot be set in secure_mode (noise must be unpredictable)")


def make_private(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    data_loader: DataLoader,
    *,
    noise_multiplier: float,
    max_grad_norm: float,
    poisson_sampling: bool = True,
    secure_mode: bool = False,
    grad_sample_mode: str = DEFAULT_GRAD_SAMPLE_MODE,
    noise_seed: int | None = None,
) -> tuple[nn.Module, PrivateOptimizer, DataLoader]:
    """DP-SGD versions of ``(model, optimizer, data_loader)``.

    The loss must be a mean over the batch. The sample rate is
    ``expected batch size / dataset size`` and one pass of the returned
    loader has ``int(1 / sample_rate)`` steps. Call :func:`release` on the
    returned model when done, to detach Opacus' hooks from ``model``.
    """
    _check_args(noise_multiplier, max_grad_norm, grad_sample_mode, secure_mode, noise_seed)
    if not secure_mode:
        warnings.warn("DP secure_mode is off: noise comes from PyTorch's non-cryptographic generator "
                      "(fine for simulation; turn secure_mode on in deployment)", SecureModeOffWarning,
                      stacklevel=2)
    n = len(data_loader.dataset)  # type: ignore[arg-type]
    batch = _expected_batch_size(data_loader)
    sample_rate = min(1.0, batch / n)
    generator = None if secure_mode else _private_generator(noise_seed)
    if poisson_sampling:
        data_loader = _poisson_loader(data_loader, sample_rate, secure_mode, generator)
    else:
        warnings.warn("Poisson sampling is off: the epsilon reported assumes Poisson sampling and "
                      "does not hold for these batches", NoPoissonSamplingWarning, stacklevel=2)
    private_model = _wrap_model(model, grad_sample_mode)
    private_opt = PrivateOptimizer(
        optimizer, sample_rate=sample_rate, noise_multiplier=noise_multiplier, max_grad_norm=max_grad_norm,
        expected_batch_size=max(1, round(sample_rate * n)), loss_reduction="mean",
        generator=generator, secure_mode=secure_mode)
    return private_model, private_opt, data_loader


def release(private_model: nn.Module) -> None:
    """Detach Opacus from the wrapped model (hooks, per-sample state) so it can
    be used, or made private, again -- a worker process reuses one model."""
    gsm = private_model._gsm if isinstance(private_model, _KeywordInputs) else private_model
    if isinstance(gsm, GradSampleModule):
        gsm.remove_hooks()
    inner = getattr(gsm, "_module", gsm)
    for p in inner.parameters():
        for attr in ("grad_sample", "summed_grad", "_forward_counter"):
            if hasattr(p, attr):
                delattr(p, attr)
