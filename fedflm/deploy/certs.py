"""Certificates and keys for a deployment, made with the ``cryptography`` package.

``make_certs(out, server_host, node_names)`` writes into ``out``::

    ca.pem            CA certificate: public, given to every data owner (--root-certificates)
    ca.key            CA private key (0600): the operator's secret; keep it offline
    server.pem        SuperLink TLS certificate, SAN = server host + 127.0.0.1 + localhost
    server.key        SuperLink TLS private key (0600): the operator's secret
    checkpoint.key    256-bit key that encrypts the server's checkpoints (0600): operator's secret
    nodes/NAME.key    a SuperNode's authentication key, OpenSSH EC P-384 (0600): that owner's secret
    nodes/NAME.pub    its public key (OpenSSH): registered on the SuperLink by the operator

The loopback names are in the server certificate because Flower's SuperExec
reaches the SuperLink's Runtime API on the same TLS port from the same host.
Nothing is overwritten: a directory that already holds a CA is refused.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from fedflm.errors import ConfigError, KeyFileError
from fedflm.io import create_private
from fedflm.protect.keys import write_key_file

__all__ = ["CertBundle", "make_certs", "make_node_key", "check_host", "NODE_NAME_RE"]

NODE_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_HOST_RE = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                      r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")


@dataclass(frozen=True)
class CertBundle:
    """Paths of what :func:`make_certs` wrote."""

    out: Path
    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path
    checkpoint_key: Path
    node_keys: dict[str, tuple[Path, Path]]  # name -> (private key, public key)


def check_host(host: str) -> x509.GeneralName:
    """The SAN entry for ``host`` (an IP address or a DNS name); refuses wildcards."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        if not _HOST_RE.match(host):
            raise ConfigError(f"server host must be an IP address or a DNS name, got {host!r}") from None
        return x509.DNSName(host)
    if ip.is_unspecified:
        raise ConfigError(f"server host must be the address clients dial, not a wildcard, got {host!r}")
    return x509.IPAddress(ip)


def _write_private(path: Path, data: bytes) -> None:
    """Create ``path`` with mode 0600 (refuses to overwrite)."""
    try:
        create_private(path, data)
    except FileExistsError:
        raise KeyFileError(f"{path}: already exists; refusing to overwrite a key") from None


def _write_public(path: Path, data: bytes) -> None:
    if path.exists():
        raise KeyFileError(f"{path}: already exists; refusing to overwrite it")
    path.write_bytes(data)
    os.chmod(path, 0o644)


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _builder(subject: str, issuer: x509.Name, public_key, days: int) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.timezone.utc)
    return (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(issuer).public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=days)))


def _ca(days: int) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP384R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fedflm deployment CA")])
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (_builder("fedflm deployment CA", name, key.public_key(), days)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(ski, critical=False)
            .sign(key, hashes.SHA384()))
    return key, cert


def _server(ca_key: ec.EllipticCurvePrivateKey, ca: x509.Certificate, host: str,
            days: int) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP384R1())
    names: list[x509.GeneralName] = [check_host(host)]
    for extra in (x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")):
        if extra not in names:
            names.append(extra)
    cert = (_builder(host, ca.subject, key.public_key(), days)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                           critical=False)
            .sign(ca_key, hashes.SHA384()))
    return key, cert


def make_node_key(folder: Path, name: str) -> tuple[Path, Path]:
    """A SuperNode authentication key pair (OpenSSH EC P-384): ``NAME.key`` (0600), ``NAME.pub``."""
    if not NODE_NAME_RE.match(name):
        raise ConfigError(f"node name must be 1-64 characters [A-Za-z0-9._-], got {name!r}")
    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP384R1())
    priv, pub = folder / f"{name}.key", folder / f"{name}.pub"
    _write_private(priv, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                           serialization.NoEncryption()))
    _write_public(pub, key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                                     serialization.PublicFormat.OpenSSH) + b"\n")
    return priv, pub


def make_certs(out: str | os.PathLike, server_host: str, node_names: list[str] | tuple[str, ...] = (),
               days: int = 365) -> CertBundle:
    """Write a CA, the server certificate, the checkpoint key and one key pair per node."""
    out = Path(out)
    if days < 1:
        raise ConfigError(f"days must be >= 1, got {days}")
    if len(set(node_names)) != len(node_names):
        raise ConfigError(f"node names must be unique, got {list(node_names)}")
    for name in node_names:
        if not NODE_NAME_RE.match(name):
            raise ConfigError(f"node name must be 1-64 characters [A-Za-z0-9._-], got {name!r}")
    check_host(server_host)
    if (out / "ca.pem").exists() or (out / "ca.key").exists():
        raise ConfigError(f"{out}: already holds a CA; refusing to overwrite it (choose another --out)")
    out.mkdir(parents=True, exist_ok=True)
    ca_key, ca = _ca(days)
    server_key, server = _server(ca_key, ca, server_host, days)
    _write_private(out / "ca.key", _pem_key(ca_key))
    _write_public(out / "ca.pem", ca.public_bytes(serialization.Encoding.PEM))
    _write_private(out / "server.key", _pem_key(server_key))
    _write_public(out / "server.pem", server.public_bytes(serialization.Encoding.PEM))
    write_key_file(out / "checkpoint.key")
    nodes = {name: make_node_key(out / "nodes", name) for name in node_names}
    return CertBundle(out, out / "ca.pem", out / "ca.key", out / "server.pem", out / "server.key",
                      out / "checkpoint.key", nodes)
