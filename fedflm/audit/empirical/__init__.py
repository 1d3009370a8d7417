"""``fedflm audit empirical``: black-box canaries in one client's training run.

* :mod:`~fedflm.audit.empirical.canaries` -- canary records and coin flips;
* :mod:`~fedflm.audit.empirical.training` -- the client's rounds, through the
  ClientApp's own DP path;
* :mod:`~fedflm.audit.empirical.audit` -- train, score, bound;
* :mod:`~fedflm.audit.empirical.report` -- empirical.json and empirical.md.
"""
