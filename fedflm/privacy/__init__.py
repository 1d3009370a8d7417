"""Differential privacy for fedflm: correct per sample, cumulative per data owner.

* ``accounting`` -- epsilon of an owner's whole history through Opacus' RDP
  or PRV accountant (registry by name).
* ``calibration`` -- one noise multiplier for the whole run, so that epsilon
  after the last round is within 1 % below the target.
* ``dp`` -- Opacus DP-SGD on a peft LoRA model (per-sample clipping, Gaussian
  noise, Poisson sampling, empty batches, CSPRNG ``secure_mode``).
* ``ledger`` -- the append-only, hash-chained (optionally MAC'd) JSONL ledger.
* ``state`` -- an owner's budget rebuilt from its ledger, cap enforcement,
  an exclusive lock; survives restarts and spans runs on the same data.
* ``federation`` -- an owner's plan and one private round (check, train,
  record before anything is sent).
* ``client_level`` -- epsilon of Flower's client-level DP wrappers.

Nothing here imports Flower.
"""
