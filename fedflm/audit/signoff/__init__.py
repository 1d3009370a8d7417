"""``fedflm audit all``: an auditor's sign-off of a run and its owners.

* :mod:`~fedflm.audit.signoff.inputs` -- what was read, hashed, so that a
  second auditor can check that they audit the same thing;
* :mod:`~fedflm.audit.signoff.run` -- ledger, mechanism (and empirical) audits per owner;
* :mod:`~fedflm.audit.signoff.html` -- one audit.html (and audit.json).
"""
