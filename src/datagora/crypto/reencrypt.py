"""Re-encrypting a DGE1 envelope to other recipients without the plaintext ever touching the disk.

A seller delivers by re-encrypting its own copy to the buyer's Registry key (Wu et al. section III.A step 13);
in a dispute it re-encrypts it to the platform's key (section IV.A.3). :func:`reencrypt_stream` decrypts on a
worker thread into an OS pipe and encrypts from the other end, so memory stays bounded (about three chunks on
each side) and no plaintext file exists at any moment.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import BinaryIO

from datagora.crypto.envelope import DEFAULT_CHUNK_SIZE, EnvelopeInfo, decrypt_stream, encrypt_stream


def reencrypt_stream(
    src: BinaryIO,
    dst: BinaryIO,
    private_key: bytes,
    recipients: Mapping[str, bytes],
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> EnvelopeInfo:
    """Decrypt the envelope ``src`` with ``private_key`` and write a new envelope of the same plaintext, under a
    fresh data key wrapped for ``recipients`` (address → secp256k1 public key, as :func:`encrypt_stream`), to
    ``dst``. Returns the new envelope's info.

    Raises what :func:`~datagora.crypto.envelope.decrypt_stream` raises for ``src`` (``WrongKeyError``,
    ``TamperedError``, ``CryptoError``), and then ``dst`` holds an incomplete envelope the caller must discard;
    ``ValidationError`` for bad recipients."""
    plain_r, plain_w = os.pipe()
    errors: list[BaseException] = []

    def produce() -> None:
        try:
            with os.fdopen(plain_w, "wb") as sink:
                decrypt_stream(src, sink, private_key)
        except BaseException as exc:  # handed to the caller's thread below
            errors.append(exc)

    worker = threading.Thread(target=produce, name="reencrypt-decrypt", daemon=True)
    worker.start()
    try:
        with os.fdopen(plain_r, "rb") as plain:
            info = encrypt_stream(plain, dst, recipients, chunk_size)
    finally:
        worker.join()
    if errors:
        raise errors[0]
    return info
