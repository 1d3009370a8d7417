"""``fedflm audit mechanism``: white-box gradient canaries through the node's own DP-SGD step.

* :mod:`~fedflm.audit.mechanism.canaries` -- Dirac gradient canaries and their coin flips;
* :mod:`~fedflm.audit.mechanism.steps` -- the owner's DP-SGD steps, through
  ``fedflm.privacy.dp.make_private`` (the code under test), on canary-only batches;
* :mod:`~fedflm.audit.mechanism.sampler` -- the batches drawn, against Poisson sampling;
* :mod:`~fedflm.audit.mechanism.audit` -- observations to epsilon lower bounds and a verdict;
* :mod:`~fedflm.audit.mechanism.owner` -- an owner's claim from its verified ledger and the run.
"""
