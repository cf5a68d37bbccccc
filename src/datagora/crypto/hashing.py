"""Hash functions used across Datagora: SHA-256 for content and ciphertext (what DCAT/SPDX checksums use),
Keccak-256 for on-chain commitments (the EVM's hash)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import BinaryIO

from eth_hash.auto import keccak as _keccak

CHUNK = 1 << 20


def keccak256(data: bytes) -> bytes:
    """Keccak-256 (32 bytes), as the EVM's ``keccak256``."""
    return bytes(_keccak(data))


def sha256_stream(src: BinaryIO) -> bytes:
    """SHA-256 (32 bytes) of everything left in ``src``, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    while chunk := src.read(CHUNK):
        digest.update(chunk)
    return digest.digest()


def sha256_file(path: Path) -> bytes:
    """SHA-256 (32 bytes) of a file, streamed."""
    with path.open("rb") as fh:
        return sha256_stream(fh)
