"""Dirac gradient canaries: each is one coordinate of one trainable tensor.

A canary's per-example gradient is ``norm * C`` at its coordinate and zero
elsewhere (``norm > 1``, so that a correct step clips it to exactly ``C``
and a step that skips clipping lets more through). Canaries sit on distinct
coordinates, spread round-robin over the trainable tensors so that every
tensor carries some, and each is included with probability 1/2 (coin flips
from ``secrets`` unless a seed is given). Distinct coordinates and
one-canary examples make the canaries independent of each other under a
correct step: per-example clipping, Poisson sampling and the noise act on
each one separately.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import numpy as np
import torch

from fedflm.errors import ConfigError


@dataclass(frozen=True)
class DiracCanaries:
    """``tensor[i]``, ``coord[i]`` (flat index in that tensor), ``included[i]``."""

    tensor: np.ndarray
    coord: np.ndarray
    included: np.ndarray
    norm: float  # the canary gradient's norm in units of the clipping norm C

    def __len__(self) -> int:
        return len(self.tensor)


def rng_for(seed: int | None) -> np.random.Generator:
    """Seeded generator for tests and studies; the OS CSPRNG otherwise."""
    return np.random.default_rng(secrets.randbits(128) if seed is None else seed)


def make_dirac_canaries(shapes: list[torch.Size], m: int, rng: np.random.Generator,
                        norm: float = 10.0) -> DiracCanaries:
    """``m`` canaries on distinct coordinates of tensors with ``shapes``, round-robin."""
    sizes = [int(np.prod(s)) if len(s) else 1 for s in shapes]
    if m < 2:
        raise ConfigError(f"canaries must be >= 2, got {m}")
    if m > sum(sizes):
        raise ConfigError(f"canaries must be <= the {sum(sizes)} trainable coordinates, got {m}")
    if not norm >= 1:
        raise ConfigError(f"canary norm must be >= 1 (in units of the clipping norm), got {norm}")
    counts = [0] * len(sizes)
    k = 0
    while sum(counts) < m:  # round-robin over the tensors that still have room
        if counts[k] < sizes[k]:
            counts[k] += 1
        k = (k + 1) % len(sizes)
    tensor = np.concatenate([np.full(c, t) for t, c in enumerate(counts)]).astype(np.int64)
    coord = np.concatenate([rng.choice(sizes[t], size=c, replace=False) for t, c in enumerate(counts)])
    return DiracCanaries(tensor, coord.astype(np.int64), rng.random(m) < 0.5, float(norm))


def grad_samples(canaries: DiracCanaries, members: np.ndarray, shapes: list[torch.Size],
                 clip: float, dtype: torch.dtype = torch.float32) -> list[torch.Tensor]:
    """Per-example gradients (one row per canary in ``members``), one tensor per trainable tensor."""
    out = []
    for t, shape in enumerate(shapes):
        g = torch.zeros((len(members), int(np.prod(shape)) if len(shape) else 1), dtype=dtype)
        rows = np.nonzero(canaries.tensor[members] == t)[0]
        g[torch.from_numpy(rows), torch.from_numpy(canaries.coord[members][rows])] = canaries.norm * clip
        out.append(g.reshape((len(members), *shape)))
    return out


def read_coordinates(canaries: DiracCanaries, values: list[torch.Tensor]) -> np.ndarray:
    """The value at every canary's coordinate, from one tensor per trainable tensor."""
    flat = [v.detach().reshape(-1).cpu().double().numpy() for v in values]
    out = np.empty(len(canaries))
    for t, f in enumerate(flat):
        sel = canaries.tensor == t
        out[sel] = f[canaries.coord[sel]]
    return out
