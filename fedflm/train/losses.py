"""Training losses for one client, all per-sample (DP-SGD clips each example's gradient).

``--loss`` chooses one of:

* ``ce`` -- cross-entropy.
* ``weighted[:POWER[:FLOOR]]`` -- cross-entropy weighted per class by ``w_c ∝ n_c ** -POWER``
  (POWER 1, the default, is the "balanced" weighting ``n / (K n_c)``), where ``n_c`` are the
  **client's own** label counts over its training rows and ``K`` the classes it holds; FLOOR
  (default 0) raises every weight to at least FLOOR times the largest (see DP below). The
  weights are scaled so that their mean over the client's rows is 1 (the gradient's scale,
  which clipping sees, stays that of plain CE). The counts never leave the client and
  nothing is released about them, so they cost no epsilon: they only decide how the
  client's own examples are weighed, inside the DP-SGD step that is accounted.
* ``focal:GAMMA`` -- focal loss ``(1 - p_y) ** GAMMA * CE`` (Lin et al. 2017).
* ``gce:Q`` -- generalised cross-entropy ``(1 - p_y ** Q) / Q`` (Zhang & Sabuncu 2018), robust
  to noisy labels; Q -> 0 gives CE, Q = 1 the mean absolute error.

``--label-smoothing EPS`` replaces the one-hot target by ``(1 - EPS) one_hot + EPS / K``
(as ``torch.nn.functional.cross_entropy(label_smoothing=EPS)``) for ce, weighted and focal.

Every loss is ``mean_i loss_i`` over the batch, each ``loss_i`` depending on example ``i``
only, as Opacus' per-sample gradients with ``loss_reduction="mean"`` require.

Under DP-SGD each example's gradient is clipped to the norm C. A weight inside the loss would
be undone by clipping (an example with weight 10 and a gradient longer than C/10 still ends at
C), so under DP-SGD ``weighted`` applies its weights to the *clipped* gradients instead,
divided by the largest weight the client uses: ``sum_i (w_i / w_max) clip_C(g_i)``. Every
example still adds at most C, so the sensitivity, the noise and epsilon are those of plain
DP-SGD; the majority's share of the sum shrinks rather than the minority's growing (less
signal against the same noise). The focal factor stays inside the loss (it is below 1, and
clipping can cancel it the same way).

That shrinking is what breaks ``weighted`` on sparse owners: an owner holding ONE row of some class
has ``w_max`` = (rows of its largest class) x the weight of that class, so its other examples add a
few percent of C each while the noise stays ``sigma C`` (the signal-to-noise ratio falls by
``mean_i w_i / w_max``, ~10-50x on a Dirichlet-0.5 Banking77 owner). Two knobs, both free in
epsilon (every example still adds at most C, the noise is unchanged): POWER < 1 tempers the weights
(``weighted:0.5`` takes their square root), and FLOOR guarantees every example at least FLOOR x its
clipped gradient, so the signal-to-noise ratio is at least FLOOR times plain DP-SGD's.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from fedflm.errors import ConfigError
from fedflm.options import LossSpec, parse_loss

__all__ = ["LossSpec", "TrainLoss", "class_weights", "make_loss", "parse_loss", "per_sample_loss"]


def class_weights(labels: Sequence[int], num_classes: int, power: float = 1.0, floor: float = 0.0) -> torch.Tensor:
    """Per-class weights ``∝ max(n_c ** -power, floor * max_c' n_c' ** -power)`` from the client's own
    labels, mean 1 over its rows (the floor bounds the largest/smallest weight ratio by ``1 / floor``).

    Classes the client does not hold get weight 1 (no row of theirs is ever weighed)."""
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=num_classes)[:num_classes].astype(float)
    held = counts > 0
    w = np.ones(num_classes)
    if held.any():
        w[held] = counts[held] ** -power
        w[held] = np.maximum(w[held], floor * w[held].max())
        w[held] *= counts[held].sum() / float((counts[held] * w[held]).sum())
    return torch.as_tensor(w, dtype=torch.float32)


def _smoothed_ce(log_p: torch.Tensor, labels: torch.Tensor, eps: float) -> torch.Tensor:
    nll = -log_p.gather(1, labels[:, None]).squeeze(1)
    if eps == 0.0:
        return nll
    return (1.0 - eps) * nll - eps * log_p.mean(dim=1)


def per_sample_loss(logits: torch.Tensor, labels: torch.Tensor, spec: LossSpec, label_smoothing: float = 0.0,
                    weights: torch.Tensor | None = None) -> torch.Tensor:
    """One loss value per row of ``logits`` (shape ``[batch]``)."""
    log_p = F.log_softmax(logits.float(), dim=-1)
    if spec.kind == "gce":
        p_y = log_p.gather(1, labels[:, None]).squeeze(1).exp()
        return (1.0 - p_y.pow(spec.param)) / spec.param
    ce = _smoothed_ce(log_p, labels, label_smoothing)
    if spec.kind == "focal":
        p_y = log_p.gather(1, labels[:, None]).squeeze(1).exp()
        return (1.0 - p_y).clamp_min(0.0).pow(spec.param) * ce
    if spec.kind == "weighted":
        if weights is None:
            raise ConfigError("weighted loss needs class weights (the client's label counts)")
        return weights.to(ce.device)[labels] * ce
    return ce


class TrainLoss:
    """The client's training loss: ``mean_i loss_i`` over a batch (what the loop backpropagates)."""

    def __init__(self, spec: LossSpec, label_smoothing: float = 0.0, labels: Sequence[int] = ()) -> None:
        if spec.kind == "gce" and label_smoothing:
            raise ConfigError(f"label_smoothing is defined for ce, weighted and focal, not gce "
                              f"(got label_smoothing={label_smoothing})")
        self.spec, self.label_smoothing = spec, label_smoothing
        self.labels = list(labels)
        self._weights: torch.Tensor | None = None

    def weights(self, num_classes: int) -> torch.Tensor | None:
        """The class weights for ``num_classes`` logits (weighted loss only)."""
        if self.spec.kind != "weighted":
            return None
        if self._weights is None or len(self._weights) != num_classes:
            self._weights = class_weights(self.labels, num_classes, self.spec.param, self.spec.floor)
        return self._weights

    def __call__(self, logits: torch.Tensor, labels: torch.Tensor, after_clip: bool = False) -> torch.Tensor:
        """Mean loss; ``after_clip``: unweighted (the weights go to the DP optimizer: :meth:`clip_weights`)."""
        if after_clip and self.spec.kind == "weighted":
            return per_sample_loss(logits, labels, LossSpec("ce"), self.label_smoothing).mean()
        w = self.weights(logits.shape[-1])
        return per_sample_loss(logits, labels, self.spec, self.label_smoothing, w).mean()

    def clip_weights(self, labels: torch.Tensor, num_classes: int) -> torch.Tensor | None:
        """Under DP-SGD: each example's class weight divided by the largest, applied to its clipped
        gradient (``PrivateOptimizer.sample_weights``); None unless the loss is weighted."""
        w = self.weights(num_classes)
        if w is None:
            return None
        held = torch.as_tensor(sorted(set(int(y) for y in self.labels)) or [0], dtype=torch.long)
        return (w / w[held].max())[labels.cpu()]


def make_loss(loss: str, label_smoothing: float, labels: Sequence[int]) -> TrainLoss:
    """The loss ``--loss`` / ``--label-smoothing`` ask for, weighted by ``labels``' counts if asked."""
    return TrainLoss(parse_loss(loss), label_smoothing, labels)
