"""Plain typed models of Datagora's domain. No I/O.

Amounts are in wei, times are Unix seconds, hashes are 32 raw bytes, addresses are EIP-55 checksum strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any


class OrgStatus(IntEnum):
    """Organisation status of EntDSM Algorithm 2 (``ComState``)."""

    NONE = 0
    TO_AUDIT = 1
    AUDITED = 2
    SUSPENDED = 3

    @classmethod
    def parse(cls, text: str) -> OrgStatus:
        """``"audited"``, ``"to-audit"``, ``"suspended"`` (any case, ``-`` or ``_``) to a status."""
        key = text.strip().upper().replace("-", "_")
        if key not in {"TO_AUDIT", "AUDITED", "SUSPENDED"}:
            raise ValueError(f"unknown status {text!r}: use to-audit, audited or suspended")
        return cls[key]


class AccountKind(IntEnum):
    NONE = 0
    MEMBER = 1
    CUSTOMER = 2
    PENDING = 3  # asked to join an existing organisation, not yet approved by a member


class ListingState(IntEnum):
    NONE = 0
    ACTIVE = 1
    PENDING = 2
    SOLD = 3
    CANCELLED = 4
    CLOSED = 5


class OrderState(IntEnum):
    NONE = 0
    PAID = 1
    DELIVERED = 2
    COMPLETED = 3
    REFUNDED = 4


@dataclass(frozen=True)
class Organisation:
    id: int
    name: str
    status: OrgStatus
    members: int


@dataclass(frozen=True)
class DatasetDescription:
    """The EntDSM data description 6-tuple (Wang & Liu, section III.B) without the owner, which is the
    publishing account: ``size`` is the number of data items (rows of a table, bytes otherwise),
    ``content_hash`` the SHA-256 of the plaintext."""

    domain: str
    name: str
    attributes: str
    size: int
    content_hash: bytes


@dataclass(frozen=True)
class Dataset:
    """A dataset as recorded in ``Catalog``: ``token_id`` of its data NFT and its current ``owner``."""

    token_id: int
    owner: str
    content_hash: bytes
    description_hash: bytes
    dcat_hash: bytes
    fingerprint_commitment: bytes


@dataclass(frozen=True)
class Listing:
    id: int
    seller: str
    token_id: int
    price: int
    delivery_window: int
    confirm_window: int
    state: ListingState


@dataclass(frozen=True)
class Order:
    id: int
    listing_id: int
    buyer: str
    fee: int
    deadline: int
    state: OrderState
    delivery_hash: bytes


@dataclass(frozen=True)
class ChainEvent:
    """A decoded contract event with where it sits on chain."""

    contract: str
    name: str
    args: dict[str, Any]
    block_number: int
    tx_hash: str
    log_index: int
    timestamp: int = 0
    block_hash: str = ""


@dataclass(frozen=True)
class TxResult:
    """A mined, successful transaction: ``gas_used`` in gas units, ``events`` decoded from its logs."""

    tx_hash: str
    gas_used: int
    block_number: int
    events: list[ChainEvent] = field(default_factory=list)

    def event(self, name: str) -> ChainEvent:
        """The first event called ``name``; ``LookupError`` when the transaction emitted none."""
        for ev in self.events:
            if ev.name == name:
                return ev
        raise LookupError(f"transaction {self.tx_hash} emitted no {name} event")
