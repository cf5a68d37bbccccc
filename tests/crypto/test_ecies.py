"""ECIES to secp256k1 keys (datagora.crypto.ecies)."""

from __future__ import annotations

import coincurve
import ecies as eciespy
import pytest

from datagora.crypto.ecies import DECRYPT_FAILED, OVERHEAD, decrypt_with, encrypt_to
from datagora.crypto.keys import new_account, public_key_of
from datagora.domain.errors import CryptoError, TamperedError, ValidationError

MESSAGE = b"the data key: 32 bytes of secret"


@pytest.fixture
def key() -> bytes:
    return bytes(new_account().key)


@pytest.mark.parametrize("form", ["ethereum64", "uncompressed65", "compressed33"])
def test_round_trip_with_every_public_key_form(key: bytes, form: str) -> None:
    point = coincurve.PrivateKey(key).public_key
    public_key = {
        "ethereum64": public_key_of(key),
        "uncompressed65": point.format(compressed=False),
        "compressed33": point.format(compressed=True),
    }[form]
    ciphertext = encrypt_to(public_key, MESSAGE)
    assert len(ciphertext) == len(MESSAGE) + OVERHEAD
    assert decrypt_with(key, ciphertext) == MESSAGE


def test_empty_plaintext_round_trips(key: bytes) -> None:
    assert decrypt_with(key, encrypt_to(public_key_of(key), b"")) == b""


def test_encryption_is_randomised(key: bytes) -> None:
    public_key = public_key_of(key)
    assert encrypt_to(public_key, MESSAGE) != encrypt_to(public_key, MESSAGE)


def test_output_is_standard_eciespy(key: bytes) -> None:
    """Other eciespy / eciesjs implementations can read what we write, and we read theirs."""
    assert eciespy.decrypt(key, encrypt_to(public_key_of(key), MESSAGE)) == MESSAGE
    assert decrypt_with(key, eciespy.encrypt(public_key_of(key), MESSAGE)) == MESSAGE


def test_wrong_key_fails_with_clear_message(key: bytes) -> None:
    ciphertext = encrypt_to(public_key_of(key), MESSAGE)
    with pytest.raises(TamperedError) as caught:
        decrypt_with(bytes(new_account().key), ciphertext)
    assert str(caught.value) == "cannot decrypt: wrong key or tampered ciphertext" == DECRYPT_FAILED
    assert isinstance(caught.value, CryptoError)


@pytest.mark.parametrize(
    ("where", "offset"),
    [("ephemeral key", 1), ("ephemeral key", 64), ("nonce", 65), ("tag", 81), ("tag", 96), ("body", 97), ("last", -1)],
)
def test_any_flipped_byte_is_detected(key: bytes, where: str, offset: int) -> None:
    ciphertext = bytearray(encrypt_to(public_key_of(key), MESSAGE))
    ciphertext[offset] ^= 0x01
    with pytest.raises(TamperedError, match="wrong key or tampered"):
        decrypt_with(key, bytes(ciphertext))


@pytest.mark.parametrize("length", [0, 1, 65, OVERHEAD - 1])
def test_truncated_ciphertext_is_tampered(key: bytes, length: int) -> None:
    ciphertext = encrypt_to(public_key_of(key), MESSAGE)
    with pytest.raises(TamperedError, match="wrong key or tampered"):
        decrypt_with(key, ciphertext[:length])


def test_truncated_body_is_tampered(key: bytes) -> None:
    ciphertext = encrypt_to(public_key_of(key), MESSAGE)
    with pytest.raises(TamperedError):
        decrypt_with(key, ciphertext[:-1])


def test_extended_ciphertext_is_tampered(key: bytes) -> None:
    ciphertext = encrypt_to(public_key_of(key), MESSAGE)
    with pytest.raises(TamperedError):
        decrypt_with(key, ciphertext + b"\x00")


@pytest.mark.parametrize("bad", [b"", b"\x01" * 64, b"\x04" + b"\x01" * 64, b"\x02" * 20, b"\x00" * 33])
def test_malformed_public_key_is_validation_error(bad: bytes) -> None:
    with pytest.raises(ValidationError):
        encrypt_to(bad, MESSAGE)


@pytest.mark.parametrize("bad", [b"", b"\x00" * 32, b"\x01" * 31])
def test_malformed_private_key_is_validation_error(key: bytes, bad: bytes) -> None:
    ciphertext = encrypt_to(public_key_of(key), MESSAGE)
    with pytest.raises(ValidationError):
        decrypt_with(bad, ciphertext)


def test_non_bytes_data_is_validation_error(key: bytes) -> None:
    with pytest.raises(ValidationError):
        encrypt_to(public_key_of(key), "text")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        decrypt_with(key, "text")  # type: ignore[arg-type]
