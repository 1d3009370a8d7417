"""Simulation resources for federation tests that do not test clients running in parallel.

Flower's Ray backend starts one ClientApp actor per ``client_cpus`` share of the cores, and each actor
re-imports torch, transformers, peft and opacus (about 10 CPU-s per actor, measured in issue 19;
simulations/bench_sim_startup.py). With every core reserved for one client, one actor runs all of a
simulation's clients in turn. Tests that check parallel clients (tests/conftest.py's ``sim_run_dp`` and
``sim_run_nodp``) keep Flower's default split.
"""

from __future__ import annotations

import os

from fedflm.fl.resources import SimResources

ONE_ACTOR = SimResources(client_cpus=float(os.cpu_count() or 1))
