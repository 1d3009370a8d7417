"""Randomness for ``secure_mode``: drawn from the OS CSPRNG (``os.urandom``).

Opacus' own secure mode needs ``torchcsprng``, which is not built for the
PyTorch we run on. This module gives the two things secure DP-SGD needs
without it:

* uniform draws for Poisson sampling, and
* Gaussian noise by Box-Muller over 53-bit uniforms, summed in Opacus'
  floating-point-attack-resistant way (4 draws / 2, Holohan et al.,
  arXiv:2107.10138, n = 2) -- the same construction Opacus uses.

It is slower than PyTorch's generator (a few ms per step for LoRA-sized
updates) and is meant for deployments, not simulation.
"""

from __future__ import annotations

import math
import os

import numpy as np
import torch

__all__ = ["secure_gaussian", "secure_uniform"]

_MANTISSA = 53


def secure_uniform(n: int) -> torch.Tensor:
    """``n`` float64 values uniform on (0, 1], from ``os.urandom``."""
    raw = np.frombuffer(os.urandom(8 * n), dtype=np.uint64) >> np.uint64(64 - _MANTISSA)
    return (torch.from_numpy(raw.astype(np.float64)) + 1.0) / float(2**_MANTISSA)


def _standard_normal(n: int) -> torch.Tensor:
    u1, u2 = secure_uniform(n), secure_uniform(n)
    return torch.sqrt(-2.0 * torch.log(u1)) * torch.cos(2.0 * math.pi * u2)


def secure_gaussian(shape: torch.Size | tuple[int, ...], std: float, like: torch.Tensor) -> torch.Tensor:
    """N(0, std^2) noise of ``shape`` on ``like``'s device and dtype.

    Sum of four independent N(0, std^2) draws divided by two: same variance,
    robust against the floating-point attacks on naive Gaussian samplers.
    """
    n = int(np.prod(shape)) if len(shape) else 1
    total = sum(_standard_normal(n) for _ in range(4)) / 2.0
    return (std * total).reshape(shape).to(device=like.device, dtype=like.dtype)
