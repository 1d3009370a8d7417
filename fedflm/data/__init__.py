"""Data sets for simulation: loading (:mod:`~fedflm.data.load`), partitioning among simulated clients
(:mod:`~fedflm.data.partition`) and the built-in data sets (:mod:`~fedflm.data.builtin_files`).

A data owner's protection pipeline (de-identification, keys, the encrypted store) is :mod:`fedflm.protect`.
"""
