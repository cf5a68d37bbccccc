"""Throw-away TLS material for one MPyC session: a session CA and one certificate per party.

MPyC's ``--ssl`` reads ``.config/party_<i>.crt``, ``.config/party_<i>.key`` and ``.config/mpyc_ca.crt`` from the
working directory of each party, requires client certificates (mutual TLS) and checks the peer's name
``MPyC party <i>``. :func:`write_session_certificates` writes those files (ECDSA P-256, valid one day) with the
``cryptography`` package; each session gets its own CA, so a party of one session cannot join another.
"""

from __future__ import annotations

import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def write_session_certificates(directory: Path, parties: int) -> Path:
    """Write a session CA and ``parties`` party certificates under ``directory/.config``; returns that path.

    Private keys are written with mode 0600 and never leave ``directory`` (a temporary directory of the
    session)."""
    config = directory / ".config"
    config.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("Datagora MPC session CA")
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    (config / "mpyc_ca.crt").write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    for pid in range(parties):
        key = ec.generate_private_key(ec.SECP256R1())
        common_name = f"MPyC party {pid}"
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(common_name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256())
        )
        (config / f"party_{pid}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path = config / f"party_{pid}.key"
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        key_path.chmod(0o600)
    return config
