"""Ethereum accounts, encrypted keystores and secp256k1 public keys.

An account is a secp256k1 key pair; its address is the last 20 bytes of keccak256 of the 64-byte uncompressed public
key (Ethereum Yellow Paper, appendix F; checksum spelling per EIP-55). Keystores are the Web3 Secret Storage
Definition (version 3) files written by ``eth_account.Account.encrypt`` with the scrypt KDF.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import coincurve
from eth_utils.address import is_checksum_address, is_hex_address, to_checksum_address
from eth_utils.crypto import keccak

from datagora.domain.errors import NotFoundError, ValidationError, WrongKeyError
from datagora.fsutil import fsync_dir as _fsync_dir

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

# eth_account is imported where it is used: decrypt_keystore runs without it (see its docstring).

__all__ = [
    "account_of",
    "address_of_private_key",
    "address_of_public_key",
    "check_keystore",
    "check_private_key",
    "checksum_address",
    "decrypt_keystore",
    "load_keystore",
    "new_account",
    "normalize_public_key",
    "public_key_of",
    "save_keystore",
]

PRIVATE_KEY_SIZE = 32
"""Size of a secp256k1 private key (bytes)."""

PUBLIC_KEY_SIZE = 64
"""Size of an uncompressed secp256k1 public key without the 0x04 prefix (bytes), as the Registry stores it."""

_KEYSTORE_MODE = 0o600


def new_account() -> LocalAccount:
    """Create a fresh account from the operating system's randomness.

    Returns:
        An ``eth_account`` ``LocalAccount``; ``account.key`` is the 32-byte private key.
    """
    from eth_account import Account

    account: LocalAccount = Account.create()
    return account


def check_private_key(private_key: bytes) -> bytes:
    """Check that ``private_key`` is a valid secp256k1 private key.

    Args:
        private_key: 32 bytes, big-endian scalar in [1, n-1] (n = the secp256k1 group order).

    Returns:
        The key as ``bytes`` (a ``bytearray`` or ``HexBytes`` is copied into plain bytes).

    Raises:
        ValidationError: not bytes, not 32 bytes long, or out of range.
    """
    if not isinstance(private_key, bytes | bytearray):
        raise ValidationError(f"private key must be bytes, not {type(private_key).__name__}")
    key = bytes(private_key)
    if len(key) != PRIVATE_KEY_SIZE:
        raise ValidationError(f"private key must be {PRIVATE_KEY_SIZE} bytes, got {len(key)}")
    try:
        coincurve.PrivateKey(key)
    except ValueError:
        raise ValidationError("private key is out of the secp256k1 range") from None
    return key


def public_key_of(private_key: bytes) -> bytes:
    """Return the public key of ``private_key`` in the form the Registry contract stores.

    Args:
        private_key: 32-byte secp256k1 private key.

    Returns:
        64 bytes: the uncompressed point X || Y (32 bytes each, big-endian) without the 0x04 prefix, so that
        ``keccak256(public_key)[12:]`` is the account's address.

    Raises:
        ValidationError: the private key is malformed (see :func:`check_private_key`).
    """
    key = check_private_key(private_key)
    return coincurve.PrivateKey(key).public_key.format(compressed=False)[1:]


def normalize_public_key(public_key: bytes) -> bytes:
    """Bring a secp256k1 public key into the 64-byte Ethereum form, checking that it is a point on the curve.

    Args:
        public_key: 64 bytes (X || Y), 65 bytes (0x04 || X || Y, SEC 1 uncompressed) or
            33 bytes (0x02/0x03 || X, SEC 1 compressed).

    Returns:
        64 bytes X || Y.

    Raises:
        ValidationError: not bytes, another length, a wrong prefix, or not a point on secp256k1.
    """
    if not isinstance(public_key, bytes | bytearray):
        raise ValidationError(f"public key must be bytes, not {type(public_key).__name__}")
    key = bytes(public_key)
    uncompressed = len(key) == PUBLIC_KEY_SIZE + 1 and key[0] == 0x04
    compressed = len(key) == 33 and key[0] in (0x02, 0x03)
    if len(key) == PUBLIC_KEY_SIZE:
        sec1 = b"\x04" + key
    elif uncompressed or compressed:
        sec1 = key
    else:
        raise ValidationError(f"public key must be 64, 65 (0x04...) or 33 (0x02/0x03...) bytes, got {len(key)} bytes")
    try:
        point = coincurve.PublicKey(sec1)
    except ValueError:
        raise ValidationError("public key is not a point on secp256k1") from None
    return point.format(compressed=False)[1:]


def address_of_public_key(public_key: bytes) -> str:
    """Return the EIP-55 checksum address of a public key.

    Args:
        public_key: secp256k1 public key, 64, 65 or 33 bytes (see :func:`normalize_public_key`).

    Returns:
        ``"0x"`` + 40 hex digits in EIP-55 mixed case: ``keccak256(X || Y)[12:]``.

    Raises:
        ValidationError: the public key is malformed.
    """
    return to_checksum_address(keccak(normalize_public_key(public_key))[12:])


def checksum_address(address: str) -> str:
    """Check an account address and return it in EIP-55 checksum form.

    Args:
        address: ``"0x"`` + 40 hex digits, all lower case, all upper case, or mixed case with a correct EIP-55
            checksum.

    Returns:
        The EIP-55 checksum spelling.

    Raises:
        ValidationError: not a hex address, or mixed case with a wrong checksum (likely a typo).
    """
    if not isinstance(address, str) or not is_hex_address(address) or not address.startswith(("0x", "0X")):
        raise ValidationError(f"{address!r} is not an Ethereum address (0x + 40 hex digits)")
    digits = address[2:]
    if digits != digits.lower() and digits != digits.upper() and not is_checksum_address(address):
        raise ValidationError(f"{address} has a wrong EIP-55 checksum")
    return str(to_checksum_address(address))


def address_of_private_key(private_key: bytes) -> str:
    """Return the EIP-55 checksum address of the account holding ``private_key``.

    Raises:
        ValidationError: the private key is malformed.
    """
    return address_of_public_key(public_key_of(private_key))


def save_keystore(account: LocalAccount, path: Path, password: str, *, iterations: int | None = None) -> Path:
    """Write ``account`` as an encrypted Web3 Secret Storage (version 3) keystore JSON file.

    The key is encrypted by ``eth_account.Account.encrypt`` with the scrypt KDF. The file is written to a temporary
    file in the same directory, flushed to disk, and then linked into place, so ``path`` either does not exist or
    holds the complete keystore, also after a crash. The file's mode is 0600. Missing parent directories are
    created.

    Args:
        account: The account to store.
        path: Destination file; must not exist yet.
        password: Password the key is encrypted under.
        iterations: scrypt work factor N (a power of two); ``None`` takes eth-account's default (2**18).
            Lower values are for tests only.

    Returns:
        ``path``.

    Raises:
        ValidationError: ``path`` already exists, or ``iterations`` is not a usable scrypt work factor.
        OSError: the directory cannot be created or written.
    """
    path = Path(path)
    if path.exists() or path.is_symlink():
        raise ValidationError(f"keystore {path} already exists; refusing to overwrite it")
    if iterations is not None and (iterations < 2 or iterations & (iterations - 1)):
        raise ValidationError(f"scrypt iterations must be a power of two >= 2, got {iterations}")
    from eth_account import Account

    keystore = Account.encrypt(account.key, password, kdf="scrypt", iterations=iterations)
    data = json.dumps(keystore, indent=2, sort_keys=True).encode() + b"\n"

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), _KEYSTORE_MODE)
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        _move_into_place_no_overwrite(tmp, path)
        _fsync_dir(path.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return path


def load_keystore(path: Path, password: str) -> LocalAccount:
    """Decrypt a Web3 Secret Storage keystore file (version 3, scrypt or pbkdf2).

    Args:
        path: Keystore JSON file.
        password: The password it was encrypted under.

    Returns:
        The account.

    Raises:
        NotFoundError: the file does not exist (a :class:`ValidationError`).
        ValidationError: the file is not a version-3 keystore, or its ``address`` field does not match its key.
        WrongKeyError: the password is wrong.
    """
    return account_of(decrypt_keystore(path, password))


def account_of(private_key: bytes) -> LocalAccount:
    """The ``eth_account`` account holding ``private_key`` (32 bytes). Raises ``ValidationError``."""
    from eth_account import Account

    account: LocalAccount = Account.from_key(check_private_key(private_key))
    return account


def decrypt_keystore(path: Path, password: str, *, derived_key: bytes | None = None) -> bytes:
    """The private key in a Web3 Secret Storage keystore file (version 3, scrypt or pbkdf2), checked against the
    file's ``address`` field.

    ``derived_key`` is the output of the keystore's key derivation function for ``password``, when the caller
    already computed it (the slow step: scrypt costs ~0.8 s at eth-account's default work factor; a command
    computes it in a thread while the chain libraries load). It is checked against the keystore's MAC like a
    derivation done here, so a wrong one is a wrong password.

    Returns:
        The 32-byte private key.

    Raises:
        The errors of :func:`load_keystore`.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise NotFoundError(f"keystore {path} does not exist") from None
    except IsADirectoryError:
        raise ValidationError(f"keystore {path} is a directory") from None
    try:
        keystore = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValidationError(f"keystore {path} is not JSON") from None
    _check_keystore_shape(keystore, path)
    from eth_keyfile.keyfile import decode_keyfile_json  # what eth_account's Account.decrypt calls

    try:
        if derived_key is not None:
            key = _decrypt_with_derived_key(keystore, derived_key)
        else:
            # bytes, as eth_account passes them (eth_keyfile's annotation says str but hashes the bytes)
            key = bytes(decode_keyfile_json(keystore, password.encode("utf-8")))  # type: ignore[arg-type]
    except ValueError as exc:
        if "MAC mismatch" in str(exc):
            raise WrongKeyError(f"wrong password for keystore {path}") from None
        raise ValidationError(f"keystore {path} is malformed: {exc}") from None
    except (KeyError, TypeError, NotImplementedError) as exc:
        raise ValidationError(f"keystore {path} is malformed: {exc!r}") from None
    try:
        address = address_of_private_key(check_private_key(key))
    except ValidationError:
        raise ValidationError(f"keystore {path} holds an invalid private key") from None
    claimed = keystore.get("address")
    if claimed is not None and str(claimed).lower().removeprefix("0x") != address.lower()[2:]:
        raise ValidationError(f"keystore {path}: address field {claimed} does not match its key")
    return key


def _decrypt_with_derived_key(keystore: dict[str, Any], derived_key: bytes) -> bytes:
    """Web3 Secret Storage v3 decryption after the key derivation: the MAC is keccak256(derived_key[16:32] ||
    ciphertext); the cipher is AES-128-CTR under derived_key[:16] with the keystore's IV. ``ValueError("MAC
    mismatch")`` like eth_keyfile for a wrong key."""
    import hmac

    from eth_keyfile.keyfile import decrypt_aes_ctr

    crypto: dict[str, Any] = keystore.get("crypto", keystore.get("Crypto")) or {}
    if crypto.get("cipher") != "aes-128-ctr":
        raise ValueError(f"unsupported cipher {crypto.get('cipher')!r}: only aes-128-ctr (Web3 Secret Storage) is read")
    ciphertext = bytes.fromhex(str(crypto["ciphertext"]).removeprefix("0x"))
    mac = keccak(derived_key[16:32] + ciphertext)
    if not hmac.compare_digest(mac, bytes.fromhex(str(crypto["mac"]).removeprefix("0x"))):
        raise ValueError("MAC mismatch")
    iv = int.from_bytes(bytes.fromhex(str(crypto["cipherparams"]["iv"]).removeprefix("0x")), "big")
    return bytes(decrypt_aes_ctr(ciphertext, derived_key[:16], iv))


def check_keystore(keystore: Any, path: Path) -> None:
    """Check that ``keystore`` (parsed JSON read from ``path``) is a version-3 keystore with every field the
    decryption needs, without running the key derivation. Raises ``ValidationError`` naming ``path``."""
    _check_keystore_shape(keystore, path)


def _check_keystore_shape(keystore: Any, path: Path) -> None:
    """Raise ValidationError unless ``keystore`` looks like a version-3 keystore (before spending time on the KDF)."""
    if not isinstance(keystore, dict):
        raise ValidationError(f"keystore {path} is not a JSON object")
    if keystore.get("version") != 3:
        raise ValidationError(f"keystore {path} is not a version-3 keystore")
    crypto = keystore.get("crypto", keystore.get("Crypto"))
    if not isinstance(crypto, dict):
        raise ValidationError(f"keystore {path} has no crypto section")
    for field in ("cipher", "cipherparams", "ciphertext", "kdf", "kdfparams", "mac"):
        if field not in crypto:
            raise ValidationError(f"keystore {path} lacks crypto.{field}")
    if crypto["kdf"] not in ("scrypt", "pbkdf2"):
        raise ValidationError(f"keystore {path} uses an unsupported KDF {crypto['kdf']!r}")


def _move_into_place_no_overwrite(tmp: Path, path: Path) -> None:
    """Atomically publish ``tmp`` at ``path`` unless ``path`` exists.

    A hard link fails with EEXIST instead of replacing; file systems without hard links fall back to a check followed
    by ``os.replace`` (a narrow race window remains there).
    """
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise ValidationError(f"keystore {path} already exists; refusing to overwrite it") from None
    except OSError:
        if path.exists():
            raise ValidationError(f"keystore {path} already exists; refusing to overwrite it") from None
        os.replace(tmp, path)
