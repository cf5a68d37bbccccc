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


def _config_dir(directory: Path) -> Path:
    config = directory / ".config"
    config.mkdir(parents=True, exist_ok=True)
    return config


def _new_ca(
    common_name: str, now: datetime.datetime, *, only_for: str | None = None
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A self-signed CA (ECDSA P-256, valid one day); ``only_for`` limits it by an X.509 name constraint to
    vouching for that one DNS name."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(common_name)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
    )
    if only_for is not None:
        builder = builder.add_extension(
            x509.NameConstraints(permitted_subtrees=[x509.DNSName(only_for)], excluded_subtrees=None),
            critical=True,
        )
    return key, builder.sign(key, hashes.SHA256())


def _write_party(
    config: Path, pid: int, ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate, now: datetime.datetime
) -> None:
    """Party ``pid``'s certificate (name ``MPyC party <pid>``, issued by ``ca_cert``) and key (mode 0600) as
    ``config/party_<pid>.crt`` / ``.key``."""
    common_name = f"MPyC party {pid}"
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca_cert.subject)
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
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_path.chmod(0o600)


def write_session_certificates(directory: Path, parties: int) -> Path:
    """Write a session CA and ``parties`` party certificates under ``directory/.config``; returns that path.

    Private keys are written with mode 0600 and never leave ``directory`` (a temporary directory of the
    session)."""
    config = _config_dir(directory)
    now = datetime.datetime.now(datetime.UTC)
    ca_key, ca_cert = _new_ca("Datagora MPC session CA", now)
    (config / "mpyc_ca.crt").write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    for pid in range(parties):
        _write_party(config, pid, ca_key, ca_cert, now)
    return config


def write_party_identity(directory: Path, pid: int) -> str:
    """One node's TLS identity for one session spread across nodes: a CA of its own, allowed by an X.509 name
    constraint to vouch only for ``MPyC party <pid>``, and that party's certificate and key, written under
    ``directory/.config`` (``party_<pid>.crt`` / ``.key``). Returns the CA certificate (PEM text), which the
    node hands to the other parties; its private keys never leave ``directory``.

    A peer that trusts the three parties' CAs (:func:`write_trusted_cas`) accepts a connection as party ``i``
    only with a certificate issued by party ``i``'s own CA, since the other CAs may not sign that name."""
    config = _config_dir(directory)
    now = datetime.datetime.now(datetime.UTC)
    ca_key, ca_cert = _new_ca(f"Datagora MPC party {pid} CA", now, only_for=f"MPyC party {pid}")
    _write_party(config, pid, ca_key, ca_cert, now)
    return ca_cert.public_bytes(serialization.Encoding.PEM).decode()


def check_ca_certificate(pem: str) -> str:
    """``pem`` if it is one PEM X.509 CA certificate (``ValueError`` otherwise: text that is not a certificate,
    or a certificate that is not a CA)."""
    try:
        cert = x509.load_pem_x509_certificate(pem.encode())
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except (ValueError, x509.ExtensionNotFound) as exc:
        raise ValueError(f"not a CA certificate in PEM: {exc}") from exc
    if not constraints.ca:
        raise ValueError("the certificate is not a CA certificate")
    return pem


def write_trusted_cas(directory: Path, ca_pems: list[str]) -> Path:
    """Write the CA certificates of every party of the session (PEM texts) as ``directory/.config/mpyc_ca.crt``,
    the trust store MPyC's ``--ssl`` reads. Returns that path."""
    path = _config_dir(directory) / "mpyc_ca.crt"
    path.write_text("".join(pem if pem.endswith("\n") else pem + "\n" for pem in ca_pems))
    return path
