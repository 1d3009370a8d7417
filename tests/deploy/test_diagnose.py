"""The one-line diagnosis of a node that cannot join: connection refused,
TLS name mismatch, untrusted certificate, key not registered."""

from __future__ import annotations

import socket
import ssl
import threading
from pathlib import Path

import pytest

from fedflm.deploy.certs import make_certs
from fedflm.deploy.diagnose import diagnose
from fedflm.deploy.procs import free_port


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pki") / "pki"
    make_certs(out, "127.0.0.1", [])
    return out


@pytest.fixture(params=["127.0.0.1"])
def tls_server(pki: Path, request: pytest.FixtureRequest):
    """A TLS listener on loopback with the server certificate (SAN 127.0.0.1, localhost)."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(pki / "server.pem", pki / "server.key")
    sock = socket.create_server((request.param, 0))
    stop = threading.Event()

    def serve() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            try:
                with ctx.wrap_socket(conn, server_side=True):
                    pass
            except (ssl.SSLError, OSError):
                pass

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    yield sock.getsockname()[1]
    stop.set()
    t.join(5)
    sock.close()


def test_nothing_listening_is_connection_refused_at_host_port(pki):
    port = free_port()
    line = diagnose(f"127.0.0.1:{port}", pki / "ca.pem", insecure=False)
    assert line.startswith(f"connection refused at 127.0.0.1:{port}")


@pytest.mark.parametrize("tls_server", ["127.0.0.2"], indirect=True)
def test_a_name_the_certificate_does_not_carry_is_a_tls_name_mismatch(pki, tls_server):
    # 127.0.0.2 is loopback too, but the certificate names 127.0.0.1 and localhost only
    line = diagnose(f"127.0.0.2:{tls_server}", pki / "ca.pem", insecure=False)
    assert line.startswith("TLS name mismatch") and "127.0.0.2" in line


def test_another_ca_is_an_untrusted_certificate(pki, tls_server, tmp_path):
    other = make_certs(tmp_path / "other", "127.0.0.1", [])
    line = diagnose(f"127.0.0.1:{tls_server}", other.ca_cert, insecure=False)
    assert line.startswith("TLS: the server's certificate is not trusted by --ca-cert")


def test_a_good_handshake_and_an_activation_refusal_is_key_not_registered(pki, tls_server):
    log = "Failed to initialize the connection to the SuperLink.\n[code: 2004] Failed to activate SuperNode.\n"
    line = diagnose(f"127.0.0.1:{tls_server}", pki / "ca.pem", insecure=False, log_tail=log)
    assert line.startswith("key not registered")
