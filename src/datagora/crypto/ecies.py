"""ECIES public-key encryption to an Ethereum account's secp256k1 key (eciespy).

Scheme (eciespy defaults): an ephemeral secp256k1 key pair, ECDH with the recipient's key, HKDF-SHA256 over the
ephemeral public key and the shared point, then AES-256-GCM with a random 16-byte nonce. Wire format:
ephemeral public key (65 bytes, uncompressed) || nonce (16) || tag (16) || ciphertext (len(data)), i.e.
:data:`OVERHEAD` = 97 bytes more than the plaintext. See SEC 1 v2 section 5.1 and https://github.com/ecies/py.

Use it for small secrets such as data keys (:mod:`datagora.crypto.envelope` wraps each file's data key with it);
encrypt large data with :mod:`datagora.crypto.envelope`.
"""

from __future__ import annotations

import ecies as _eciespy

from datagora.crypto.keys import check_private_key, normalize_public_key
from datagora.domain.errors import TamperedError, ValidationError

__all__ = ["OVERHEAD", "decrypt_with", "encrypt_to"]

OVERHEAD = 65 + 16 + 16
"""Bytes an ECIES ciphertext adds to its plaintext: ephemeral public key, AES-GCM nonce and tag."""

DECRYPT_FAILED = "cannot decrypt: wrong key or tampered ciphertext"
"""Message of the error :func:`decrypt_with` raises when authentication fails."""


def encrypt_to(public_key: bytes, data: bytes) -> bytes:
    """Encrypt ``data`` so that only the holder of the private key of ``public_key`` can read it.

    Args:
        public_key: Recipient's secp256k1 public key: 64 bytes (X || Y, as the Registry stores it),
            65 bytes (0x04 || X || Y) or 33 bytes (compressed).
        data: Plaintext of any length (held in memory).

    Returns:
        ``len(data) + OVERHEAD`` bytes; a fresh ephemeral key makes every call's output different.

    Raises:
        ValidationError: the public key is malformed or not on the curve, or ``data`` is not bytes.
    """
    pk = normalize_public_key(public_key)
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ValidationError(f"data must be bytes, not {type(data).__name__}")
    return _eciespy.encrypt(b"\x04" + pk, bytes(data))


def decrypt_with(private_key: bytes, data: bytes) -> bytes:
    """Decrypt an :func:`encrypt_to` ciphertext.

    ECIES authenticates the ciphertext with a key derived from the recipient's key, so a wrong key and a modified
    ciphertext fail the same check and cannot be told apart; both raise :class:`TamperedError` with the message
    ``"cannot decrypt: wrong key or tampered ciphertext"``. Catch :class:`~datagora.domain.errors.CryptoError` to
    handle both.

    Args:
        private_key: Recipient's 32-byte secp256k1 private key.
        data: Ciphertext, at least :data:`OVERHEAD` bytes.

    Returns:
        The plaintext, ``len(data) - OVERHEAD`` bytes.

    Raises:
        ValidationError: the private key is malformed, or ``data`` is not bytes.
        TamperedError: authentication failed (wrong key, modified or truncated ciphertext).
    """
    sk = check_private_key(private_key)
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ValidationError(f"ciphertext must be bytes, not {type(data).__name__}")
    ciphertext = bytes(data)
    if len(ciphertext) < OVERHEAD:
        raise TamperedError(f"{DECRYPT_FAILED} (ciphertext is {len(ciphertext)} bytes, shorter than {OVERHEAD})")
    try:
        return _eciespy.decrypt(sk, ciphertext)
    except ValueError:
        # pycryptodome: "MAC check failed"; coincurve: invalid ephemeral public key.
        raise TamperedError(DECRYPT_FAILED) from None
