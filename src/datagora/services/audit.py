"""The audit trail read back from contract events: who did what, to which record, when, in which transaction
(Shrestha et al.: "who shared what, with whom, when"; EntDSM step 9: the supervisor reviews every record)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from datagora.chain.contracts import Contracts
from datagora.domain.models import ChainEvent, OrgStatus, Outcome, Pricing, Ruling, SaleKind


@dataclass(frozen=True)
class AuditRecord:
    """One line of the trail: ``actor`` address, ``action`` (the event name), a readable ``detail``,
    block ``timestamp`` (Unix seconds), ``block_number``, ``tx_hash``."""

    actor: str
    action: str
    detail: str
    timestamp: int
    block_number: int
    tx_hash: str
    contract: str


ZERO_ADDRESS = "0x" + "0" * 40


def _eth(wei: int) -> str:
    return f"{wei / 10**18:.6f} ETH"


def _amount(value: int, payment_token: str = ZERO_ADDRESS) -> str:
    """``value`` in ether, or in the smallest unit of an ERC-20 (its decimals are not on the event log)."""
    if int(payment_token, 16) == 0:
        return _eth(value)
    return f"{value} units of ERC-20 {payment_token}"


def _when(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _hash(value: Any) -> str:
    return bytes(value).hex()[:16] + "…"


_KIND = {SaleKind.OWNERSHIP: "ownership", SaleKind.USE_RIGHT: "use-rights"}


class _Trail:
    """What earlier events taught about later ones (in chain order): each listing's seller, dataset and payment
    token, each order's listing and buyer, each offer's listing, buyer and counter, the platform (the Market's
    owner). Events name ids, not the parties or the currency; this fills them in."""

    def __init__(self) -> None:
        self.platform = ""
        self.listings: dict[int, tuple[str, int, str]] = {}  # id → seller, token id, payment token
        self.orders: dict[int, tuple[int, str]] = {}  # id → listing id, buyer
        self.offers: dict[int, tuple[int, str, int]] = {}  # id → listing id, buyer, offered amount

    def learn(self, ev: ChainEvent) -> None:
        a = ev.args
        match ev.name:
            case "OwnershipTransferred" if ev.contract == "Market":
                self.platform = str(a["new_owner"])
            case "Listed":
                self.listings[int(a["listing_id"])] = (str(a["seller"]), int(a["token_id"]), str(a["payment_token"]))
            case "OrderPaid":
                self.orders[int(a["order_id"])] = (int(a["listing_id"]), str(a["buyer"]))
            case "OfferMade":
                self.offers[int(a["offer_id"])] = (int(a["listing_id"]), str(a["buyer"]), int(a["amount"]))

    def listing(self, listing_id: int) -> tuple[str, int, str]:
        return self.listings.get(listing_id, ("", 0, ZERO_ADDRESS))

    def order(self, order_id: int) -> tuple[int, str, str, int, str]:
        """listing id, buyer, seller, token id, payment token of ``order_id``."""
        listing_id, buyer = self.orders.get(order_id, (0, ""))
        seller, token_id, payment_token = self.listing(listing_id)
        return listing_id, buyer, seller, token_id, payment_token

    def offer(self, offer_id: int) -> tuple[int, str, int, str, str]:
        """listing id, buyer, amount, seller, payment token of ``offer_id``."""
        listing_id, buyer, amount = self.offers.get(offer_id, (0, "", 0))
        seller, _token_id, payment_token = self.listing(listing_id)
        return listing_id, buyer, amount, seller, payment_token

    def parties(self, ev: ChainEvent) -> set[str]:
        """Accounts an event concerns without naming them (the order's, offer's or listing's parties), for the
        audit filters: a settlement concerns buyer and seller, a resolution also the platform."""
        a = ev.args
        found: set[str] = set()
        match ev.name:
            case "Settled" | "QueryAnswered" | "Disputed":
                _, buyer, seller, _, _ = self.order(int(a["order_id"]))
                found = {buyer, seller}
            case "Resolved":
                _, buyer, seller, _, _ = self.order(int(a["order_id"]))
                found = {buyer, seller, self.platform}
            case "AuctionOpened" | "UseRightTerms" | "AuctionSettled":
                found = {self.listing(int(a["listing_id"]))[0]}
            case "OfferCountered" | "OfferAccepted" | "OfferClosed":
                _, buyer, _, seller, _ = self.offer(int(a["offer_id"]))
                found = {buyer, seller}
            case "ParametersChanged":
                found = {self.platform}
        return {p.lower() for p in found if p}

    def describe(self, ev: ChainEvent) -> tuple[str, str]:
        """The event's actor (the account that acted, or the party it concerns when anyone may trigger it) and
        a human description."""
        a: dict[str, Any] = ev.args
        match ev.name:
            case "OrganisationRegistered":
                return a["founder"], f"registered organisation #{a['organisation_id']} {a['name']!r}"
            case "MemberJoined":
                return a["account"], f"joined organisation #{a['organisation_id']} and published its encryption key"
            case "MembershipRequested":
                return a["account"], f"asked to join organisation #{a['organisation_id']}"
            case "CustomerRegistered":
                return a["account"], "registered as a customer"
            case "StatusChanged":
                return (
                    a["supervisor"],
                    f"set organisation #{a['organisation_id']} {OrgStatus(a['old_status']).name} → "
                    f"{OrgStatus(a['new_status']).name}",
                )
            case "DatasetPublished":
                return (
                    a["owner"],
                    f"published dataset #{a['token_id']} {a['name']!r} ({a['domain']}, {a['size']} items, "
                    f"sha256 {_hash(a['content_hash'])}) attested by {a['attester']}",
                )
            case "Listed":
                return a["seller"], self._listed(a)
            case "AuctionOpened":
                seller, token_id, token = self.listing(int(a["listing_id"]))
                return (
                    seller,
                    f"opened an English auction on listing #{a['listing_id']} (dataset #{token_id}): each bid at "
                    f"least {_amount(a['min_increment'], token)} above the last, until {_when(a['end_time'])}",
                )
            case "UseRightTerms":
                return (
                    self.listing(int(a["listing_id"]))[0],
                    f"set the use-right terms of listing #{a['listing_id']}: up to {a['max_queries']} queries per "
                    f"order under the ODRL policy with keccak256 {_hash(a['policy_hash'])}",
                )
            case "ListingCancelled":
                return a["seller"], f"cancelled listing #{a['listing_id']} (dataset #{a['token_id']})"
            case "OfferMade":
                token = self.listing(int(a["listing_id"]))[2]
                return (
                    a["buyer"],
                    f"offered {_amount(a['amount'], token)} for listing #{a['listing_id']} (offer #{a['offer_id']}, "
                    f"held in escrow with the collateral, valid until {_when(a['expiry'])})",
                )
            case "OfferCountered":
                _, buyer, amount, seller, token = self.offer(int(a["offer_id"]))
                return (
                    seller,
                    f"countered offer #{a['offer_id']} on listing #{a['listing_id']}: asks "
                    f"{_amount(a['counter'], token)} instead of {_amount(amount, token)}",
                )
            case "OfferAccepted":
                listing_id, buyer, amount, seller, token = self.offer(int(a["offer_id"]))
                # The contract refuses a counter equal to the offer, so the price tells who accepted.
                if int(a["price"]) == amount:
                    return seller, (
                        f"accepted offer #{a['offer_id']} on listing #{listing_id} at {_amount(a['price'], token)}: "
                        f"order #{a['order_id']}"
                    )
                return buyer, (
                    f"accepted the seller's counter on offer #{a['offer_id']} (listing #{listing_id}) at "
                    f"{_amount(a['price'], token)}: order #{a['order_id']}"
                )
            case "OfferClosed":
                listing_id, buyer, _, _, _ = self.offer(int(a["offer_id"]))
                if a["rejected"]:
                    what = "rejected"
                elif str(a["by"]).lower() == buyer.lower():
                    what = "withdrew"
                else:
                    what = "closed the expired"
                return a[
                    "by"
                ], f"{what} offer #{a['offer_id']} on listing #{listing_id}; the escrow is owed back to {buyer}"
            case "BidPlaced":
                token = self.listing(int(a["listing_id"]))[2]
                outbid = "" if int(a["outbid"], 16) == 0 else f", outbidding {a['outbid']} (its bid is owed back)"
                return a[
                    "bidder"
                ], f"bid {_amount(a['amount'], token)} on the auction of listing #{a['listing_id']}{outbid}"
            case "AuctionSettled":
                seller, token_id, token = self.listing(int(a["listing_id"]))
                if int(a["winner"], 16) == 0:
                    return seller, (
                        f"settled the auction of listing #{a['listing_id']} without bids: dataset #{token_id} and the "
                        "collateral return to the seller"
                    )
                return a["winner"], (
                    f"won the auction of listing #{a['listing_id']} at {_amount(a['amount'], token)}: order "
                    f"#{a['order_id']}"
                )
            case "OrderPaid":
                return a["buyer"], self._paid(a)
            case "Delivered":
                return (
                    a["seller"],
                    f"delivered order #{a['order_id']} (ciphertext sha256 {_hash(a['delivery_hash'])}); the buyer "
                    f"confirms by {_when(a['confirm_deadline'])}",
                )
            case "QueryAnswered":
                _, _, seller, _, token = self.order(int(a["order_id"]))
                return (
                    seller,
                    f"answered query #{a['index']} of use-right order #{a['order_id']} (query "
                    f"{_hash(a['query_hash'])}, result {_hash(a['result_hash'])}): seller owed "
                    f"{_amount(a['seller_amount'], token)}, fee {_amount(a['fee'], token)}",
                )
            case "Disputed":
                return (
                    a["by"],
                    f"disputed order #{a['order_id']} (reason keccak256 {_hash(a['reason_hash'])}); the platform "
                    f"resolves by {_when(a['resolve_deadline'])}",
                )
            case "Resolved":
                ruling = {
                    Ruling.FOR_SELLER: "for the seller (the re-upload matches; the buyer's claim was false)",
                    Ruling.REDELIVERED: "by redelivery (the seller sent other data but holds the real one)",
                    Ruling.FOR_BUYER: "for the buyer (the seller's data does not match what it registered)",
                }.get(Ruling(int(a["ruling"])), "")
                return (
                    self.platform or "platform",
                    f"resolved the dispute over order #{a['order_id']} {ruling} (evidence keccak256 "
                    f"{_hash(a['evidence_hash'])})",
                )
            case "Settled":
                return self._settled(a)
            case "Withdrawn":
                return a["account"], f"withdrew {_amount(a['amount'], str(a.get('payment_token', ZERO_ADDRESS)))}"
            case "Rated":
                return a["rater"], f"rated {a['ratee']} {a['score']}/5 for order #{a['order_id']}"
            case "ParametersChanged" if "dispute_window" not in a:  # UseRights: fees only
                return (
                    self.platform or "platform",
                    f"set the brokerage fee of use-rights to {a['fee_bps']} bps and their management fee to "
                    f"{_eth(a['management_fee'])} per listing",
                )
            case "ParametersChanged":
                return (
                    self.platform or "platform",
                    f"set the brokerage fee to {a['fee_bps']} bps, the management fee to "
                    f"{_eth(a['management_fee'])} per listing and the dispute window to {a['dispute_window']} s",
                )
            case "Transfer":
                return a.get("sender", ""), f"data NFT #{a.get('token_id')} {a.get('sender')} → {a.get('receiver')}"
            case _:
                return "", f"{ev.name} {a}"

    def _listed(self, a: dict[str, Any]) -> str:
        token = str(a["payment_token"])
        price = _amount(a["price"], token)
        kind, pricing = SaleKind(a["kind"]), Pricing(a["pricing"])
        if kind == SaleKind.USE_RIGHT:
            terms = f"use-rights at {price} per query, usable for {a['delivery_window']} s after purchase"
        elif pricing == Pricing.NEGOTIATED:
            terms = f"ownership for negotiation, asking {price}"
        elif pricing == Pricing.AUCTION:
            terms = f"ownership at an English auction, reserve {price}"
        else:
            terms = f"ownership for {price}"
        extra = []
        if kind == SaleKind.OWNERSHIP:
            extra.append(f"collateral {_amount(a['collateral'], token)} from each party")
        if a["management_fee"]:
            extra.append(f"management fee {_eth(a['management_fee'])}")
        tail = f" ({', '.join(extra)})" if extra else ""
        return f"listed dataset #{a['token_id']} as listing #{a['listing_id']}: {terms}{tail}"

    def _paid(self, a: dict[str, Any]) -> str:
        token = self.listing(int(a["listing_id"]))[2]
        if a["queries"]:
            return (
                f"prepaid {a['queries']} queries ({_amount(a['amount'], token)}) on use-right listing "
                f"#{a['listing_id']} (order #{a['order_id']}), usable until {_when(a['deadline'])}"
            )
        collateral = f" plus {_amount(a['collateral'], token)} collateral" if a["collateral"] else ""
        return (
            f"paid {_amount(a['amount'], token)}{collateral} into escrow for listing #{a['listing_id']} "
            f"(order #{a['order_id']}); delivery due by {_when(a['deadline'])}"
        )

    def _settled(self, a: dict[str, Any]) -> tuple[str, str]:
        order_id = int(a["order_id"])
        _, buyer, seller, token_id, token = self.order(order_id)
        seller_credit, buyer_credit = _amount(a["seller_credit"], token), _amount(a["buyer_credit"], token)
        outcome = Outcome(a["outcome"])
        to_buyer = f"dataset #{token_id} goes to the buyer"
        back = f"dataset #{token_id} returns to the seller"
        credits = f"seller owed {seller_credit}, buyer owed {buyer_credit}"
        fee = f", platform fee {_amount(a['fee'], token)}" if a["fee"] else ""
        match outcome:
            case Outcome.CONFIRMED:
                return buyer, f"settled order #{order_id}: the buyer confirmed receipt; {to_buyer}, {credits}{fee}"
            case Outcome.RELEASED:
                return seller, (
                    f"settled order #{order_id} for the seller: not confirmed by the deadline (mandatory transfer, "
                    f"the buyer's collateral goes to the seller); {to_buyer}, {credits}{fee}"
                )
            case Outcome.FOR_SELLER:
                return seller, (
                    f"settled order #{order_id} for the seller after a dispute (the buyer forfeits its "
                    f"collateral); {to_buyer}, {credits}{fee}"
                )
            case Outcome.REDELIVERED:
                return seller, (
                    f"settled order #{order_id} by redelivery after a dispute (the platform delivered the real data; "
                    f"the seller forfeits its collateral); {to_buyer}, {credits}{fee}"
                )
            case Outcome.NOT_DELIVERED:
                return buyer, (
                    f"settled order #{order_id} for the buyer: not delivered by the deadline (refund, the seller "
                    f"forfeits its collateral); {back}, {credits}"
                )
            case Outcome.FOR_BUYER:
                return buyer, (
                    f"settled order #{order_id} for the buyer after a dispute (refund, the seller forfeits its "
                    f"collateral); {back}, {credits}"
                )
            case Outcome.DISPUTE_TIMEOUT:
                return buyer, (
                    f"settled order #{order_id}: the dispute was not resolved in time, the trade is unwound; "
                    f"{back}, {credits}"
                )
            case _:
                return buyer, (
                    f"settled use-right order #{order_id}: the usage window is over, {buyer_credit} unused credit "
                    "owed back to the buyer"
                )


_HOUSEKEEPING = (
    "Transfer",
    "Approval",
    "ApprovalForAll",
    "RoleGranted",
    "RoleRevoked",
    "RoleAdminChanged",
    "RoleMinterChanged",
    "OwnershipTransferred",
)


class _Subject:
    """Which events concern an organisation, a dataset and/or an account, learnt in one pass in chain order
    (members join before they act; listings precede their offers and orders, orders their deliveries)."""

    def __init__(self, organisation_id: int | None, token_id: int | None, account: str | None) -> None:
        self.organisation_id = organisation_id
        self.token_id = token_id
        self.account = account.lower() if account else None
        self.members: set[str] = set()
        self.listings: set[int] = set()
        self.orders: set[int] = set()
        self.offers: set[int] = set()

    @staticmethod
    def _addresses(ev: ChainEvent) -> set[str]:
        return {v.lower() for v in ev.args.values() if isinstance(v, str) and len(v) == 42 and v.startswith("0x")}

    def matches(self, ev: ChainEvent, trail: _Trail) -> bool:
        """Whether ``ev`` passes every filter. An event that names no account (a settlement, a counter-offer)
        concerns the parties of its order, offer or listing."""
        a = ev.args
        if ev.name == "MemberJoined" and a["organisation_id"] == self.organisation_id:
            self.members.add(str(a["account"]).lower())
        elif ev.name == "Listed" and a["token_id"] == self.token_id:
            self.listings.add(int(a["listing_id"]))
        elif ev.name == "OrderPaid" and a["listing_id"] in self.listings:
            self.orders.add(int(a["order_id"]))
        elif ev.name == "OfferMade" and a["listing_id"] in self.listings:
            self.offers.add(int(a["offer_id"]))
        addresses = self._addresses(ev) | trail.parties(ev)
        if self.organisation_id is not None and not (
            a.get("organisation_id") == self.organisation_id or addresses & self.members
        ):
            return False
        if self.token_id is not None and not (
            a.get("token_id") == self.token_id
            or a.get("listing_id") in self.listings
            or a.get("order_id") in self.orders
            or a.get("offer_id") in self.offers
        ):
            return False
        return self.account is None or self.account in addresses


def audit_trail(
    contracts: Contracts,
    *,
    include_token_transfers: bool = False,
    organisation_id: int | None = None,
    token_id: int | None = None,
    account: str | None = None,
) -> list[AuditRecord]:
    """Every Datagora event since deployment as :class:`AuditRecord` rows, in chain order. Optional filters
    (combined with AND): ``organisation_id`` (events naming the organisation or one of its members),
    ``token_id`` (events of the dataset, its listings, offers and orders), ``account`` (events naming the
    address in any role: actor, buyer, seller, owner, data subject; an event that names nobody, such as
    ``Settled``, concerns the parties of its order)."""
    filtered = organisation_id is not None or token_id is not None or account is not None
    subject = _Subject(organisation_id, token_id, account) if filtered else None
    trail = _Trail()
    out = []
    for ev in contracts.events():
        trail.learn(ev)
        if subject is not None and not subject.matches(ev, trail):
            continue
        if ev.name in _HOUSEKEEPING and not include_token_transfers:
            continue
        actor, detail = trail.describe(ev)
        out.append(AuditRecord(str(actor), ev.name, detail, ev.timestamp, ev.block_number, ev.tx_hash, ev.contract))
    return out
