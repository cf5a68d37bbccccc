"""Streaming hybrid encryption of large files to one or more Ethereum accounts ("DGE1" envelopes).

Each envelope has a fresh random 256-bit data key. The plaintext is cut into fixed-size chunks, each sealed with
AES-256-GCM (NIST SP 800-38D), so encryption and decryption hold at most two chunks in memory. The data key is wrapped
for every recipient with ECIES (:mod:`datagora.crypto.ecies`) under the recipient's secp256k1 public key. The chunk
construction follows the STREAM online authenticated encryption of Hoang, Reyhanitabar, Rogaway and Vizár, "Online
Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance" (CRYPTO 2015), section 7, as used by age and Tink.

Binary format, version 1 (all integers big-endian)::

    magic           4 bytes   b"DGE1"
    header_length   4 bytes   uint32, 1 .. MAX_HEADER_SIZE
    header          header_length bytes of canonical JSON (UTF-8, sorted keys, no spaces):
                      {"alg": "AES-256-GCM",
                       "chunk_size": <plaintext bytes per chunk, 1 .. MAX_CHUNK_SIZE>,
                       "nonce_prefix": <8 hex digits: 4 random bytes>,
                       "recipients": [{"address": <EIP-55 checksum address>,
                                       "wrapped_key": <hex of ECIES(public key, data key), 129 bytes>}, ...],
                       "v": 1}
                    recipients are sorted by lower-case address and unique.
    chunk 0 .. n-1  AES-256-GCM ciphertext || 16-byte tag of plaintext chunk i, where
                      nonce = nonce_prefix || uint64(i)                                   (12 bytes)
                      aad   = SHA-256(magic || header_length || header) || uint64(i) || final   (41 bytes)
                      final = 0x01 for the last chunk, else 0x00.

Every chunk but the last holds exactly ``chunk_size`` plaintext bytes; the last holds 1 .. ``chunk_size`` bytes, or 0
when the whole plaintext is empty (so there is always at least one chunk). The envelope runs to the end of the stream.

Binding the header hash into every chunk's AAD detects any change to the header (recipient list, wrapped keys, chunk
size); the chunk index in nonce and AAD detects reordering, dropping or duplicating chunks; the final flag detects
truncation at a chunk boundary and data appended after the last chunk.

What the format does not give: sender authentication. Anyone who can decrypt an envelope (any recipient) knows its
data key and could build a different envelope for the same recipients; the plaintext's provenance is established
elsewhere (the content hash and attestation recorded on chain). :func:`recipients_of` reads the header without any key
and so cannot authenticate it.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import struct
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eth_utils.address import is_checksum_address

from datagora.crypto.ecies import OVERHEAD as ECIES_OVERHEAD
from datagora.crypto.ecies import decrypt_with, encrypt_to
from datagora.crypto.keys import (
    address_of_private_key,
    address_of_public_key,
    check_private_key,
    checksum_address,
    normalize_public_key,
)
from datagora.domain.canonical import canonical_json
from datagora.domain.errors import NotFoundError, TamperedError, ValidationError, WrongKeyError
from datagora.fsutil import fsync_dir as _fsync_dir
from datagora.fsutil import write_all as _write_all

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "MAGIC",
    "MAX_CHUNK_SIZE",
    "MAX_HEADER_SIZE",
    "EnvelopeInfo",
    "decrypt_bytes",
    "decrypt_file",
    "decrypt_stream",
    "encrypt_bytes",
    "encrypt_file",
    "encrypt_stream",
    "recipients_of",
]

MAGIC = b"DGE1"
"""First four bytes of every version-1 envelope."""

FORMAT_VERSION = 1
DEFAULT_CHUNK_SIZE = 1 << 20
"""Plaintext bytes per chunk unless the caller chooses otherwise (1 MiB)."""

MAX_CHUNK_SIZE = 1 << 26
"""Largest chunk size an envelope may declare (64 MiB); bounds the memory a hostile header can make us allocate."""

MAX_HEADER_SIZE = 1 << 20
"""Largest header an envelope may declare (1 MiB, about 3,500 recipients)."""

ALGORITHM = "AES-256-GCM"
DATA_KEY_SIZE = 32
NONCE_PREFIX_SIZE = 4
TAG_SIZE = 16
WRAPPED_KEY_SIZE = DATA_KEY_SIZE + ECIES_OVERHEAD

_PREAMBLE = struct.Struct(">4sI")
_INDEX = struct.Struct(">Q")
_HEADER_KEYS = frozenset({"alg", "chunk_size", "nonce_prefix", "recipients", "v"})
_RECIPIENT_KEYS = frozenset({"address", "wrapped_key"})


@dataclass(frozen=True)
class EnvelopeInfo:
    """What :func:`encrypt_stream` wrote or :func:`decrypt_stream` read.

    Attributes:
        plaintext_size: Plaintext length (bytes).
        ciphertext_size: Envelope length including magic and header (bytes).
        plaintext_sha256: SHA-256 of the plaintext (32 bytes); the dataset's content hash.
        recipients: EIP-55 checksum addresses the data key is wrapped for, sorted by lower-case address.
    """

    plaintext_size: int
    ciphertext_size: int
    plaintext_sha256: bytes
    recipients: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Header:
    """A parsed, structurally valid header (not yet authenticated)."""

    chunk_size: int
    nonce_prefix: bytes
    wrapped_keys: dict[str, bytes]  # checksum address -> ECIES-wrapped data key
    digest: bytes  # SHA-256 of magic || header_length || header
    size: int  # bytes of magic, header_length and header


def encrypt_stream(
    src: BinaryIO, dst: BinaryIO, recipients: Mapping[str, bytes], chunk_size: int = DEFAULT_CHUNK_SIZE
) -> EnvelopeInfo:
    """Encrypt everything ``src`` yields into a DGE1 envelope written to ``dst``.

    Args:
        src: Plaintext, read to its end in ``chunk_size`` pieces.
        dst: Receives the envelope; written sequentially, never seeked.
        recipients: Account address (any case; checksummed in the header) -> its secp256k1 public key (64 bytes as
            the Registry stores it; 65 or 33 bytes also accepted). Each key must belong to its address.
        chunk_size: Plaintext bytes per chunk, 1 .. :data:`MAX_CHUNK_SIZE`. Memory use is about three chunks.

    Returns:
        Sizes, plaintext SHA-256 and recipients of the envelope written.

    Raises:
        ValidationError: no recipients, a malformed address or public key, a public key that does not belong to its
            address, the same address twice, too many recipients, or a bad ``chunk_size``.
    """
    chunk_size = _check_chunk_size(chunk_size)
    public_keys = _check_recipients(recipients)
    data_key = AESGCM.generate_key(bit_length=256)
    nonce_prefix = os.urandom(NONCE_PREFIX_SIZE)
    header_obj = {
        "alg": ALGORITHM,
        "chunk_size": chunk_size,
        "nonce_prefix": nonce_prefix.hex(),
        "recipients": [
            {"address": address, "wrapped_key": encrypt_to(public_key, data_key).hex()}
            for address, public_key in public_keys.items()
        ],
        "v": FORMAT_VERSION,
    }
    header = canonical_json(header_obj)
    if len(header) > MAX_HEADER_SIZE:
        raise ValidationError(f"too many recipients ({len(public_keys)}): header exceeds {MAX_HEADER_SIZE} bytes")
    preamble = _PREAMBLE.pack(MAGIC, len(header))
    header_digest = hashlib.sha256(preamble + header).digest()
    _write_all(dst, preamble + header)

    aead = AESGCM(data_key)
    plaintext_hash = hashlib.sha256()
    plaintext_size = 0
    ciphertext_size = len(preamble) + len(header)
    for index, chunk, final in _chunks(src, chunk_size, 0):
        plaintext_hash.update(chunk)
        plaintext_size += len(chunk)
        sealed = aead.encrypt(_nonce(nonce_prefix, index), chunk, _aad(header_digest, index, final))
        _write_all(dst, sealed)
        ciphertext_size += len(sealed)
    return EnvelopeInfo(
        plaintext_size=plaintext_size,
        ciphertext_size=ciphertext_size,
        plaintext_sha256=plaintext_hash.digest(),
        recipients=list(public_keys),
    )


def decrypt_stream(src: BinaryIO, dst: BinaryIO, private_key: bytes) -> EnvelopeInfo:
    """Decrypt a DGE1 envelope from ``src`` (read to its end) and write the plaintext to ``dst``.

    Plaintext is written chunk by chunk as each chunk authenticates, so when this raises, ``dst`` may already hold
    the authentic beginning of the plaintext but not the whole of it (a truncated or tampered envelope is only
    detected at the chunk where it happens). Never use ``dst``'s content after an exception: write to a temporary
    file and rename it only on success, as :func:`decrypt_file` does.

    Args:
        src: The envelope.
        dst: Receives the plaintext; written sequentially.
        private_key: The recipient's 32-byte secp256k1 private key; its address selects the header entry.

    Returns:
        Sizes, plaintext SHA-256 and recipients of the envelope.

    Raises:
        ValidationError: ``src`` is not a DGE1 envelope at all (wrong magic or shorter than it), or the private key is
            malformed.
        WrongKeyError: the key's address is not among the envelope's recipients ("not a recipient").
        TamperedError: the header is malformed or was changed, a chunk fails authentication, chunks were reordered,
            the envelope was truncated or extended.
    """
    private_key = check_private_key(private_key)
    header = _read_header(src)
    return _decrypt_chunks(src, dst, header, _unwrap(header, private_key))


def data_key_of(src: BinaryIO, private_key: bytes) -> bytes:
    """The 32-byte AES data key of the envelope in ``src``, unwrapped with a recipient's ``private_key`` (reads
    only the header). Disclosing it lets a third party (an arbiter) decrypt this one envelope and nothing else:
    each envelope has a fresh data key. Raises as :func:`decrypt_stream`."""
    return _unwrap(_read_header(src), check_private_key(private_key))


def decrypt_stream_with_data_key(src: BinaryIO, dst: BinaryIO, data_key: bytes) -> EnvelopeInfo:
    """Decrypt an envelope with a disclosed data key (:func:`data_key_of`) instead of a recipient's private key.
    AES-GCM authenticates every chunk under that key, so a wrong key or a changed envelope raises
    ``TamperedError`` ("fails authentication") and nothing false is ever accepted as plaintext."""
    if len(data_key) != DATA_KEY_SIZE:
        raise ValidationError(f"a data key is {DATA_KEY_SIZE} bytes, got {len(data_key)}")
    return _decrypt_chunks(src, dst, _read_header(src), data_key)


def _unwrap(header: _Header, private_key: bytes) -> bytes:
    address = address_of_private_key(private_key)
    wrapped_key = header.wrapped_keys.get(address)
    if wrapped_key is None:
        n = len(header.wrapped_keys)
        raise WrongKeyError(f"not a recipient: {address} is not among the envelope's {n} recipient(s)")
    try:
        data_key = decrypt_with(private_key, wrapped_key)
    except TamperedError:
        raise TamperedError(f"envelope tampered: the data key wrapped for {address} does not decrypt") from None
    if len(data_key) != DATA_KEY_SIZE:
        raise TamperedError(f"envelope tampered: the data key is {len(data_key)} bytes, not {DATA_KEY_SIZE}")
    return data_key


def _decrypt_chunks(src: BinaryIO, dst: BinaryIO, header: _Header, data_key: bytes) -> EnvelopeInfo:
    aead = AESGCM(data_key)
    plaintext_hash = hashlib.sha256()
    plaintext_size = 0
    ciphertext_size = header.size
    for index, sealed, final in _chunks(src, header.chunk_size + TAG_SIZE, TAG_SIZE):
        ciphertext_size += len(sealed)
        try:
            chunk = aead.decrypt(_nonce(header.nonce_prefix, index), sealed, _aad(header.digest, index, final))
        except InvalidTag:
            raise TamperedError(
                f"envelope tampered: chunk {index} fails authentication (modified, reordered, truncated or extended)"
            ) from None
        plaintext_hash.update(chunk)
        plaintext_size += len(chunk)
        _write_all(dst, chunk)
    return EnvelopeInfo(
        plaintext_size=plaintext_size,
        ciphertext_size=ciphertext_size,
        plaintext_sha256=plaintext_hash.digest(),
        recipients=list(header.wrapped_keys),
    )


def recipients_of(src: BinaryIO) -> list[str]:
    """List the recipients named in an envelope's header, reading only the header.

    The header is not authenticated here (that needs a recipient's key); use it to pick a key, not as proof.

    Args:
        src: The envelope, positioned at its start.

    Returns:
        EIP-55 checksum addresses, sorted by lower-case address.

    Raises:
        ValidationError: not a DGE1 envelope.
        TamperedError: the header is truncated or malformed.
    """
    return list(_read_header(src).wrapped_keys)


def encrypt_bytes(data: bytes, recipients: Mapping[str, bytes], chunk_size: int = DEFAULT_CHUNK_SIZE) -> bytes:
    """Encrypt ``data`` held in memory; see :func:`encrypt_stream` for arguments and errors.

    Returns:
        The envelope, ``len(data)`` plus header and 16 bytes per chunk.
    """
    out = io.BytesIO()
    encrypt_stream(io.BytesIO(data), out, recipients, chunk_size)
    return out.getvalue()


def decrypt_bytes(data: bytes, private_key: bytes) -> bytes:
    """Decrypt an envelope held in memory; see :func:`decrypt_stream` for errors.

    Returns:
        The plaintext; nothing is returned unless the whole envelope authenticates.
    """
    out = io.BytesIO()
    decrypt_stream(io.BytesIO(data), out, private_key)
    return out.getvalue()


def encrypt_file(
    src_path: Path, dst_path: Path, recipients: Mapping[str, bytes], chunk_size: int = DEFAULT_CHUNK_SIZE
) -> EnvelopeInfo:
    """Encrypt the file ``src_path`` into ``dst_path`` atomically.

    The envelope is written to a temporary file (mode 0600) in ``dst_path``'s directory, flushed to disk and renamed
    over ``dst_path`` (replacing an existing file) only on success; on any error the temporary file is removed and
    ``dst_path`` is untouched. Arguments and errors as in :func:`encrypt_stream`.

    Raises:
        NotFoundError: ``src_path`` or ``dst_path``'s directory does not exist.
    """
    with _open_source(Path(src_path)) as src, _atomic_output(Path(dst_path)) as dst:
        return encrypt_stream(src, dst, recipients, chunk_size)


def decrypt_file(src_path: Path, dst_path: Path, private_key: bytes) -> EnvelopeInfo:
    """Decrypt the envelope file ``src_path`` into ``dst_path`` atomically.

    The plaintext goes to a temporary file (mode 0600) in ``dst_path``'s directory, which is flushed to disk and
    renamed over ``dst_path`` only after the whole envelope has authenticated. On any error the temporary file is
    removed and ``dst_path`` is untouched, so no plaintext of a tampered or truncated envelope is left behind. Errors as
    in :func:`decrypt_stream`.

    Raises:
        NotFoundError: ``src_path`` or ``dst_path``'s directory does not exist.
    """
    with _open_source(Path(src_path)) as src, _atomic_output(Path(dst_path)) as dst:
        return decrypt_stream(src, dst, private_key)


# --- internals ---------------------------------------------------------------------------------------------------


def _check_chunk_size(chunk_size: int) -> int:
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int):
        raise ValidationError(f"chunk size must be an int, not {type(chunk_size).__name__}")
    if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        raise ValidationError(f"chunk size must be 1 .. {MAX_CHUNK_SIZE} bytes, got {chunk_size}")
    return chunk_size


def _check_recipients(recipients: Mapping[str, bytes]) -> dict[str, bytes]:
    """Return checksum address -> 64-byte public key, sorted by lower-case address."""
    if not recipients:
        raise ValidationError("an envelope needs at least one recipient")
    checked: dict[str, bytes] = {}
    for address, public_key in recipients.items():
        try:
            checked_address = checksum_address(address)
        except ValidationError as exc:
            raise ValidationError(f"recipient: {exc}") from None
        pk = normalize_public_key(public_key)
        owner = address_of_public_key(pk)
        if owner != checked_address:
            raise ValidationError(f"the public key given for {address} belongs to {owner}")
        if owner in checked:
            raise ValidationError(f"recipient {owner} is listed twice")
        checked[owner] = pk
    return dict(sorted(checked.items(), key=lambda item: item[0].lower()))


def _nonce(prefix: bytes, index: int) -> bytes:
    return prefix + _INDEX.pack(index)


def _aad(header_digest: bytes, index: int, final: bool) -> bytes:
    return header_digest + _INDEX.pack(index) + (b"\x01" if final else b"\x00")


def _chunks(src: BinaryIO, size: int, min_final: int) -> Iterator[tuple[int, bytes, bool]]:
    """Yield (index, piece, final) for consecutive ``size``-byte pieces of ``src``, looking one piece ahead.

    The last piece may be shorter; it is the only one marked final, and there is always at least one. On the
    decryption side (``min_final`` = the tag size) a stream that ends early or with too short a last piece raises
    TamperedError.
    """
    index = 0
    current = _read_exact(src, size)
    while True:
        following = b"" if len(current) < size else _read_exact(src, size)
        final = not following
        if final and len(current) < min_final:
            raise TamperedError(
                f"envelope truncated: chunk {index} is {len(current)} bytes, shorter than its {TAG_SIZE}-byte tag"
            )
        yield index, current, final
        if final:
            return
        current = following
        index += 1


def _read_exact(src: BinaryIO, size: int) -> bytes:
    """Read ``size`` bytes, fewer only at the end of the stream (short reads of pipes and sockets are retried)."""
    first = src.read(size)
    if first is None:
        raise ValidationError("non-blocking streams are not supported")
    if len(first) == size or not first:
        return bytes(first)
    parts = [first]
    missing = size - len(first)
    while missing:
        more = src.read(missing)
        if not more:
            break
        parts.append(more)
        missing -= len(more)
    return b"".join(parts)


def _read_header(src: BinaryIO) -> _Header:
    """Read and structurally check magic, header length and header; leave ``src`` at chunk 0."""
    magic = _read_exact(src, len(MAGIC))
    if magic != MAGIC:
        if len(magic) == len(MAGIC) and magic[:3] == MAGIC[:3]:
            raise ValidationError(f"unsupported envelope version {magic!r} (this software reads {MAGIC!r})")
        raise ValidationError(f"not a Datagora envelope (expected magic {MAGIC!r}, got {magic!r})")
    length_bytes = _read_exact(src, _PREAMBLE.size - len(MAGIC))
    if len(length_bytes) != _PREAMBLE.size - len(MAGIC):
        raise TamperedError("envelope truncated inside its header length")
    (length,) = struct.unpack(">I", length_bytes)
    if not 1 <= length <= MAX_HEADER_SIZE:
        raise TamperedError(f"envelope header length {length} is outside 1 .. {MAX_HEADER_SIZE}")
    raw = _read_exact(src, length)
    if len(raw) != length:
        raise TamperedError(f"envelope truncated inside its header ({len(raw)} of {length} bytes)")
    chunk_size, nonce_prefix, wrapped_keys = _parse_header(raw)
    preamble = magic + length_bytes
    return _Header(
        chunk_size=chunk_size,
        nonce_prefix=nonce_prefix,
        wrapped_keys=wrapped_keys,
        digest=hashlib.sha256(preamble + raw).digest(),
        size=len(preamble) + length,
    )


def _parse_header(raw: bytes) -> tuple[int, bytes, dict[str, bytes]]:
    """Parse the canonical JSON header; any deviation from what :func:`encrypt_stream` writes is TamperedError."""
    malformed = "envelope header malformed"
    try:
        obj = json.loads(raw.decode("ascii"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise TamperedError(f"{malformed}: not ASCII JSON") from None
    if not isinstance(obj, dict) or set(obj) != _HEADER_KEYS:
        raise TamperedError(f"{malformed}: wrong fields")
    if obj["v"] != FORMAT_VERSION or obj["alg"] != ALGORITHM:
        raise TamperedError(f"{malformed}: unknown version or algorithm")
    chunk_size = obj["chunk_size"]
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        raise TamperedError(f"{malformed}: chunk size")
    nonce_prefix = _hex_field(obj["nonce_prefix"], NONCE_PREFIX_SIZE, f"{malformed}: nonce prefix")
    entries = obj["recipients"]
    if not isinstance(entries, list) or not entries:
        raise TamperedError(f"{malformed}: no recipients")
    wrapped_keys: dict[str, bytes] = {}
    for entry in entries:
        if not isinstance(entry, dict) or set(entry) != _RECIPIENT_KEYS:
            raise TamperedError(f"{malformed}: recipient entry")
        address = entry["address"]
        if not isinstance(address, str) or not is_checksum_address(address) or address in wrapped_keys:
            raise TamperedError(f"{malformed}: recipient address {address!r}")
        wrapped_keys[address] = _hex_field(entry["wrapped_key"], WRAPPED_KEY_SIZE, f"{malformed}: wrapped key")
    if list(wrapped_keys) != sorted(wrapped_keys, key=str.lower):
        raise TamperedError(f"{malformed}: recipients not sorted")
    if canonical_json(obj) != raw:
        raise TamperedError(f"{malformed}: not in canonical form")
    return chunk_size, nonce_prefix, wrapped_keys


def _hex_field(value: Any, size: int, message: str) -> bytes:
    if not isinstance(value, str) or len(value) != 2 * size or value != value.lower():
        raise TamperedError(message)
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise TamperedError(message) from None


@contextlib.contextmanager
def _open_source(path: Path) -> Iterator[BinaryIO]:
    try:
        src = path.open("rb")
    except FileNotFoundError:
        raise NotFoundError(f"{path} does not exist") from None
    except IsADirectoryError:
        raise ValidationError(f"{path} is a directory") from None
    with src:
        yield src


@contextlib.contextmanager
def _atomic_output(path: Path) -> Iterator[BinaryIO]:
    """Yield a temporary file next to ``path``; on normal exit fsync it and rename it to ``path``, else delete it."""
    try:
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    except FileNotFoundError:
        raise NotFoundError(f"directory {path.parent} does not exist") from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)
