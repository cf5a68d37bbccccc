"""Market events in the audit trail: listings, negotiations, auctions, escrowed orders, deliveries, use-right
queries, disputes and their rulings, settlements, withdrawals and the platform's parameters (Wu et al.;
Shrestha et al.)."""

from __future__ import annotations

from typing import Any

from datagora.domain.models import Outcome, Pricing, Ruling, SaleKind
from datagora.services.audit.base import ZERO_ADDRESS, ContractTexts, Trail, amount, eth, short_hash, when

# -- what later events need ----------------------------------------------------------------------------------


def _learn_platform(trail: Trail, a: dict[str, Any]) -> None:
    trail.platform = str(a["new_owner"])


def _learn_listing(trail: Trail, a: dict[str, Any]) -> None:
    trail.listings[int(a["listing_id"])] = (str(a["seller"]), int(a["token_id"]), str(a["payment_token"]))


def _learn_order(trail: Trail, a: dict[str, Any]) -> None:
    trail.orders[int(a["order_id"])] = (int(a["listing_id"]), str(a["buyer"]))


def _learn_offer(trail: Trail, a: dict[str, Any]) -> None:
    trail.offers[int(a["offer_id"])] = (int(a["listing_id"]), str(a["buyer"]), int(a["amount"]))


# -- who an event concerns when it names nobody ------------------------------------------------------------


def _order_parties(trail: Trail, a: dict[str, Any]) -> set[str]:
    _, buyer, seller, _, _ = trail.order(int(a["order_id"]))
    return {buyer, seller}


def _ruling_parties(trail: Trail, a: dict[str, Any]) -> set[str]:
    return _order_parties(trail, a) | {trail.platform}


def _listing_seller(trail: Trail, a: dict[str, Any]) -> set[str]:
    return {trail.listing(int(a["listing_id"]))[0]}


def _offer_parties(trail: Trail, a: dict[str, Any]) -> set[str]:
    _, buyer, _, seller, _ = trail.offer(int(a["offer_id"]))
    return {buyer, seller}


def _platform(trail: Trail, _: dict[str, Any]) -> set[str]:
    return {trail.platform}


# -- texts ------------------------------------------------------------------------------------------------


def _listed(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    token = str(a["payment_token"])
    price = amount(a["price"], token)
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
        extra.append(f"collateral {amount(a['collateral'], token)} from each party")
    if a["management_fee"]:
        extra.append(f"management fee {eth(a['management_fee'])}")
    tail = f" ({', '.join(extra)})" if extra else ""
    return a["seller"], f"listed dataset #{a['token_id']} as listing #{a['listing_id']}: {terms}{tail}"


def _auction_opened(trail: Trail, a: dict[str, Any]) -> tuple[str, str]:
    seller, token_id, token = trail.listing(int(a["listing_id"]))
    return (
        seller,
        f"opened an English auction on listing #{a['listing_id']} (dataset #{token_id}): each bid at "
        f"least {amount(a['min_increment'], token)} above the last, until {when(a['end_time'])}",
    )


def _use_right_terms(trail: Trail, a: dict[str, Any]) -> tuple[str, str]:
    return (
        trail.listing(int(a["listing_id"]))[0],
        f"set the use-right terms of listing #{a['listing_id']}: up to {a['max_queries']} queries per "
        f"order under the ODRL policy with keccak256 {short_hash(a['policy_hash'])}",
    )


def _listing_cancelled(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    return a["seller"], f"cancelled listing #{a['listing_id']} (dataset #{a['token_id']})"


def _offer_made(trail: Trail, a: dict[str, Any]) -> tuple[str, str]:
    token = trail.listing(int(a["listing_id"]))[2]
    return (
        a["buyer"],
        f"offered {amount(a['amount'], token)} for listing #{a['listing_id']} (offer #{a['offer_id']}, "
        f"held in escrow with the collateral, valid until {when(a['expiry'])})",
    )


def _offer_countered(trail: Trail, a: dict[str, Any]) -> tuple[str, str]:
    _, _, offered, seller, token = trail.offer(int(a["offer_id"]))
    return (
        seller,
        f"countered offer #{a['offer_id']} on listing #{a['listing_id']}: asks "
        f"{amount(a['counter'], token)} instead of {amount(offered, token)}",
    )


def _offer_accepted(trail: Trail, a: dict[str, Any]) -> tuple[str, str]:
    listing_id, buyer, offered, seller, token = trail.offer(int(a["offer_id"]))
    # The contract refuses a counter equal to the offer, so the price tells who accepted.
    if int(a["price"]) == offered:
        return seller, (
            f"accepted offer #{a['offer_id']} on listing #{listing_id} at {amount(a['price'], token)}: "
            f"order #{a['order_id']}"
        )
    return buyer, (
        f"accepted the seller's counter on offer #{a['offer_id']} (listing #{listing_id}) at "
        f"{amount(a['price'], token)}: order #{a['order_id']}"
    )


def _offer_closed(trail: Trail, a: dict[str, Any]) -> tuple[str, str]:
    listing_id, buyer, _, _, _ = trail.offer(int(a["offer_id"]))
    if a["rejected"]:
        what = "rejected"
    elif str(a["by"]).lower() == buyer.lower():
        what = "withdrew"
    else:
        what = "closed the expired"
    return a["by"], f"{what} offer #{a['offer_id']} on listing #{listing_id}; the escrow is owed back to {buyer}"


def _bid_placed(trail: Trail, a: dict[str, Any]) -> tuple[str, str]:
    token = trail.listing(int(a["listing_id"]))[2]
    outbid = "" if int(a["outbid"], 16) == 0 else f", outbidding {a['outbid']} (its bid is owed back)"
    return a["bidder"], f"bid {amount(a['amount'], token)} on the auction of listing #{a['listing_id']}{outbid}"


def _auction_settled(trail: Trail, a: dict[str, Any]) -> tuple[str, str]:
    seller, token_id, token = trail.listing(int(a["listing_id"]))
    if int(a["winner"], 16) == 0:
        return seller, (
            f"settled the auction of listing #{a['listing_id']} without bids: dataset #{token_id} and the "
            "collateral return to the seller"
        )
    return a["winner"], (
        f"won the auction of listing #{a['listing_id']} at {amount(a['amount'], token)}: order #{a['order_id']}"
    )


def _order_paid(trail: Trail, a: dict[str, Any]) -> tuple[str, str]:
    token = trail.listing(int(a["listing_id"]))[2]
    if a["queries"]:
        return a["buyer"], (
            f"prepaid {a['queries']} queries ({amount(a['amount'], token)}) on use-right listing "
            f"#{a['listing_id']} (order #{a['order_id']}), usable until {when(a['deadline'])}"
        )
    collateral = f" plus {amount(a['collateral'], token)} collateral" if a["collateral"] else ""
    return a["buyer"], (
        f"paid {amount(a['amount'], token)}{collateral} into escrow for listing #{a['listing_id']} "
        f"(order #{a['order_id']}); delivery due by {when(a['deadline'])}"
    )


def _delivered(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    return (
        a["seller"],
        f"delivered order #{a['order_id']} (ciphertext sha256 {short_hash(a['delivery_hash'])}); the buyer "
        f"confirms by {when(a['confirm_deadline'])}",
    )


def _query_answered(trail: Trail, a: dict[str, Any]) -> tuple[str, str]:
    _, _, seller, _, token = trail.order(int(a["order_id"]))
    return (
        seller,
        f"answered query #{a['index']} of use-right order #{a['order_id']} (query "
        f"{short_hash(a['query_hash'])}, result {short_hash(a['result_hash'])}): seller owed "
        f"{amount(a['seller_amount'], token)}, fee {amount(a['fee'], token)}",
    )


def _disputed(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    return (
        a["by"],
        f"disputed order #{a['order_id']} (reason keccak256 {short_hash(a['reason_hash'])}); the platform "
        f"resolves by {when(a['resolve_deadline'])}",
    )


_RULINGS = {
    Ruling.FOR_SELLER: "for the seller (the re-upload matches; the buyer's claim was false)",
    Ruling.REDELIVERED: "by redelivery (the seller sent other data but holds the real one)",
    Ruling.FOR_BUYER: "for the buyer (the seller's data does not match what it registered)",
}


def _resolved(trail: Trail, a: dict[str, Any]) -> tuple[str, str]:
    ruling = _RULINGS.get(Ruling(int(a["ruling"])), "")
    return (
        trail.platform or "platform",
        f"resolved the dispute over order #{a['order_id']} {ruling} (evidence keccak256 "
        f"{short_hash(a['evidence_hash'])})",
    )


def _settled(trail: Trail, a: dict[str, Any]) -> tuple[str, str]:
    order_id = int(a["order_id"])
    _, buyer, seller, token_id, token = trail.order(order_id)
    seller_credit, buyer_credit = amount(a["seller_credit"], token), amount(a["buyer_credit"], token)
    to_buyer = f"dataset #{token_id} goes to the buyer"
    back = f"dataset #{token_id} returns to the seller"
    credits = f"seller owed {seller_credit}, buyer owed {buyer_credit}"
    fee = f", platform fee {amount(a['fee'], token)}" if a["fee"] else ""
    match Outcome(a["outcome"]):
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


def _withdrawn(_: Trail, a: dict[str, Any]) -> tuple[str, str]:
    return a["account"], f"withdrew {amount(a['amount'], str(a.get('payment_token', ZERO_ADDRESS)))}"


def _parameters(trail: Trail, a: dict[str, Any]) -> tuple[str, str]:
    return (
        trail.platform or "platform",
        f"set the brokerage fee to {a['fee_bps']} bps, the management fee to "
        f"{eth(a['management_fee'])} per listing and the dispute window to {a['dispute_window']} s",
    )


TEXTS = ContractTexts(
    "Market",
    describe={
        "Listed": _listed,
        "AuctionOpened": _auction_opened,
        "ListingCancelled": _listing_cancelled,
        "OfferMade": _offer_made,
        "OfferCountered": _offer_countered,
        "OfferAccepted": _offer_accepted,
        "OfferClosed": _offer_closed,
        "BidPlaced": _bid_placed,
        "AuctionSettled": _auction_settled,
        "OrderPaid": _order_paid,
        "Delivered": _delivered,
        "Disputed": _disputed,
        "Resolved": _resolved,
        "Settled": _settled,
        "Withdrawn": _withdrawn,
        "ParametersChanged": _parameters,
    },
    learn={
        "OwnershipTransferred": _learn_platform,
        "Listed": _learn_listing,
        "OrderPaid": _learn_order,
        "OfferMade": _learn_offer,
    },
    parties={
        "Settled": _order_parties,
        "Disputed": _order_parties,
        "Resolved": _ruling_parties,
        "AuctionOpened": _listing_seller,
        "AuctionSettled": _listing_seller,
        "OfferCountered": _offer_parties,
        "OfferAccepted": _offer_parties,
        "OfferClosed": _offer_parties,
        "ParametersChanged": _platform,
    },
    housekeeping=frozenset({"OwnershipTransferred"}),
)
