"""``fedflm`` command line: a thin layer over the Python API.

User errors (:class:`~fedflm.errors.FedflmError`) print one line on stderr
and exit non-zero; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from fedflm import __version__
from fedflm.errors import FedflmError

#: Sub-command modules; each exposes ``register(subparsers)``.
COMMANDS = ("fedflm.cli.simulate", "fedflm.cli.data", "fedflm.cli.audit", "fedflm.cli.report",
            "fedflm.cli.bench", "fedflm.cli.deploy", "fedflm.cli.sweep", "fedflm.cli.export",
            "fedflm.cli.predict")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fedflm", description="Privacy-preserving federated LoRA fine-tuning of language models.")
    parser.add_argument("--version", action="version", version=f"fedflm {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # that command is not part of this build
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except FedflmError as exc:
        print(f"fedflm: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("fedflm: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
