"""One-shot DP prototypes: a linear head from noisy per-class sums of frozen sentence vectors.

Mechanism (one data owner, one release). Each record's sentence vector ``x`` is clipped to
L2 norm <= 1 (the mean-pooled, normalised vectors of a sentence encoder already have norm 1)
and added to the row of its class: ``S[c] = sum of x over the owner's records of class c``,
a ``[classes, hidden]`` matrix. The owner releases ``S + N(0, sigma^2 I)``.

Neighbouring data sets: add/remove one record (the relation Opacus' accountants use for
DP-SGD). Adding or removing a record changes exactly one row of ``S`` by its clipped vector,
so the L2 sensitivity of ``S`` is 1 and the release is the Gaussian mechanism with noise
multiplier ``sigma`` (std = sigma x sensitivity). For the accountant that is one step of the
subsampled Gaussian mechanism with sample rate 1: the history entry ``(sigma, 1.0, 1)``,
composed with the owner's DP-SGD rounds in the same ledger and the same RDP/PRV accountant.

No counts are released: the head uses only each class row's direction (the class mean's
direction is the sum's direction), so counts would cost budget and add nothing.

Federated: each owner releases its noisy sums (sums, not means, so that they add up); the
server adds them and sets ``W[c] = scale * S[c] / ||S[c]||``, bias 0 (a cosine classifier on
the normalised vectors, :func:`prototype_head`).

Class-name prior (optional, ``name_prior`` > 0): the server also embeds each class's *name* with
the same frozen encoder (``fedflm.models.name_prior``; public task metadata, no owner data) and
mixes it into each row's direction: ``W[c] = scale * dir(dir(S[c]) + name_prior * dir(E[c]))``.
Post-processing of the release plus public text: no privacy cost. It matters most where the
noise is large (small epsilon): the names alone are a zero-shot classifier.
"""

from __future__ import annotations

import torch

from fedflm.errors import ConfigError
from fedflm.privacy.calibration import calibrate
from fedflm.privacy.secure_rng import secure_gaussian

__all__ = ["PROTOTYPE_MECHANISM", "PROTOTYPE_SAMPLE_RATE", "class_sums", "noisy_class_sums", "prototype_head", "prototype_plan"]

#: the ledger's name for the release ("max_grad_norm" records the vectors' clip norm, 1)
PROTOTYPE_MECHANISM = "gaussian-class-sums"
#: the prototype release in accountant terms: one step of the Gaussian mechanism on all records
PROTOTYPE_SAMPLE_RATE = 1.0


def prototype_plan(epsilon_share: float, delta: float, accountant: str = "rdp") -> float:
    """Noise multiplier of the prototype release alone spending ``epsilon_share`` (within 1 % below)."""
    plan = calibrate(target_epsilon=epsilon_share, delta=delta, rounds=1, steps_per_round=1,
                     sample_rate=PROTOTYPE_SAMPLE_RATE, accountant=accountant)
    return plan.noise_multiplier


def class_sums(features: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """``[classes, hidden]``: per-class sums of the rows of ``features`` clipped to L2 norm <= 1."""
    if features.ndim != 2 or len(features) != len(labels):
        raise ConfigError(f"features must be [rows, hidden] with one label per row, got {tuple(features.shape)} "
                          f"and {len(labels)} labels")
    x = features.double()
    x = x / x.norm(dim=1, keepdim=True).clamp(min=1.0)
    return torch.zeros((num_classes, x.shape[1]), dtype=torch.float64).index_add_(0, labels.long(), x)


def noisy_class_sums(features: torch.Tensor, labels: torch.Tensor, num_classes: int, noise_multiplier: float,
                     generator: torch.Generator | None, secure_mode: bool = False) -> torch.Tensor:
    """The owner's release: :func:`class_sums` + N(0, noise_multiplier^2) per entry (sensitivity 1).

    ``noise_multiplier`` 0 gives the exact sums (no DP: for runs without DP and for tests)."""
    sums = class_sums(features, labels, num_classes)
    if noise_multiplier < 0:
        raise ConfigError(f"noise_multiplier must be >= 0, got {noise_multiplier}")
    if noise_multiplier == 0:
        return sums
    if secure_mode:
        return sums + secure_gaussian(sums.shape, noise_multiplier, like=sums)
    if generator is None:
        raise ConfigError("a noise generator is needed outside secure mode")
    return sums + noise_multiplier * torch.randn(sums.shape, generator=generator, dtype=sums.dtype)


def _directions(rows: torch.Tensor) -> torch.Tensor:
    rows = rows.double()
    return rows / rows.norm(dim=1, keepdim=True).clamp(min=1e-12)


def prototype_head(sums: torch.Tensor, scale: float, prior: torch.Tensor | None = None,
                   prior_weight: float = 0.0) -> dict[str, torch.Tensor]:
    """Linear head weights from (summed) class sums: each row normalised, times ``scale``; bias 0.

    With ``prior`` (``[classes, hidden]``, the class names' sentence vectors) and ``prior_weight``
    > 0, row ``c`` is the direction of ``dir(sums[c]) + prior_weight * dir(prior[c])``."""
    if not scale > 0:
        raise ConfigError(f"prototype scale must be > 0, got {scale}")
    if prior_weight < 0:
        raise ConfigError(f"prior_weight must be >= 0, got {prior_weight}")
    rows = _directions(sums)
    if prior_weight > 0:
        if prior is None or prior.shape != sums.shape:
            raise ConfigError(f"the class-name prior must be {tuple(sums.shape)}, got "
                              f"{None if prior is None else tuple(prior.shape)}")
        rows = _directions(rows + prior_weight * _directions(prior))
    return {"weight": (scale * rows).float(), "bias": torch.zeros(len(sums))}
