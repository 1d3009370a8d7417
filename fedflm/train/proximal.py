"""FedProx's proximal term (Li et al. 2020) for local training, compatible with DP-SGD.

The client minimises ``loss(w) + mu/2 * ||w - w_global||^2``. The proximal term's gradient,
``mu * (w - w_global)``, does not depend on any example: ``w_global`` is what the server sent and
``w`` is the result of earlier (already private) steps. So it is added to the gradient *after*
DP-SGD has clipped the per-sample gradients and added noise, as a hook that runs right before the
inner optimizer's step (Opacus' ``DPOptimizer.step`` calls the wrapped optimizer's ``step`` once
the gradient is private). That is post-processing of a DP output: the privacy guarantee and the
accountant are untouched. Putting it inside each per-sample loss instead would make every
per-sample gradient carry the same data-independent vector, which the clipping would then cut
(and the noise would be calibrated for) for no privacy reason, biasing the step. Without DP the
hook gives exactly the gradient of the proximal objective.
"""

from __future__ import annotations

import torch
from torch.utils.hooks import RemovableHandle


def attach_proximal(optimizer: torch.optim.Optimizer, mu: float) -> RemovableHandle:
    """Anchor the optimizer's parameters at their current value; each step adds ``mu * (w - anchor)``."""
    params = [p for group in optimizer.param_groups for p in group["params"]]
    anchors = [p.detach().clone() for p in params]

    def add_proximal_gradient(_opt: torch.optim.Optimizer, _args: tuple, _kwargs: dict) -> None:
        with torch.no_grad():
            for p, anchor in zip(params, anchors):
                prox = mu * (p - anchor)
                p.grad = prox if p.grad is None else p.grad + prox

    return optimizer.register_step_pre_hook(add_proximal_gradient)
