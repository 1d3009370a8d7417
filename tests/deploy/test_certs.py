"""fedflm certs: CA, server certificate with SAN, node key pairs, 0600 private keys."""

from __future__ import annotations

import ipaddress
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from fedflm.cli.main import main
from fedflm.deploy.certs import make_certs
from fedflm.errors import ConfigError
from fedflm.protect.keys import read_key_file


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_private_keys_are_0600_and_public_files_readable(tmp_path):
    # Prepare / Execute
    b = make_certs(tmp_path / "pki", "10.1.2.3", ["alice", "bob"])

    # Assert
    secrets = [b.ca_key, b.server_key, b.checkpoint_key] + [k for k, _ in b.node_keys.values()]
    assert all(_mode(p) == 0o600 for p in secrets)
    assert all(_mode(p) == 0o644 for p in [b.ca_cert, b.server_cert] + [p for _, p in b.node_keys.values()])
    assert len(read_key_file(b.checkpoint_key).secret) == 32


def test_server_certificate_is_signed_by_the_ca_with_host_in_san(tmp_path):
    # Prepare
    b = make_certs(tmp_path / "pki", "fl.example.org")
    ca = x509.load_pem_x509_certificate(b.ca_cert.read_bytes())
    server = x509.load_pem_x509_certificate(b.server_cert.read_bytes())

    # Execute
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    server.verify_directly_issued_by(ca)  # raises if the signature or issuer is wrong

    # Assert
    assert san.get_values_for_type(x509.DNSName) == ["fl.example.org", "localhost"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert server.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False


def test_ip_host_goes_into_san_as_an_ip(tmp_path):
    # Prepare / Execute
    b = make_certs(tmp_path / "pki", "192.168.7.9")
    san = x509.load_pem_x509_certificate(b.server_cert.read_bytes()).extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value

    # Assert
    assert ipaddress.ip_address("192.168.7.9") in san.get_values_for_type(x509.IPAddress)


def test_node_keys_are_openssh_p384_pairs_flower_accepts(tmp_path):
    # Prepare
    b = make_certs(tmp_path / "pki", "127.0.0.1", ["n1"])
    priv_path, pub_path = b.node_keys["n1"]

    # Execute: the same loaders flower-supernode and `flwr supernode register` use
    priv = serialization.load_ssh_private_key(priv_path.read_bytes(), None)
    pub = serialization.load_ssh_public_key(pub_path.read_bytes())

    # Assert
    assert isinstance(priv, ec.EllipticCurvePrivateKey) and priv.curve.name == "secp384r1"
    assert priv.public_key().public_numbers() == pub.public_numbers()


def test_refuses_to_overwrite_an_existing_ca(tmp_path):
    # Prepare
    make_certs(tmp_path / "pki", "127.0.0.1")
    before = (tmp_path / "pki" / "ca.key").read_bytes()

    # Execute / Assert
    with pytest.raises(ConfigError, match="already holds a CA"):
        make_certs(tmp_path / "pki", "127.0.0.1")
    assert (tmp_path / "pki" / "ca.key").read_bytes() == before


@pytest.mark.parametrize("host", ["0.0.0.0", "*.example.org", "bad host", ""])
def test_rejects_hosts_clients_cannot_verify(tmp_path, host):
    with pytest.raises(ConfigError, match="server host"):
        make_certs(tmp_path / "pki", host)
    assert not (tmp_path / "pki").exists()


def test_cli_writes_named_and_numbered_nodes_and_reports_errors_in_one_line(tmp_path, capsys):
    # Execute
    code = main(["certs", "--out", str(tmp_path / "pki"), "--server-host", "127.0.0.1",
                 "--nodes", "2", "--node", "hospital-a"])
    again = main(["certs", "--out", str(tmp_path / "pki"), "--server-host", "127.0.0.1"])

    # Assert
    assert code == 0 and again == 2
    names = sorted(p.name for p in (tmp_path / "pki" / "nodes").iterdir())
    assert names == ["hospital-a.key", "hospital-a.pub", "node-0.key", "node-0.pub", "node-1.key", "node-1.pub"]
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"fedflm: error: {tmp_path / 'pki'}: already holds a CA; refusing to overwrite it "
                   "(choose another --out)"]
