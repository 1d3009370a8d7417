"""Epsilon lower bounds from membership guesses on canaries (pure statistics).

* :mod:`~fedflm.audit.bounds.one_run` -- Steinke, Nasr & Jagielski (2023),
  one training run, no assumption on the canaries' independence;
* :mod:`~fedflm.audit.bounds.composed` -- white-box per-step observations
  composed over the steps (Nasr et al. 2023), for independent steps.
"""
