"""The data owner's side, trusted only by the owner: its policy and settings.

* ``settings`` -- :class:`OwnerPolicy` (what the owner accepts) and
  :class:`OwnerSettings` (policy + store, key, state, secure mode), the one
  typed boundary between ``fedflm client start`` and the node's ClientApp.
* ``refusal`` -- typed refusal codes the node sends instead of training.
* ``policy`` -- pure checks of a server's request against the owner's policy.
* ``console`` -- the owner's console: what the node decided, and why.
* ``reply`` -- exactly what leaves the node after a round.
* ``task_store`` -- the causal-lm / recommend records in the owner's encrypted store (issue 25).

Nothing here imports Flower.
"""
