"""Erasure asked by the customer's own node (Shrestha, Joshi, Vassileva: the customer erases a category of their
data; the shop node destroys its data key and marks the items erased on chain).

A customer without a browser wallet keeps their key in their own customer node. That node signs an
:class:`ErasureRequest` (EIP-712 typed data, so any wallet could sign the same request) and sends it to the shop
node over HTTP (``POST /consent/erasures/signed``); the shop node checks it with :func:`erase_on_request` and
erases (:func:`datagora.services.consent.erase`).

The request names the customer, the category, the shop's account, the chain (EIP-712 domain ``chainId``), when it
was signed and a random 32-byte nonce. The shop node accepts it only when the customer's key signed it, it names
this shop and chain, it is at most :data:`MAX_AGE` seconds old (and not dated more than :data:`MAX_AHEAD` seconds
ahead), and its nonce was never used: a request captured on the way cannot be replayed, nor sent to another shop.
Every refusal happens before anything is changed.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from dataclasses import dataclass
from typing import Any, Final

from eth_account.signers.local import LocalAccount

from datagora.chain.contracts import Contracts
from datagora.crypto.eip712 import recover_typed_data, sign_typed_data
from datagora.crypto.keys import checksum_address
from datagora.domain.errors import AccessDenied, Conflict, CryptoError, NotFoundError, ValidationError
from datagora.services import consent, streams
from datagora.services.participant import Participant

DOMAIN_NAME: Final = "Datagora erasure"
DOMAIN_VERSION: Final = "1"
REQUEST_TYPE: Final = [
    {"name": "customer", "type": "address"},
    {"name": "category", "type": "string"},
    {"name": "shop", "type": "address"},
    {"name": "issuedAt", "type": "uint256"},
    {"name": "nonce", "type": "bytes32"},
]
"""EIP-712 ``ErasureRequest(address customer,string category,address shop,uint256 issuedAt,bytes32 nonce)``."""
MAX_AGE: Final = 600
"""Seconds a signed request stays valid."""
MAX_AHEAD: Final = 120
"""Seconds a request may be dated ahead of the shop's clock (clocks differ a little)."""
NONCES_KIND: Final = "erasure-requests"

_LOCK = threading.Lock()


@dataclass(frozen=True)
class ErasureRequest:
    """A customer's signed request to erase ``category`` at ``shop``: addresses EIP-55, ``issued_at`` Unix
    seconds, ``nonce`` 32 bytes, ``signature`` 65 bytes r || s || v over :meth:`typed_data`."""

    customer: str
    category: str
    shop: str
    chain_id: int
    issued_at: int
    nonce: bytes
    signature: bytes = b""

    def typed_data(self) -> dict[str, Any]:
        """The EIP-712 typed data signed (the ``eth_signTypedData_v4`` JSON shape)."""
        return {
            "types": {
                "EIP712Domain": [
                    {"name": "name", "type": "string"},
                    {"name": "version", "type": "string"},
                    {"name": "chainId", "type": "uint256"},
                ],
                "ErasureRequest": REQUEST_TYPE,
            },
            "primaryType": "ErasureRequest",
            "domain": {"name": DOMAIN_NAME, "version": DOMAIN_VERSION, "chainId": self.chain_id},
            "message": {
                "customer": self.customer,
                "category": self.category,
                "shop": self.shop,
                "issuedAt": self.issued_at,
                "nonce": self.nonce,
            },
        }

    def to_json(self) -> dict[str, Any]:
        """The request as the shop node's API takes it (hex for bytes)."""
        return {
            "customer": self.customer,
            "category": self.category,
            "shop": self.shop,
            "chain_id": self.chain_id,
            "issued_at": self.issued_at,
            "nonce": "0x" + self.nonce.hex(),
            "signature": "0x" + self.signature.hex(),
        }

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> ErasureRequest:
        """Parse :meth:`to_json`'s shape; ``ValidationError`` for a malformed field."""
        try:
            nonce = bytes.fromhex(str(body["nonce"]).removeprefix("0x"))
            signature = bytes.fromhex(str(body["signature"]).removeprefix("0x"))
            request = cls(
                checksum_address(str(body["customer"])),
                str(body["category"]),
                checksum_address(str(body["shop"])),
                int(body["chain_id"]),
                int(body["issued_at"]),
                nonce,
                signature,
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise ValidationError(f"not an erasure request: {exc}") from None
        if len(nonce) != 32:
            raise ValidationError("the request's nonce must be 32 bytes")
        return request


def sign_request(customer: LocalAccount, chain_id: int, shop: str, category: str, *, now: int) -> ErasureRequest:
    """The customer's node signs a request to erase ``category`` at the shop whose account is ``shop``, dated
    ``now`` (Unix seconds) with a fresh random nonce. Raises ``ValidationError`` for an unknown category or a
    malformed shop address."""
    streams.check_category(category)
    unsigned = ErasureRequest(
        checksum_address(str(customer.address)), category, checksum_address(shop), chain_id, now, os.urandom(32)
    )
    signature = sign_typed_data(bytes(customer.key), unsigned.typed_data())
    return dataclasses.replace(unsigned, signature=signature)


def _check(contracts: Contracts, shop: Participant, request: ErasureRequest, now: int) -> None:
    streams.check_category(request.category)
    if request.shop.lower() != shop.address.lower():
        raise AccessDenied(
            f"this request is for the shop {request.shop}, not this one ({shop.address}): nothing was erased"
        )
    if request.chain_id != contracts.chain.chain_id:
        raise AccessDenied("this request was signed for another chain: nothing was erased")
    try:
        signer = recover_typed_data(request.typed_data(), request.signature)
    except (CryptoError, ValidationError):
        signer = ""
    if signer.lower() != request.customer.lower():
        raise AccessDenied(
            f"this request was not signed by the customer it names ({request.customer}): nothing was erased"
        )
    if now - request.issued_at > MAX_AGE:
        raise AccessDenied(
            f"this request was signed more than {MAX_AGE // 60} minutes ago: sign a new one. Nothing was erased"
        )
    if request.issued_at - now > MAX_AHEAD:
        raise AccessDenied("this request is dated in the future (check the clock of your node): nothing was erased")


def _holdings(contracts: Contracts, shop: Participant, customer: str, category: str) -> None:
    """``NotFoundError`` when this shop never published the customer's data of ``category``; ``Conflict`` when it
    is erased already."""
    label = streams.CATEGORY_LABELS[category].lower()
    published = consent.published_items(contracts, customer, category)
    mine = [i for i in published if contracts.streams.item(i).publisher.lower() == shop.address.lower()]
    if not mine and streams.data_key_of(shop, customer, category) is None:
        raise NotFoundError(f"this shop holds no {label} of yours: nothing was erased")
    if streams.data_key_of(shop, customer, category) is None and all(contracts.streams.item(i).erased for i in mine):
        raise Conflict(f"this shop has already erased your {label}: nothing more to do")


def erase_on_request(contracts: Contracts, shop: Participant, request: ErasureRequest, *, now: int) -> consent.Erasure:
    """The shop node checks a customer's signed request and erases the category (crypto-shredding and items
    marked erased on chain, :func:`datagora.services.consent.erase`). ``now``: the shop's clock, Unix seconds.

    Raises (each before anything is changed):
        ValidationError: unknown category.
        AccessDenied: signed by someone else than the customer it names, for another shop or chain, too old or
            dated ahead.
        Conflict: the request was used already (a replay), or the data is erased already.
        NotFoundError: this shop never held the customer's data of that category.
        TransactionReverted: the chain refused to mark an item erased (the key is destroyed already then; asking
            again marks the rest).
    """
    _check(contracts, shop, request, now)
    with _LOCK:
        name = request.nonce.hex()
        try:
            shop.load_record(NONCES_KIND, name)
        except NotFoundError:
            pass
        else:
            raise Conflict("this erasure request was received before (a replay): nothing more was erased")
        _holdings(contracts, shop, request.customer, request.category)
        shop.save_record(
            NONCES_KIND,
            name,
            {"customer": request.customer, "category": request.category, "issued_at": request.issued_at},
        )
    return consent.erase(contracts, shop, request.customer, request.category)
