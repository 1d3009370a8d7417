"""Privacy audit for an auditor who was not part of training.

* ``fedflm audit ledger`` -- :mod:`fedflm.audit.ledger_audit`: verify ledgers
  (:mod:`~fedflm.audit.ledger_read`) and recompute epsilon independently
  (:mod:`~fedflm.audit.recompute`); reports by :mod:`~fedflm.audit.ledger_report`.
* ``fedflm audit empirical`` -- :mod:`fedflm.audit.empirical`: canaries
  (:mod:`~fedflm.audit.canaries`), training (:mod:`~fedflm.audit.training`) and
  the one-run lower bound (:mod:`~fedflm.audit.one_run`).

Ledger verification and recomputation never import ``fedflm.privacy``,
``fedflm.train`` or ``fedflm.fl``. See README.md beside this file.
"""
