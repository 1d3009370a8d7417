"""``fedflm audit ledger``: verify privacy ledgers and recompute every owner's epsilon.

* :mod:`~fedflm.audit.ledger.read` -- parse and verify one ledger file;
* :mod:`~fedflm.audit.ledger.keyfile` -- owner keys and the MAC rule;
* :mod:`~fedflm.audit.ledger.recompute` -- epsilon by four accountants;
* :mod:`~fedflm.audit.ledger.audit` -- all ledgers of a run and its owners;
* :mod:`~fedflm.audit.ledger.report` -- report.md, report.json, the plot.

The auditor's independence: nothing here imports fedflm's training side
(``fedflm.privacy``, ``fedflm.train``, ``fedflm.fl``, ``fedflm.models``,
``fedflm.data``, ``fedflm.protect``) or the audits that train; ``tests/audit/test_audit_imports.py``
reads the imports and fails otherwise.
"""
