"""Register SuperNode keys with a SuperLink: Flower's ``flwr supernode register``, for many keys in one process.

``python -m fedflm.deploy.register CONNECTION KEY.pub [KEY.pub ...]`` (with ``FLWR_HOME`` naming the
connection file that :func:`fedflm.deploy.control.write_flower_home` wrote) prints one JSON object:
``{"KEY.pub": {"node-id": N} | {"error": "Flower's message"}, ...}``.

It calls the same Flower functions as the ``flwr`` CLI command (the connection from ``$FLWR_HOME``, the
Control API client with its TLS and authentication, Flower's key checks and error messages), once per key
over one connection. One process for all keys instead of one ``flwr`` CLI process per key: each of those
spent about a CPU second starting up, and `fedflm server start` registered every owner's key so (issue 19).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def register_keys(connection: str, keys: list[str]) -> dict[str, dict[str, int | str]]:
    """Register each public key (OpenSSH, NIST EC curve); a key's answer is its node id or Flower's error."""
    import click
    from flwr.cli.flower_config import read_superlink_connection
    from flwr.cli.supernode.register import try_load_public_key
    from flwr.cli.utils import flwr_cli_exc_handler, init_http_client_from_connection
    from flwr.proto.control_pb2 import RegisterNodeRequest  # pylint: disable=no-name-in-module

    client = init_http_client_from_connection(read_superlink_connection(connection))
    answers: dict[str, dict[str, int | str]] = {}
    try:
        for key in keys:
            try:
                request = RegisterNodeRequest(public_key=try_load_public_key(Path(key)))
                with flwr_cli_exc_handler():
                    response = client.RegisterNode(request=request)
                answers[key] = ({"node-id": int(response.node_id)} if response.node_id
                                else {"error": "SuperNode couldn't be registered."})
            except click.ClickException as exc:
                answers[key] = {"error": exc.format_message()}
    finally:
        client.close()
    return answers


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) < 2:
        print("usage: python -m fedflm.deploy.register CONNECTION KEY.pub [KEY.pub ...]", file=sys.stderr)
        return 2
    import click

    try:
        print(json.dumps(register_keys(args[0], args[1:])))
    except click.ClickException as exc:  # the connection itself (its file, certificate, authentication)
        print(f"registering node keys: {exc.format_message()}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
