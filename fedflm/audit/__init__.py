"""Privacy audit for an auditor who was not part of training.

* :mod:`fedflm.audit.ledger` -- ``fedflm audit ledger``: verify ledgers and
  recompute epsilon independently. Imports no training code (enforced by
  ``tests/audit/test_audit_imports.py``).
* :mod:`fedflm.audit.bounds` -- epsilon lower bounds from membership guesses
  (pure statistics, no training code either).
* :mod:`fedflm.audit.mechanism` -- ``fedflm audit mechanism``: white-box
  gradient canaries through the node's own DP-SGD step (imports the code it
  tests, ``fedflm.privacy.dp``).
* :mod:`fedflm.audit.empirical` -- ``fedflm audit empirical``: black-box
  canaries in one client's training run (trains).
* :mod:`fedflm.audit.signoff` -- ``fedflm audit all``: all of the above for
  a run and its owners, one ``audit.html``.

See README.md beside this file.
"""
