"""An account's money and trades as its owner sees them: what it holds (ether and ERC-20s), what the sale contracts
(Market and UseRights) owe it (withdrawable), what is locked in escrow and as collateral; its orders as buyer and
as seller with the next step to take; whether it can pay for an action before anything is signed; and the status
of the chain, the deployment and the account's organisation. Read-only: nothing here needs a private key.

Orders and listings of an account are found with ``eth_getLogs`` filtered on the indexed account topic of the
Market's ``OrderPaid``, ``Listed``, ``OfferMade`` and ``BidPlaced`` events (bounded block ranges), then read back
from the Market's storage, so states are current. Amounts are in the payment token's smallest unit (wei for
ether).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eth_utils.abi import event_abi_to_log_topic

from datagora.chain.contracts import Contracts
from datagora.domain.errors import DatagoraError, InsufficientFunds, ValidationError
from datagora.domain.models import (
    ETHER,
    AccountKind,
    Listing,
    ListingState,
    Offer,
    OfferState,
    Order,
    OrderState,
    OrgStatus,
    SaleKind,
)

DEFAULT_ORDER_LIMIT = 50
"""At most this many orders (the newest) are read back by :func:`orders_of`."""
BALANCE_ORDER_LIMIT = 1_000
""":func:`balance_of` reads back at most this many orders (the newest) to find what is locked."""


@dataclass(frozen=True)
class Locked:
    """An amount of ``payment_token`` the account cannot use now: ``what`` says where it sits (an order's price
    and collateral in escrow, a listing's collateral, an open offer or bid) and until when (``deadline``, Unix
    seconds, 0 when it depends on someone else)."""

    what: str
    amount: int
    payment_token: str = ETHER
    deadline: int = 0


@dataclass(frozen=True)
class TokenHolding:
    """One payment token of the account: ``held`` in its wallet, ``withdrawable`` from the Market."""

    payment_token: str
    held: int
    withdrawable: int


@dataclass(frozen=True)
class Balance:
    """An account's money: ``ether`` in wei in its wallet, per payment token (ether first) what it holds and can
    withdraw from the Market, and every amount locked in escrow or as collateral."""

    address: str
    ether: int
    holdings: list[TokenHolding]
    locked: list[Locked] = field(default_factory=list)
    orders_checked: int = 0
    orders_total: int = 0

    def locked_total(self, payment_token: str = ETHER) -> int:
        return sum(x.amount for x in self.locked if _same(x.payment_token, payment_token))

    def withdrawable(self, payment_token: str = ETHER) -> int:
        return sum(h.withdrawable for h in self.holdings if _same(h.payment_token, payment_token))


@dataclass(frozen=True)
class OrderSummary:
    """One order seen by one of its parties (``role``: ``"buyer"`` or ``"seller"``): the order and its listing,
    the collateral each party posted, and the next step in words (``next_step``) with the command that takes it
    (``command``, empty when nothing is to be done by this party)."""

    order: Order
    listing: Listing
    role: str
    collateral: int
    next_step: str
    command: str = ""

    @property
    def done(self) -> bool:
        return self.order.state in (OrderState.COMPLETED, OrderState.REFUNDED)


@dataclass(frozen=True)
class Status:
    """Where a node stands: the chain (id, latest block and its time), the deployment (contract → address, or
    ``problem`` when it is missing or not on this chain), the account (address, wei held) and its registration
    (``kind``, organisation id, name and status; 0 / "" when not a member)."""

    chain_id: int
    block_number: int
    block_time: int
    contracts: dict[str, str]
    problem: str = ""
    address: str = ""
    ether: int = 0
    kind: AccountKind = AccountKind.NONE
    organisation_id: int = 0
    organisation: str = ""
    organisation_status: OrgStatus = OrgStatus.NONE
    is_supervisor: bool = False
    is_platform: bool = False


def _same(a: str, b: str) -> bool:
    return a.lower() == b.lower()


def _topic(contracts: Contracts, event: str) -> str:
    abi = getattr(contracts.market.contract.events, event).abi
    return "0x" + bytes(event_abi_to_log_topic(abi)).hex()


def _address_topic(address: str) -> str:
    return "0x" + bytes(12).hex() + address.lower().removeprefix("0x")


def _uint_topic(value: int) -> str:
    return "0x" + int(value).to_bytes(32, "big").hex()


def _market_logs(contracts: Contracts, event: str, position: int, value: str | list[str]) -> list[Any]:
    """Raw logs of ``event`` from both sale contracts (the Market and UseRights emit ``Listed`` and ``OrderPaid``
    with the same signature, and their ids never overlap) whose indexed argument at ``position`` (1-based topic
    index) is ``value`` (or one of the values)."""
    topics: list[Any] = [_topic(contracts, event), None, None, None][: position + 1]
    topics[position] = value
    from datagora.services.market import sale_contracts

    sellers = sale_contracts(contracts)
    blocks = [contracts.deployment.blocks.get(b.NAME, contracts.deployment.block) for b in sellers]
    return contracts.get_logs([b.address for b in sellers], topics, min(blocks))


def _events(contracts: Contracts, event: str, position: int, value: str | list[str]) -> list[Any]:
    return list(contracts.decode(_market_logs(contracts, event, position, value)))


def own_listings(contracts: Contracts, address: str) -> list[int]:
    """Ids of the listings ``address`` opened, oldest first."""
    return [int(ev.args["listing_id"]) for ev in _events(contracts, "Listed", 3, _address_topic(address))]


def offers_on(contracts: Contracts, listing_id: int) -> list[Offer]:
    """The negotiation offers made on listing ``listing_id``, oldest first, in their current state."""
    ids = [int(ev.args["offer_id"]) for ev in _events(contracts, "OfferMade", 2, _uint_topic(listing_id))]
    return [contracts.market.offer(i) for i in ids]


def offers_by(contracts: Contracts, buyer: str) -> list[Offer]:
    """The negotiation offers ``buyer`` made, oldest first, in their current state."""
    ids = [int(ev.args["offer_id"]) for ev in _events(contracts, "OfferMade", 3, _address_topic(buyer))]
    return [contracts.market.offer(i) for i in ids]


def _order_ids(contracts: Contracts, address: str) -> dict[int, tuple[str, int]]:
    """Order id → (role, collateral posted by each party) for the orders ``address`` is a party of."""
    found: dict[int, tuple[str, int]] = {}
    for ev in _events(contracts, "OrderPaid", 3, _address_topic(address)):
        found[int(ev.args["order_id"])] = ("buyer", int(ev.args["collateral"]))
    listings = own_listings(contracts, address)
    for start in range(0, len(listings), 100):  # topic OR-lists stay small
        chunk = [_uint_topic(i) for i in listings[start : start + 100]]
        for ev in _events(contracts, "OrderPaid", 2, chunk):
            found.setdefault(int(ev.args["order_id"]), ("seller", int(ev.args["collateral"])))
    return found


def next_step(order: Order, listing: Listing, role: str, now: int) -> tuple[str, str]:
    """What ``role`` should do next about ``order`` at chain time ``now``: (words, command or "")."""
    n, late = order.id, now > order.deadline
    state = order.state
    if listing.kind == SaleKind.USE_RIGHT:
        if state == OrderState.PAID:
            if late:
                return "the usage window is over: close it to get the unused credit back", f"datagora expire {n}"
            if role == "buyer":
                return (
                    f"{order.queries_left} of {order.queries_total} queries left",
                    f"datagora query {n} --spec FILE --from SELLER_URL",
                )
            return "answer the buyer's queries on your node", ""
        return ("done", "")
    if state == OrderState.PAID:
        if role == "seller":
            if late:
                return "the delivery deadline passed: the buyer may take a refund", ""
            return "deliver the data", f"datagora deliver {n}"
        if late:
            return "not delivered in time: take the refund", f"datagora refund {n}"
        return "wait for the seller's delivery", ""
    if state == OrderState.DELIVERED:
        if late:
            return "not confirmed in time: the sale can be released to the seller", f"datagora release {n}"
        if role == "buyer":
            return "check the delivery, then confirm (or dispute)", f"datagora confirm {n}"
        return "wait for the buyer's confirmation", ""
    if state == OrderState.DISPUTED:
        if late:
            return "the platform did not rule in time: the dispute can be unwound", "datagora enforce-deadlines"
        if role == "seller":
            return "the platform rules: re-upload the data it asks for", f"datagora reupload {n} --to URL"
        return "the platform rules on the dispute", ""
    if state == OrderState.REFUNDED:
        return "refunded", ""
    return "completed", ""


def orders_of(contracts: Contracts, address: str, *, limit: int = DEFAULT_ORDER_LIMIT) -> list[OrderSummary]:
    """The newest ``limit`` orders ``address`` is a party of (as buyer or as seller), newest first, with their
    current state and next step. Raises :class:`ValidationError` for ``limit`` < 1."""
    if limit < 1:
        raise ValidationError("limit must be at least 1")
    return _summaries(contracts, _order_ids(contracts, address), limit)


def _summaries(contracts: Contracts, ids: dict[int, tuple[str, int]], limit: int) -> list[OrderSummary]:
    now = contracts.chain.now()
    listings: dict[int, Listing] = {}
    out = []
    for order_id in sorted(ids, reverse=True)[:limit]:
        role, collateral = ids[order_id]
        order = contracts.market.order(order_id)
        if order.listing_id not in listings:
            listings[order.listing_id] = contracts.market.listing(order.listing_id)
        listing = listings[order.listing_id]
        words, command = next_step(order, listing, role, now)
        out.append(OrderSummary(order, listing, role, collateral, words, command))
    return out


def balance_of(contracts: Contracts, address: str, tokens: list[str] | None = None) -> Balance:
    """What ``address`` holds and is owed (ether, and each ERC-20 in ``tokens`` or used by its orders and
    listings) and every amount it has locked: price and collateral of its open orders as buyer, collateral of
    its active or sold-but-unsettled listings as seller, its open offers and its leading auction bids. Reads
    back at most :data:`BALANCE_ORDER_LIMIT` orders (the newest; ``orders_checked`` < ``orders_total`` says
    when older ones were left out)."""
    locked: list[Locked] = []
    payment_tokens = {ETHER.lower(): ETHER}
    for token in tokens or []:
        payment_tokens.setdefault(token.lower(), token)
    ids = _order_ids(contracts, address)
    summaries = _summaries(contracts, ids, BALANCE_ORDER_LIMIT)
    for s in summaries:
        payment_tokens.setdefault(s.listing.payment_token.lower(), s.listing.payment_token)
        if s.role == "buyer" and s.order.state in (OrderState.PAID, OrderState.DELIVERED, OrderState.DISPUTED):
            what = "unused query credit" if s.listing.kind == SaleKind.USE_RIGHT else "price and collateral"
            locked.append(
                Locked(
                    f"order #{s.order.id}: {what} in escrow",
                    s.order.amount + (0 if s.listing.kind == SaleKind.USE_RIGHT else s.collateral),
                    s.listing.payment_token,
                    s.order.deadline,
                )
            )
    for listing_id in own_listings(contracts, address):
        listing = contracts.market.listing(listing_id)
        payment_tokens.setdefault(listing.payment_token.lower(), listing.payment_token)
        if listing.collateral and listing.state in (ListingState.ACTIVE, ListingState.PENDING):
            locked.append(
                Locked(f"listing #{listing_id}: seller's collateral", listing.collateral, listing.payment_token)
            )
    listings: dict[int, Listing] = {}
    for ev in _events(contracts, "OfferMade", 3, _address_topic(address)):
        offer = contracts.market.offer(int(ev.args["offer_id"]))
        if offer.state in (OfferState.OPEN, OfferState.COUNTERED):
            listing = listings.setdefault(offer.listing_id, contracts.market.listing(offer.listing_id))
            locked.append(
                Locked(
                    f"offer #{offer.id} on listing #{offer.listing_id}: amount and collateral in escrow",
                    offer.amount + listing.collateral,
                    listing.payment_token,
                    offer.expiry,
                )
            )
    seen: set[int] = set()
    for ev in _events(contracts, "BidPlaced", 2, _address_topic(address)):
        listing_id = int(ev.args["listing_id"])
        if listing_id in seen:
            continue
        seen.add(listing_id)
        auction = contracts.market.auction(listing_id)
        listing = listings.setdefault(listing_id, contracts.market.listing(listing_id))
        if _same(auction.highest_bidder, address) and listing.state == ListingState.ACTIVE:
            locked.append(
                Locked(
                    f"leading bid on listing #{listing_id}: bid and collateral in escrow",
                    auction.highest_bid + listing.collateral,
                    listing.payment_token,
                    auction.end_time,
                )
            )
    from datagora.services.market import owed_to

    ether = contracts.chain.balance(address)
    holdings = [
        TokenHolding(
            token,
            ether if int(token, 16) == 0 else contracts.tokens.balance(token, address),
            owed_to(contracts, address, token),
        )
        for token in payment_tokens.values()
    ]
    return Balance(address, ether, holdings, locked, len(summaries), len(ids))


def required_funds(contracts: Contracts, address: str, needed: int, what: str, parts: str, token: str = ETHER) -> None:
    """Raise :class:`InsufficientFunds` with a plain sentence when ``address`` holds less than ``needed`` of
    ``token`` (wei for ether, which must also pay for gas), e.g. ``"buying listing 3 needs 12 ETH (6 price + 6
    collateral) plus gas; the account holds 10.49 ETH"``. ``what`` names the action, ``parts`` the breakdown."""
    from decimal import ROUND_DOWN, Decimal

    def amount(units: int, *, rounded: bool = False) -> str:
        symbol, decimals = "ETH", 18
        if int(token, 16) != 0:
            try:
                symbol, decimals = contracts.tokens.symbol(token), contracts.tokens.decimals(token)
            except DatagoraError:
                return f"{units:,} units of {token}"
        value = Decimal(units) / (Decimal(10) ** decimals)
        if rounded:  # what is held, rounded down to 4 decimals: never shown as more than it is
            value = value.quantize(Decimal("0.0001"), rounding=ROUND_DOWN)
        return f"{format(value.normalize(), 'f') if value else '0'} {symbol}"

    held = contracts.chain.balance(address) if int(token, 16) == 0 else contracts.tokens.balance(token, address)
    if held >= needed:
        return
    gas = " plus gas" if int(token, 16) == 0 else ""
    raise InsufficientFunds(
        f"{what} needs {amount(needed)}{f' ({parts})' if parts else ''}{gas}; "
        f"the account holds {amount(held, rounded=True)}"
    )


def status(contracts: Contracts | None, chain: Any, address: str = "", problem: str = "") -> Status:
    """The :class:`Status` of ``chain`` (a :class:`~datagora.chain.client.Chain`), of the deployment bound in
    ``contracts`` (None with ``problem`` saying why) and of ``address`` when given."""
    block = chain.block_number()
    base = Status(chain.chain_id, block, chain.block_timestamp(block), {}, problem)
    if contracts is None:
        if not address:
            return base
        return Status(**{**base.__dict__, "address": address, "ether": chain.balance(address)})
    fields: dict[str, Any] = {**base.__dict__, "contracts": contracts.addresses}
    if address:
        registry = contracts.registry
        org_id = registry.organisation_of(address)
        fields.update(address=address, ether=chain.balance(address), kind=registry.account_kind(address))
        if org_id:
            org = registry.organisation(org_id)
            fields.update(organisation_id=org.id, organisation=org.name, organisation_status=org.status)
        fields["is_supervisor"] = _same(registry.supervisor(), address)
        if "Market" in contracts.addresses:
            fields["is_platform"] = _same(contracts.market.platform(), address)
    return Status(**fields)
