"""Market events in the index: listings (fixed price, negotiated, auction, use-rights per query), offers, bids
and orders, and the ``datasets`` row's current listing (what search filters on). Disputes, rulings, withdrawals
and parameter changes derive no row: ``Settled`` carries each order's outcome."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select, update

from datagora.domain.models import OfferState, Outcome, Pricing, SaleKind
from datagora.index.projections.base import ContractProjection, StoredEvent
from datagora.index.schema import bids, datasets, listings, offers, orders


def term(value: SaleKind | Pricing | Outcome | OfferState) -> str:
    """An enum member as stored in the projections: ``USE_RIGHT`` → ``"use-right"``."""
    return value.name.lower().replace("_", "-")


_SELLER_WINS = (Outcome.CONFIRMED, Outcome.RELEASED, Outcome.FOR_SELLER, Outcome.REDELIVERED)
_BUYER_WINS = (Outcome.NOT_DELIVERED, Outcome.FOR_BUYER, Outcome.DISPUTE_TIMEOUT)


def _set_listing(conn: Connection, listing_id: int, **values: Any) -> None:
    conn.execute(update(listings).where(listings.c.listing_id == listing_id).values(**values))


def _set_order(conn: Connection, order_id: int, **values: Any) -> None:
    conn.execute(update(orders).where(orders.c.order_id == order_id).values(**values))


def _set_offer(conn: Connection, offer_id: int, **values: Any) -> None:
    conn.execute(update(offers).where(offers.c.offer_id == offer_id).values(**values))


def _close_listing(conn: Connection, listing_id: int, state: str) -> None:
    """The listing ends in ``state`` and the dataset is no longer on offer under it."""
    _set_listing(conn, listing_id, state=state)
    conn.execute(
        update(datasets)
        .where(datasets.c.listing_id == listing_id)
        .values(listing_id=None, price=None, price_eth=None, sale_kind=None, pricing=None, payment_token=None)
    )


def listed(conn: Connection, ev: StoredEvent) -> None:
    a = ev.args
    price, token = int(a["price"]), str(a["payment_token"])
    kind, pricing = term(SaleKind(int(a["kind"]))), term(Pricing(int(a["pricing"])))
    conn.execute(
        insert(listings).values(
            listing_id=int(a["listing_id"]),
            token_id=int(a["token_id"]),
            seller=a["seller"],
            price=str(price),
            state="active",
            kind=kind,
            pricing=pricing,
            collateral=str(int(a["collateral"])),
            payment_token=token,
        )
    )
    conn.execute(
        update(datasets)
        .where(datasets.c.token_id == int(a["token_id"]))
        .values(
            listing_id=int(a["listing_id"]),
            price=str(price),
            # price filters compare ether prices only (an ERC-20's unit is another currency)
            price_eth=price // 10**9 if int(token, 16) == 0 else None,
            sale_kind=kind,
            pricing=pricing,
            payment_token=token,
        )
    )


def auction_opened(conn: Connection, ev: StoredEvent) -> None:
    a = ev.args
    _set_listing(conn, int(a["listing_id"]), auction_end=int(a["end_time"]), min_increment=str(int(a["min_increment"])))


def use_right_terms(conn: Connection, ev: StoredEvent) -> None:
    a = ev.args
    _set_listing(conn, int(a["listing_id"]), max_queries=int(a["max_queries"]), policy_hash=a["policy_hash"])


def listing_cancelled(conn: Connection, ev: StoredEvent) -> None:
    _close_listing(conn, int(ev.args["listing_id"]), "cancelled")


def offer_made(conn: Connection, ev: StoredEvent) -> None:
    a = ev.args
    conn.execute(
        insert(offers).values(
            offer_id=int(a["offer_id"]),
            listing_id=int(a["listing_id"]),
            buyer=a["buyer"],
            amount=str(int(a["amount"])),
            expiry=int(a["expiry"]),
            state=term(OfferState.OPEN),
        )
    )


def offer_countered(conn: Connection, ev: StoredEvent) -> None:
    a = ev.args
    _set_offer(conn, int(a["offer_id"]), counter=str(int(a["counter"])), state=term(OfferState.COUNTERED))


def offer_accepted(conn: Connection, ev: StoredEvent) -> None:
    a = ev.args
    _set_offer(conn, int(a["offer_id"]), state=term(OfferState.ACCEPTED), order_id=int(a["order_id"]))


def offer_closed(conn: Connection, ev: StoredEvent) -> None:
    a = ev.args
    _set_offer(conn, int(a["offer_id"]), state=term(OfferState.REJECTED if a["rejected"] else OfferState.WITHDRAWN))


def bid_placed(conn: Connection, ev: StoredEvent) -> None:
    a = ev.args
    conn.execute(
        insert(bids).values(
            block_number=ev.block_number,
            log_index=ev.log_index,
            listing_id=int(a["listing_id"]),
            bidder=a["bidder"],
            amount=str(int(a["amount"])),
            tx_hash=ev.tx_hash,
        )
    )
    _set_listing(conn, int(a["listing_id"]), highest_bid=str(int(a["amount"])), highest_bidder=a["bidder"])


def auction_settled(conn: Connection, ev: StoredEvent) -> None:
    a = ev.args
    if int(a["winner"], 16) == 0:  # no bid: the NFT and the collateral went back to the seller
        _close_listing(conn, int(a["listing_id"]), "closed")


def order_paid(conn: Connection, ev: StoredEvent) -> None:
    a = ev.args
    amount, queries = int(a["amount"]), int(a["queries"])
    conn.execute(
        insert(orders).values(
            order_id=int(a["order_id"]),
            listing_id=int(a["listing_id"]),
            buyer=a["buyer"],
            price=str(amount),
            state="paid",
            amount=str(amount),
            collateral=str(int(a["collateral"])),
            fee_bps=int(a["fee_bps"]),
            queries_total=queries,
            queries_left=queries,
            deadline=int(a["deadline"]),
        )
    )
    if queries == 0:  # an ownership sale is pending; a use-right listing keeps selling
        _close_listing(conn, int(a["listing_id"]), "pending")


def delivered(conn: Connection, ev: StoredEvent) -> None:
    a = ev.args
    _set_order(
        conn,
        int(a["order_id"]),
        state="delivered",
        delivery_hash=a["delivery_hash"],
        deadline=int(a["confirm_deadline"]),
    )


def query_answered(conn: Connection, ev: StoredEvent) -> None:
    a = ev.args
    order_id = int(a["order_id"])
    row = conn.execute(select(orders.c.amount, orders.c.queries_left).where(orders.c.order_id == order_id)).one()
    spent = int(a["seller_amount"]) + int(a["fee"])
    _set_order(conn, order_id, amount=str(int(row.amount) - spent), queries_left=int(row.queries_left) - 1)


def disputed(conn: Connection, ev: StoredEvent) -> None:
    a = ev.args
    _set_order(conn, int(a["order_id"]), state="disputed", deadline=int(a["resolve_deadline"]))


def settled(conn: Connection, ev: StoredEvent) -> None:
    a = ev.args
    order_id, outcome = int(a["order_id"]), Outcome(int(a["outcome"]))
    values: dict[str, Any] = {
        "outcome": term(outcome),
        "seller_credit": str(int(a["seller_credit"])),
        "buyer_credit": str(int(a["buyer_credit"])),
        "fee": str(int(a["fee"])),
    }
    if outcome in _SELLER_WINS:
        values["state"] = "completed"
        _close_listing(conn, int(a["listing_id"]), "sold")
    elif outcome in _BUYER_WINS:
        values["state"] = "refunded"
        _close_listing(conn, int(a["listing_id"]), "closed")
    else:  # use-right expired: the unused credit went back; the listing sells on
        row = conn.execute(
            select(orders.c.queries_left, orders.c.queries_total).where(orders.c.order_id == order_id)
        ).one()
        values["state"] = "refunded" if row.queries_left == row.queries_total else "completed"
        values["amount"] = "0"
    _set_order(conn, order_id, **values)


PROJECTION = ContractProjection(
    "Market",
    handlers={
        "Listed": listed,
        "AuctionOpened": auction_opened,
        "ListingCancelled": listing_cancelled,
        "OfferMade": offer_made,
        "OfferCountered": offer_countered,
        "OfferAccepted": offer_accepted,
        "OfferClosed": offer_closed,
        "BidPlaced": bid_placed,
        "AuctionSettled": auction_settled,
        "OrderPaid": order_paid,
        "Delivered": delivered,
        "Disputed": disputed,
        "Settled": settled,
    },
    ignored=frozenset({"Resolved", "Withdrawn", "ParametersChanged", "OwnershipTransferred"}),
)
