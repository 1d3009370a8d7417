"""Adding one ``fedflm`` subcommand: its name, its handler (``args.handler``, which ``main`` calls),
the one-line help that ``fedflm --help`` lists and the description of ``fedflm NAME --help``."""

from __future__ import annotations

import argparse
from typing import Callable


def add_command(sub: argparse._SubParsersAction, name: str,  # type: ignore[type-arg]
                handler: Callable[[argparse.Namespace], int], summary: str,
                description: str) -> argparse.ArgumentParser:
    """The new subcommand's parser, its handler set; the caller adds its arguments."""
    parser = sub.add_parser(name, help=summary, description=description)
    parser.set_defaults(handler=handler)
    return parser
