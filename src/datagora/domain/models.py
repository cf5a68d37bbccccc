"""Plain typed models of Datagora's domain. No I/O.

Amounts are in wei, times are Unix seconds, hashes are 32 raw bytes, addresses are EIP-55 checksum strings.

The ``IntEnum`` classes mirror the contracts' Vyper ``flag`` types member for member: the n-th member declared in
the contract (from 0) has the value ``2**n``, and ``NONE = 0`` (the empty flag) stands for "no such entry" where the
contracts read it so (tests/architecture/test_state_codes.py checks both sides agree).
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
    SUSPENDED = 4

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
    PENDING = 4  # asked to join an existing organisation, not yet approved by a member


class ListingState(IntEnum):
    NONE = 0
    ACTIVE = 1
    PENDING = 2
    SOLD = 4
    CANCELLED = 8
    CLOSED = 16


class OrderState(IntEnum):
    NONE = 0
    PAID = 1  # ownership: paid, awaiting delivery; use-right: credit usable
    DELIVERED = 2
    DISPUTED = 4
    COMPLETED = 8
    REFUNDED = 16

    @property
    def settled(self) -> bool:
        return self in (OrderState.COMPLETED, OrderState.REFUNDED)


class SaleKind(IntEnum):
    """What a listing sells (Wu et al. section II): the data NFT itself, or use-rights per query."""

    OWNERSHIP = 1
    USE_RIGHT = 2


class Pricing(IntEnum):
    """How the price is found (Wu et al. section III.A, pricing module)."""

    FIXED = 1
    NEGOTIATED = 2
    AUCTION = 4


class OfferState(IntEnum):
    NONE = 0
    OPEN = 1
    COUNTERED = 2
    ACCEPTED = 4
    REJECTED = 8
    WITHDRAWN = 16


class Outcome(IntEnum):
    """How an order was settled (``Market`` event ``Settled``), after Wu et al. section IV.A."""

    CONFIRMED = 1  # buyer confirmed (steps 22-24)
    RELEASED = 2  # confirmation deadline passed: mandatory transfer (IV.A.5)
    FOR_SELLER = 4  # dispute resolved for the seller (IV.A.3)
    NOT_DELIVERED = 8  # delivery deadline passed: refund (IV.A.4)
    FOR_BUYER = 16  # dispute resolved for the buyer (IV.A.3)
    DISPUTE_TIMEOUT = 32  # the arbiter did not resolve in time: unwound
    USE_RIGHT_EXPIRED = 64  # usage window over: unused credit refunded
    REDELIVERED = 128  # dispute: the seller sent fabricated data but held the real one, redelivered by the platform


class Ruling(IntEnum):
    """The platform's decision on a dispute (``Market.resolve``), after Wu et al. section IV.A.3."""

    FOR_SELLER = 1  # the data is right and so was the transmission: the buyer's claim was false
    REDELIVERED = 2  # the data is right but the seller transmitted something else: the platform redelivers
    FOR_BUYER = 4  # the seller's data does not match what it registered: refund


ETHER = "0x0000000000000000000000000000000000000000"
"""``payment_token`` of listings paid in ether."""


class ConsentState(IntEnum):
    """State of a consent (``Consent.vy``); an expired consent stays ACTIVE (expiry is a time)."""

    NONE = 0
    ACTIVE = 1
    REVOKED = 2


class AccessRefusal(IntEnum):
    """Why ``Consent`` refused an access (event ``AccessRefused``, view ``check``; 0 = allowed)."""

    NO_CONSENT = 1
    NOT_CONSUMER = 2
    WRONG_CATEGORY = 4
    WRONG_PURPOSE = 8
    REVOKED = 16
    EXPIRED = 32
    NO_ITEM = 64
    ITEM_ERASED = 128
    DEPOSIT_TOO_LOW = 256


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
    """A ``Market`` listing. ``price`` is in the payment token's smallest unit (wei for ether): the fixed
    price, the asking price (negotiated), the reserve (auction) or the price per query (use-right).
    ``collateral`` is what each party deposits (double deposit, ownership only). ``delivery_window`` is the
    usage window for a use-right; windows in seconds. ``payment_token`` is :data:`ETHER` or an ERC-20."""

    id: int
    seller: str
    token_id: int
    price: int
    delivery_window: int
    confirm_window: int
    state: ListingState
    kind: SaleKind = SaleKind.OWNERSHIP
    pricing: Pricing = Pricing.FIXED
    collateral: int = 0
    payment_token: str = ETHER
    max_queries: int = 0

    @property
    def pays_in_ether(self) -> bool:
        return int(self.payment_token, 16) == 0


@dataclass(frozen=True)
class Order:
    """A ``Market`` order. ``amount`` is the escrowed price (for a use-right: the credit left), ``deadline``
    the current one (delivery, confirmation, dispute or end of the usage window; Unix seconds),
    ``delivery_hash`` the SHA-256 of the delivered ciphertext (from the ``Delivered`` event; zero before)."""

    id: int
    listing_id: int
    buyer: str
    amount: int
    deadline: int
    state: OrderState
    delivery_hash: bytes = bytes(32)
    fee_bps: int = 0
    queries_left: int = 0
    queries_total: int = 0

    @property
    def is_use_right(self) -> bool:
        return self.queries_total > 0

    @property
    def fee(self) -> int:
        """The brokerage fee the platform receives on completion of an ownership order."""
        return self.amount * self.fee_bps // 10_000


@dataclass(frozen=True)
class Offer:
    """A buyer's offer on a negotiable listing: ``amount`` escrowed, the seller's ``counter`` (0: none),
    ``expiry`` Unix seconds."""

    id: int
    listing_id: int
    buyer: str
    amount: int
    counter: int
    expiry: int
    state: OfferState


@dataclass(frozen=True)
class Auction:
    """An English auction's state: bids until ``end_time`` (Unix seconds), each at least ``min_increment``
    above ``highest_bid`` (0 and an empty bidder before the first bid)."""

    listing_id: int
    end_time: int
    min_increment: int
    highest_bidder: str
    highest_bid: int


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
    address: str = ""
    """The emitting contract's address, lower-case (empty when not known: rows indexed before it was stored)."""


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


@dataclass(frozen=True)
class Consent:
    """A data subject's consent (Shrestha et al.): ``organisation_id`` may use the subject's data of the category
    whose keccak256 is ``category_hash`` for the W3C DPV purpose whose IRI hashes to ``purpose_hash`` until
    ``expiry`` (Unix seconds), paying ``reward`` RewardToken units (18 decimals) per access."""

    consent_id: int
    subject: str
    organisation_id: int
    category_hash: bytes
    purpose_hash: bytes
    expiry: int
    reward: int
    state: ConsentState


@dataclass(frozen=True)
class StreamItem:
    """A stream item (MultiChain-style): the hash of an encrypted item kept off-chain, its stream and publisher,
    and whether it was erased (its data key destroyed)."""

    item_id: int
    stream_id: int
    publisher: str
    item_hash: bytes
    erased: bool


@dataclass(frozen=True)
class ShopOrder:
    """A shopping-cart order named by its cart hash: ``amount`` and each side's ``collateral`` in wei,
    ``deadline`` (Unix seconds) to deliver while Paid, to confirm once Delivered."""

    order_hash: bytes
    buyer: str
    seller: str
    amount: int
    collateral: int
    state: OrderState
    deadline: int
