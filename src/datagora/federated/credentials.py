"""TLS and SuperNode-authentication material for one federated run, made with the ``cryptography`` package.

Flower's deployment engine reads them as files:

- the **run's certificate authority** (:func:`write_run_tls`): a self-signed CA (ECDSA P-256, valid one day, an
  X.509 name constraint limiting it to ``localhost`` and ``127.0.0.1``) made for this run only and thrown away
  with it. It signs the SuperLink's server certificate (SANs ``localhost`` and ``127.0.0.1``). The SuperLink
  serves its Fleet, Control and Runtime APIs over TLS with it (``--ssl-certfile``, ``--ssl-keyfile``,
  ``--ssl-ca-certfile``); SuperNodes and ``flwr`` trust only this CA (``--root-certificates``), so a SuperNode
  talks to this run's SuperLink and to no other server.
- a **SuperNode key pair per owner** (:func:`write_node_key`): ECDSA on NIST P-384, the private key in OpenSSH
  format (``flower-supernode --auth-supernode-private-key``), the public key as an OpenSSH line
  (``flwr supernode register``). With ``--enable-supernode-auth`` the SuperLink accepts a SuperNode only when its
  public key was registered, and every Fleet request is signed with the private key (Flower's "Authenticate
  SuperNodes" guide).

Private keys are written with mode 0600 and never leave the directory they were written to.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

LOOPBACK: Final = "127.0.0.1"
LOCALHOST: Final = "localhost"
VALIDITY: Final = datetime.timedelta(days=1)
"""How long the run's certificates are valid (a run takes minutes; the CA is never reused)."""


@dataclass(frozen=True)
class RunTls:
    """The files of a run's TLS: the CA certificate (what clients trust), the SuperLink's certificate and key."""

    ca_certificate: Path
    server_certificate: Path
    server_key: Path


@dataclass(frozen=True)
class NodeKey:
    """A SuperNode's authentication key pair: the private key file (OpenSSH format, mode 0600) and the public key
    file (one OpenSSH line, ``ecdsa-sha2-nistp384 ...``)."""

    private_key: Path
    public_key: Path

    @property
    def public_line(self) -> str:
        """The public key as its OpenSSH line (no comment)."""
        return self.public_key.read_text().strip()


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_private(path: Path, data: bytes) -> None:
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_bytes(data)


def write_run_tls(directory: Path, run_name: str = "federated run") -> RunTls:
    """Write a fresh CA and the SuperLink's server certificate for ``127.0.0.1`` / ``localhost`` under
    ``directory`` (created if needed): ``ca.crt``, ``superlink.crt`` and ``superlink.key`` (mode 0600). The CA's
    key is not written anywhere: once this returns, no further certificate can be issued under it."""
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    start, end = now - datetime.timedelta(minutes=5), now + VALIDITY
    loopback = ipaddress.IPv4Network(f"{LOOPBACK}/32")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name(f"Datagora {run_name} CA")
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.NameConstraints(
                permitted_subtrees=[x509.DNSName(LOCALHOST), x509.IPAddress(loopback)], excluded_subtrees=None
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(_name(LOCALHOST))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(LOCALHOST), x509.IPAddress(ipaddress.IPv4Address(LOOPBACK))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    tls = RunTls(directory / "ca.crt", directory / "superlink.crt", directory / "superlink.key")
    tls.ca_certificate.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    tls.server_certificate.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    _write_private(
        tls.server_key,
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    )
    return tls


def write_node_key(directory: Path, name: str) -> NodeKey:
    """Write a new SuperNode key pair (ECDSA P-384) as ``directory/<name>.key`` (OpenSSH private key, mode 0600)
    and ``directory/<name>.pub`` (OpenSSH public key line)."""
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP384R1())
    pair = NodeKey(directory / f"{name}.key", directory / f"{name}.pub")
    _write_private(
        pair.private_key,
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
        ),
    )
    pair.public_key.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH) + b"\n"
    )
    return pair
