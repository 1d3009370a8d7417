"""Where simulated clients run (Flower's Ray backend): one definition of the flags for every command that
runs a simulation (``fedflm simulate`` with each task, ``fedflm bench``, ``simulations/run.py``)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the flags are parsed before the heavy imports
    from fedflm.fl.resources import SimResources


def add_resource_flags(parser: argparse.ArgumentParser) -> None:
    """Add ``--ray-address``, ``--client-cpus`` and ``--client-gpus`` as one argument group."""
    g = parser.add_argument_group("where the simulated clients run (Flower's Ray backend)")
    g.add_argument("--ray-address", metavar="ADDRESS", default="",
                   help="join a running Ray cluster (auto, or HOST:PORT of `ray start --head`) instead of "
                        "starting a private one on this machine (default: Ray's RAY_ADDRESS variable if set)")
    g.add_argument("--client-cpus", metavar="N", type=float, default=None,
                   help="CPUs each simulated client reserves (default: the local cores split among the clients)")
    g.add_argument("--client-gpus", metavar="FRACTION", type=float, default=None,
                   help="GPU share each client reserves: 0.25 lets 4 clients share one GPU "
                        "(default: 1/min(clients, 4) when the model runs on a GPU, else 0)")


def resources_from(args: argparse.Namespace) -> SimResources:
    """The parsed flags as :class:`~fedflm.fl.resources.SimResources` (validated there: a bad value is a
    :class:`~fedflm.errors.ConfigError` naming it)."""
    from fedflm.fl.resources import SimResources

    return SimResources(args.ray_address, args.client_cpus, args.client_gpus)
