"""EIP-712 typed structured data: signing, recovery and the Catalog's novelty attestation.

Hashing and signing are eth-account's (``eth_account.messages.encode_typed_data(full_message=...)``, EIP-712 with
the EIP-191 version byte 0x01). Recovery applies the same rules as the Catalog contract (snekmate ``ecdsa``
``_recover_sig`` on the EVM ``ecrecover`` precompile): a 65-byte r || s || v signature, v in {27, 28} and s in the
lower half of the group order (EIP-2), so a signature this module accepts is one the contract accepts.
"""

from __future__ import annotations

from typing import Any

from eth_abi.abi import encode as abi_encode
from eth_account import Account
from eth_account.messages import SignableMessage, encode_typed_data
from eth_keys.datatypes import Signature
from eth_keys.exceptions import BadSignature
from eth_utils.crypto import keccak
from eth_utils.exceptions import ValidationError as EthValidationError

from datagora.crypto.keys import check_private_key, checksum_address
from datagora.domain.errors import CryptoError, ValidationError
from datagora.domain.models import DatasetDescription

__all__ = [
    "CATALOG_DOMAIN_NAME",
    "CATALOG_DOMAIN_VERSION",
    "NOVELTY_ATTESTATION_TYPE",
    "description_hash",
    "novelty_attestation",
    "recover_typed_data",
    "sign_typed_data",
    "typed_data_digest",
]

CATALOG_DOMAIN_NAME = "Datagora Catalog"
"""EIP-712 domain name of the Catalog contract (its ``erc721.__init__`` argument)."""

CATALOG_DOMAIN_VERSION = "1"
"""EIP-712 domain version of the Catalog contract."""

NOVELTY_ATTESTATION_TYPE = (
    "NoveltyAttestation(address publisher,bytes32 contentHash,bytes32 descriptionHash,"
    "bytes32 fingerprintCommitment,bytes32 dcatHash,uint256 expiry)"
)
"""EIP-712 encodeType of the attestation; keccak256 of it is the Catalog's ``ATTESTATION_TYPEHASH``."""

SIGNATURE_SIZE = 65
_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_HALF_N = _SECP256K1_N // 2
_UINT256_MAX = (1 << 256) - 1

_EIP712_DOMAIN_FIELDS = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
_NOVELTY_ATTESTATION_FIELDS = [
    {"name": "publisher", "type": "address"},
    {"name": "contentHash", "type": "bytes32"},
    {"name": "descriptionHash", "type": "bytes32"},
    {"name": "fingerprintCommitment", "type": "bytes32"},
    {"name": "dcatHash", "type": "bytes32"},
    {"name": "expiry", "type": "uint256"},
]


def typed_data_digest(typed_data: dict[str, Any]) -> bytes:
    """Return the 32-byte EIP-712 digest ``keccak256(0x1901 || domainSeparator || hashStruct(message))``.

    Args:
        typed_data: Full EIP-712 typed data: ``types`` (including ``EIP712Domain``), ``primaryType``, ``domain``,
            ``message`` (the ``eth_signTypedData_v4`` JSON shape).

    Returns:
        The digest a signer signs and the contract's ``_hash_typed_data_v4`` computes (32 bytes).

    Raises:
        ValidationError: the typed data is malformed.
    """
    signable = _signable(typed_data)
    # EIP-191: 0x19 || version byte (0x01 for EIP-712) || domain separator || hashStruct(message).
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


def sign_typed_data(private_key: bytes, typed_data: dict[str, Any]) -> bytes:
    """Sign EIP-712 typed data.

    Args:
        private_key: The signer's 32-byte secp256k1 private key.
        typed_data: Full EIP-712 typed data (see :func:`typed_data_digest`).

    Returns:
        65 bytes r (32) || s (32) || v (1) with v in {27, 28} and low s (RFC 6979 deterministic nonce), the layout
        the Catalog's ``publish(..., attestation)`` expects.

    Raises:
        ValidationError: the private key or the typed data is malformed.
    """
    key = check_private_key(private_key)
    signed = Account.sign_message(_signable(typed_data), key)
    signature = bytes(signed.signature)
    if len(signature) != SIGNATURE_SIZE or signature[64] not in (27, 28):  # pragma: no cover - eth-account invariant
        raise CryptoError("eth-account produced an unexpected signature layout")
    return signature


def recover_typed_data(typed_data: dict[str, Any], signature: bytes) -> str:
    """Recover the address that signed EIP-712 typed data.

    Args:
        typed_data: Full EIP-712 typed data (see :func:`typed_data_digest`).
        signature: 65 bytes r || s || v, v in {27, 28}, s <= n/2.

    Returns:
        The signer's EIP-55 checksum address. A valid signature over different data recovers a different address;
        compare the result with the expected signer.

    Raises:
        ValidationError: the typed data is malformed.
        CryptoError: the signature is malformed: not 65 bytes, v not 27 or 28, r or s out of range, s in the upper
            half (malleable; the contract rejects it), or no public key recovers from it.
    """
    digest = typed_data_digest(typed_data)
    if not isinstance(signature, bytes | bytearray) or len(signature) != SIGNATURE_SIZE:
        size = len(signature) if isinstance(signature, bytes | bytearray) else type(signature).__name__
        raise CryptoError(f"malformed signature: expected {SIGNATURE_SIZE} bytes r || s || v, got {size}")
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:64], "big")
    v = signature[64]
    if v not in (27, 28):
        raise CryptoError(f"malformed signature: v must be 27 or 28, got {v}")
    if not 1 <= r < _SECP256K1_N or not 1 <= s < _SECP256K1_N:
        raise CryptoError("malformed signature: r or s out of range")
    if s > _HALF_N:
        raise CryptoError("malformed signature: s is in the upper half of the group order (EIP-2)")
    try:
        public_key = Signature(vrs=(v - 27, r, s)).recover_public_key_from_msg_hash(digest)
    except (BadSignature, EthValidationError, ValueError):
        raise CryptoError("malformed signature: no public key recovers from it") from None
    return str(public_key.to_checksum_address())


def description_hash(publisher: str, description: DatasetDescription) -> bytes:
    """The Catalog's on-chain ``description_hash`` of a dataset (EntDSM 6-tuple, Wang & Liu section III.B).

    Args:
        publisher: The publishing account (the contract's ``msg.sender``).
        description: Domain (<= 64 bytes), name (<= 128 bytes), attributes (<= 2,048 bytes), size (uint256)
            and the 32-byte SHA-256 content hash.

    Returns:
        ``keccak256(abi.encode(publisher, domain, name, attributes, size, contentHash))`` (32 bytes), what
        ``Catalog.publish`` stores and the novelty attestation signs.

    Raises:
        ValidationError: the address is malformed, the content hash is not 32 bytes or the size not a uint256.
    """
    size = description.size
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= _UINT256_MAX:
        raise ValidationError(f"size must be a uint256, got {size!r}")
    _bytes32(description.content_hash, "content hash")
    encoded = abi_encode(
        ["address", "string", "string", "string", "uint256", "bytes32"],
        [
            _address(publisher, "publisher"),
            description.domain,
            description.name,
            description.attributes,
            size,
            bytes(description.content_hash),
        ],
    )
    return bytes(keccak(encoded))


def novelty_attestation(
    chain_id: int,
    catalog: str,
    publisher: str,
    content_hash: bytes,
    description_hash: bytes,
    fingerprint_commitment: bytes,
    dcat_hash: bytes,
    expiry: int,
) -> dict[str, Any]:
    """Build the EIP-712 typed data of the platform's novelty attestation for ``Catalog.publish``.

    The struct is ``NoveltyAttestation(address publisher,bytes32 contentHash,bytes32 descriptionHash,bytes32
    fingerprintCommitment,bytes32 dcatHash,uint256 expiry)`` under the domain ``{name: "Datagora Catalog",
    version: "1", chainId, verifyingContract: catalog}``, field for field what ``Catalog.vy`` hashes
    (``ATTESTATION_TYPEHASH`` and snekmate's ``eip712_domain_separator``), so the digest equals the contract's
    ``attestation_digest``.

    Args:
        chain_id: EIP-155 chain id (positive).
        catalog: Address of the deployed Catalog contract.
        publisher: Address that will call ``publish`` (the contract uses ``msg.sender``).
        content_hash: SHA-256 of the plaintext (32 bytes).
        description_hash: The on-chain description hash (see :func:`description_hash`, 32 bytes), so the
            attestation holds only for the name, domain, attributes and size it was given for.
        fingerprint_commitment: keccak256 commitment to the data fingerprint (32 bytes).
        dcat_hash: SHA-256 of the canonical DCAT JSON-LD description (32 bytes).
        expiry: Unix time (seconds) after which the attestation is void; uint256.

    Returns:
        JSON-serialisable typed data (``types``, ``primaryType``, ``domain``, ``message``); addresses in EIP-55
        form, bytes32 values as ``"0x"``-prefixed lower-case hex.

    Raises:
        ValidationError: an address is malformed, a hash is not 32 bytes, or an integer is out of range.
    """
    if isinstance(chain_id, bool) or not isinstance(chain_id, int) or not 1 <= chain_id <= _UINT256_MAX:
        raise ValidationError(f"chain id must be a positive uint256, got {chain_id!r}")
    if isinstance(expiry, bool) or not isinstance(expiry, int) or not 0 <= expiry <= _UINT256_MAX:
        raise ValidationError(f"expiry must be a uint256 (Unix seconds), got {expiry!r}")
    return {
        "types": {
            "EIP712Domain": [dict(f) for f in _EIP712_DOMAIN_FIELDS],
            "NoveltyAttestation": [dict(f) for f in _NOVELTY_ATTESTATION_FIELDS],
        },
        "primaryType": "NoveltyAttestation",
        "domain": {
            "name": CATALOG_DOMAIN_NAME,
            "version": CATALOG_DOMAIN_VERSION,
            "chainId": chain_id,
            "verifyingContract": _address(catalog, "catalog"),
        },
        "message": {
            "publisher": _address(publisher, "publisher"),
            "contentHash": _bytes32(content_hash, "content hash"),
            "descriptionHash": _bytes32(description_hash, "description hash"),
            "fingerprintCommitment": _bytes32(fingerprint_commitment, "fingerprint commitment"),
            "dcatHash": _bytes32(dcat_hash, "DCAT hash"),
            "expiry": expiry,
        },
    }


def _signable(typed_data: dict[str, Any]) -> SignableMessage:
    if not isinstance(typed_data, dict):
        raise ValidationError(f"typed data must be a dict, not {type(typed_data).__name__}")
    try:
        return encode_typed_data(full_message=typed_data)
    except (ValueError, TypeError, KeyError, AttributeError, EthValidationError) as exc:
        raise ValidationError(f"malformed EIP-712 typed data: {exc}") from None


def _address(value: str, what: str) -> str:
    try:
        return checksum_address(value)
    except ValidationError as exc:
        raise ValidationError(f"{what}: {exc}") from None


def _bytes32(value: bytes, what: str) -> str:
    if not isinstance(value, bytes | bytearray) or len(value) != 32:
        size = len(value) if isinstance(value, bytes | bytearray) else type(value).__name__
        raise ValidationError(f"{what} must be 32 bytes, got {size}")
    return "0x" + bytes(value).hex()
