"""The TLS and node-authentication files of a federated run: the SuperLink's certificate verifies under the run's CA
for 127.0.0.1 and localhost only, the CA cannot vouch for another name, each run has its own CA, and node keys
are in the formats Flower reads (OpenSSH, NIST P-384), private files readable by their owner only."""

from __future__ import annotations

import datetime
import ipaddress
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from datagora.federated.credentials import RunTls, write_node_key, write_run_tls


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> RunTls:
    return write_run_tls(tmp_path_factory.mktemp("tls"))


def _verify(tls: RunTls, leaf: x509.Certificate, name: x509.DNSName | x509.IPAddress) -> None:
    store = Store([x509.load_pem_x509_certificate(tls.ca_certificate.read_bytes())])
    verifier = PolicyBuilder().store(store).build_server_verifier(name)
    verifier.verify(leaf, [])


def _server(tls: RunTls) -> x509.Certificate:
    return x509.load_pem_x509_certificate(tls.server_certificate.read_bytes())


@pytest.mark.parametrize(
    "name", [x509.DNSName("localhost"), x509.IPAddress(ipaddress.IPv4Address("127.0.0.1"))], ids=str
)
def test_the_superlink_certificate_verifies_for_the_loopback_names(tls: RunTls, name: x509.GeneralName) -> None:
    _verify(tls, _server(tls), name)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "name", [x509.DNSName("example.org"), x509.IPAddress(ipaddress.IPv4Address("10.0.0.7"))], ids=str
)
def test_the_superlink_certificate_does_not_verify_for_other_names(tls: RunTls, name: x509.GeneralName) -> None:
    with pytest.raises(VerificationError):
        _verify(tls, _server(tls), name)  # type: ignore[arg-type]


def test_a_certificate_from_another_run_is_not_trusted(tls: RunTls, tmp_path: Path) -> None:
    other = write_run_tls(tmp_path / "other")
    with pytest.raises(VerificationError):
        _verify(tls, _server(other), x509.DNSName("localhost"))
    assert other.ca_certificate.read_bytes() != tls.ca_certificate.read_bytes()


def test_the_ca_may_vouch_for_the_loopback_names_only(tls: RunTls) -> None:
    ca = x509.load_pem_x509_certificate(tls.ca_certificate.read_bytes())
    constraints = ca.extensions.get_extension_for_class(x509.NameConstraints).value
    assert ca.extensions.get_extension_for_class(x509.NameConstraints).critical
    assert set(constraints.permitted_subtrees or []) == {
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.IPv4Network("127.0.0.1/32")),
    }
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    lifetime = ca.not_valid_after_utc - ca.not_valid_before_utc
    assert lifetime <= datetime.timedelta(days=1, minutes=5)


def test_a_leaf_for_another_name_under_a_constrained_ca_is_refused(tmp_path: Path) -> None:
    """The name constraint is what stops the CA, had its key leaked, from vouching for a public name: a leaf
    for example.org signed by a CA with the same constraint does not verify."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(
            x509.NameConstraints(permitted_subtrees=[x509.DNSName("localhost")], excluded_subtrees=None), critical=True
        )
        .sign(key, hashes.SHA256())
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "example.org")]))
        .issuer_name(name)
        .public_key(ec.generate_private_key(ec.SECP256R1()).public_key())
        .serial_number(2)
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("example.org")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "ca.crt").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    fake = RunTls(tmp_path / "ca.crt", tmp_path / "x", tmp_path / "y")
    with pytest.raises(VerificationError):
        _verify(fake, leaf, x509.DNSName("example.org"))


def test_private_files_are_readable_by_their_owner_only(tls: RunTls, tmp_path: Path) -> None:
    pair = write_node_key(tmp_path, "node")
    for path in (tls.server_key, pair.private_key):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    server_key = serialization.load_pem_private_key(tls.server_key.read_bytes(), None)
    assert server_key.public_key() == _server(tls).public_key()


def test_node_keys_are_openssh_p384_pairs_unique_per_node(tmp_path: Path) -> None:
    one, two = write_node_key(tmp_path, "one"), write_node_key(tmp_path, "two")
    private = serialization.load_ssh_private_key(one.private_key.read_bytes(), None)
    public = serialization.load_ssh_public_key(one.public_key.read_bytes())
    assert isinstance(private, ec.EllipticCurvePrivateKey) and isinstance(public, ec.EllipticCurvePublicKey)
    assert private.curve.name == "secp384r1"
    assert private.public_key() == public
    assert one.public_line.startswith("ecdsa-sha2-nistp384 ")
    assert one.public_line != two.public_line
