"""The data owner's protection pipeline: everything that touches an owner's raw text before training.

An owner's auditor reads this package and the four modules it imports of the rest of fedflm
(``fedflm.errors``, ``fedflm.io``, ``fedflm.jsonl`` and ``fedflm.data.builtin_files``, which
finds the shipped train splits the de-identification vocabulary is built from) -- nothing else;
``tests/test_architecture.py`` keeps it so.

* :mod:`~fedflm.protect.prepare` -- input file (CSV, TSV, JSONL, Parquet) -> de-identified, encrypted store;
* :mod:`~fedflm.protect.deid` -- de-identification: the recognizers (``deid_recognizers``,
  ``deid_numbers``, ``deid_address``, ``deid_lexicon``), case views (``deid_case``), the learned
  model (``deid_ner``, ``deid_model/``, pinned by hash) and the residual-risk view (``deid_risk``);
  ``deid_synth`` and ``deid_train_data`` generate synthetic PII for its benchmark and its model,
  ``deid_conll`` reads and scores token-labelled real text (WNUT-17) for its benchmark;
* :mod:`~fedflm.protect.keys` -- owner keys (0600 files or ``$FEDFLM_DATA_KEY``);
* :mod:`~fedflm.protect.store` / :mod:`~fedflm.protect.store_format` -- the AES-256-GCM store.

Data sets for simulation (loading, partitioning, built-ins) are :mod:`fedflm.data`.
"""
