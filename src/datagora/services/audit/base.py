"""What every contract's audit texts share: the trail's memory of earlier events, the text formats (amounts,
times, hashes) and one contract's registration (:class:`ContractTexts`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from datagora.domain.models import ChainEvent

ZERO_ADDRESS = "0x" + "0" * 40


def eth(wei: int) -> str:
    """``wei`` in ether with six decimals: ``"0.500000 ETH"``."""
    return f"{wei / 10**18:.6f} ETH"


def amount(value: int, payment_token: str = ZERO_ADDRESS) -> str:
    """``value`` in ether, or in the smallest unit of an ERC-20 (its decimals are not on the event log)."""
    if int(payment_token, 16) == 0:
        return eth(value)
    return f"{value} units of ERC-20 {payment_token}"


def when(timestamp: int) -> str:
    """Unix seconds as ``YYYY-MM-DD HH:MM:SS UTC``."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def short_hash(value: Any) -> str:
    """The first 8 bytes of a hash in hex and an ellipsis; ``value`` as bytes or as ``0x``-hex (the index's
    JSON form)."""
    raw = bytes.fromhex(value[2:] if value.startswith("0x") else value) if isinstance(value, str) else bytes(value)
    return raw.hex()[:16] + "…"


class Trail:
    """What earlier events taught about later ones (in chain order): each listing's seller, dataset and payment
    token, each order's listing and buyer, each offer's listing, buyer and amount, each organisation's members,
    the platform (the Market's owner). Events name ids, not the parties or the currency; this fills them in.
    The contracts' ``learn`` functions (see :class:`ContractTexts`) write these facts."""

    def __init__(self) -> None:
        self.platform = ""
        self.listings: dict[int, tuple[str, int, str]] = {}  # id → seller, token id, payment token
        self.orders: dict[int, tuple[int, str]] = {}  # id → listing id, buyer
        self.offers: dict[int, tuple[int, str, int]] = {}  # id → listing id, buyer, offered amount
        self.members: dict[int, set[str]] = {}  # organisation id → lower-case member addresses
        self.shop_orders: dict[str, tuple[str, str]] = {}  # Shop order hash (0x-hex) → buyer, seller
        self.compute_jobs: dict[int, tuple[str, str, str]] = {}  # job id → requester, owner, payment token
        self.brand_tokens: dict[str, tuple[int, str, str]] = {}  # points token (lower-case) → brand, symbol, name

    def listing(self, listing_id: int) -> tuple[str, int, str]:
        """seller, token id, payment token of ``listing_id`` (empty when not seen)."""
        return self.listings.get(listing_id, ("", 0, ZERO_ADDRESS))

    def order(self, order_id: int) -> tuple[int, str, str, int, str]:
        """listing id, buyer, seller, token id, payment token of ``order_id``."""
        listing_id, buyer = self.orders.get(order_id, (0, ""))
        seller, token_id, payment_token = self.listing(listing_id)
        return listing_id, buyer, seller, token_id, payment_token

    def offer(self, offer_id: int) -> tuple[int, str, int, str, str]:
        """listing id, buyer, amount, seller, payment token of ``offer_id``."""
        listing_id, buyer, offered = self.offers.get(offer_id, (0, "", 0))
        seller, _token_id, payment_token = self.listing(listing_id)
        return listing_id, buyer, offered, seller, payment_token


Describe = Callable[[Trail, dict[str, Any]], tuple[str, str]]
"""An event's actor (the account that acted, or the party it concerns when anyone may trigger it) and its
description, from the trail and the event's arguments."""
Learn = Callable[[Trail, dict[str, Any]], None]
"""Records what later events need from this one."""
Parties = Callable[[Trail, dict[str, Any]], set[str]]
"""Accounts an event concerns without naming them (the parties of its order, offer or listing)."""
Quiet = Callable[[dict[str, Any]], bool]
"""Whether one event of a described kind is housekeeping all the same (a token minted or burnt by a call whose own
event already says so)."""


@dataclass(frozen=True)
class ContractTexts:
    """How the events of the contract ``contract`` read in the audit trail: a ``describe`` function per event,
    the events that teach the trail something (``learn``), the parties of events that name none (``parties``),
    and the ``housekeeping`` events (token transfers and approvals, ownership and roles) left out of the trail
    unless asked for. An event neither described nor housekeeping is a mistake the coverage test reports.
    ``quiet`` marks some events of a described kind as housekeeping by their arguments; ``address_as`` names the
    argument under which the emitting contract's address reaches these functions (a contract deployed many
    times, such as each brand's points token)."""

    contract: str
    describe: Mapping[str, Describe]
    learn: Mapping[str, Learn] = field(default_factory=dict)
    parties: Mapping[str, Parties] = field(default_factory=dict)
    housekeeping: frozenset[str] = frozenset()
    quiet: Mapping[str, Quiet] = field(default_factory=dict)
    address_as: str | None = None

    def args(self, ev: ChainEvent) -> dict[str, Any]:
        """The arguments these texts read: the event's, with its contract's address under ``address_as``."""
        return ev.args if self.address_as is None else {**ev.args, self.address_as: ev.address}

    def is_housekeeping(self, ev: ChainEvent) -> bool:
        """Whether ``ev`` is left out of the trail unless token transfers are asked for."""
        if ev.name in self.housekeeping:
            return True
        quiet = self.quiet.get(ev.name)
        return quiet is not None and quiet(self.args(ev))

    @property
    def events(self) -> frozenset[str]:
        """Every event name these texts account for."""
        return frozenset(self.describe) | self.housekeeping

    def text(self, trail: Trail, ev: ChainEvent) -> tuple[str, str]:
        """The actor and description of ``ev`` (a generic one for housekeeping events without a text)."""
        describe = self.describe.get(ev.name)
        if describe is None:
            return "", f"{ev.name} {ev.args}"
        return describe(trail, self.args(ev))


def register(*texts: ContractTexts) -> dict[str, ContractTexts]:
    """The texts by contract name; ``ValueError`` when two register the same contract."""
    out: dict[str, ContractTexts] = {}
    for entry in texts:
        if entry.contract in out:
            raise ValueError(f"two audit texts for {entry.contract}")
        out[entry.contract] = entry
    return out
