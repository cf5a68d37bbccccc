"""Market events in the index: listings (fixed price, negotiated, auction, use-rights per query), offers, bids
and orders, and the ``datasets`` row's current listing (what search filters on). Disputes, rulings, withdrawals
and parameter changes derive no row: ``Settled`` carries each order's outcome."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

from sqlalchemy import Connection, insert, select, update

from datagora.domain.models import OfferState, Outcome, Pricing, SaleKind
from datagora.index.projections.base import (
    Batched,
    ContractProjection,
    KeyedUpdate,
    StoredEvent,
    execute_arrays,
    execute_rows,
    insert_rows,
)
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
    # only a listing's own Listed event points its dataset at it: look the row up by the listing's token (primary
    # keys both) rather than scanning datasets for the listing id
    token_id = select(listings.c.token_id).where(listings.c.listing_id == listing_id).scalar_subquery()
    conn.execute(
        update(datasets)
        .where(datasets.c.token_id == token_id, datasets.c.listing_id == listing_id)
        .values(listing_id=None, price=None, price_eth=None, sale_kind=None, pricing=None, payment_token=None)
    )


def _listing_row(ev: StoredEvent) -> dict[str, Any]:
    a = ev.args
    return {
        "listing_id": int(a["listing_id"]),
        "token_id": int(a["token_id"]),
        "seller": a["seller"],
        "price": str(int(a["price"])),
        "state": "active",
        "kind": term(SaleKind(int(a["kind"]))),
        "pricing": term(Pricing(int(a["pricing"]))),
        "collateral": str(int(a["collateral"])),
        "payment_token": str(a["payment_token"]),
    }


def _on_offer(row: dict[str, Any]) -> dict[str, Any]:
    """The ``datasets`` columns a new listing sets: price filters compare ether prices only (an ERC-20's unit
    is another currency)."""
    token = row["payment_token"]
    return {
        "listing_id": row["listing_id"],
        "price": row["price"],
        "price_eth": int(row["price"]) // 10**9 if int(token, 16) == 0 else None,
        "sale_kind": row["kind"],
        "pricing": row["pricing"],
        "payment_token": token,
    }


def listed(conn: Connection, ev: StoredEvent) -> None:
    row = _listing_row(ev)
    conn.execute(insert(listings).values(**row))
    conn.execute(update(datasets).where(datasets.c.token_id == row["token_id"]).values(**_on_offer(row)))


def auction_opened(conn: Connection, ev: StoredEvent) -> None:
    a = ev.args
    _set_listing(conn, int(a["listing_id"]), auction_end=int(a["end_time"]), min_increment=str(int(a["min_increment"])))


def auction_extended(conn: Connection, ev: StoredEvent) -> None:
    """Soft close: a late bid moved the auction's end."""
    _set_listing(conn, int(ev.args["listing_id"]), auction_end=int(ev.args["end_time"]))


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


def _order_row(ev: StoredEvent) -> dict[str, Any]:
    a = ev.args
    amount, queries = int(a["amount"]), int(a["queries"])
    return {
        "order_id": int(a["order_id"]),
        "listing_id": int(a["listing_id"]),
        "buyer": a["buyer"],
        "price": str(amount),
        "state": "paid",
        "amount": str(amount),
        "collateral": str(int(a["collateral"])),
        "fee_bps": int(a["fee_bps"]),
        "queries_total": queries,
        "queries_left": queries,
        "deadline": int(a["deadline"]),
    }


def order_paid(conn: Connection, ev: StoredEvent) -> None:
    row = _order_row(ev)
    conn.execute(insert(orders).values(**row))
    if row["queries_total"] == 0:  # an ownership sale is pending; a use-right listing keeps selling
        _close_listing(conn, row["listing_id"], "pending")


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


_LISTING_COLUMNS = (
    "listing_id",
    "token_id",
    "seller",
    "price",
    "state",
    "kind",
    "pricing",
    "collateral",
    "payment_token",
)
_ORDER_COLUMNS = (
    "order_id",
    "listing_id",
    "buyer",
    "price",
    "state",
    "amount",
    "collateral",
    "fee_bps",
    "queries_total",
    "queries_left",
    "deadline",
)
_OFF_OFFER = "listing_id = NULL, price = NULL, price_eth = NULL, sale_kind = NULL, pricing = NULL, payment_token = NULL"
_CLEAR_OFFER = (
    f"UPDATE datasets SET {_OFF_OFFER} "
    "WHERE token_id = (SELECT token_id FROM listings WHERE listing_id = ?) AND listing_id = ?"
)
_CLEAR_OFFERS = (  # PostgreSQL: every listing at once; a dataset points at one listing, so at most one row matches
    f"UPDATE datasets SET {_OFF_OFFER} FROM listings, unnest(%s::BIGINT[]) AS v(listing_id) "
    "WHERE listings.listing_id = v.listing_id AND datasets.token_id = listings.token_id "
    "AND datasets.listing_id = v.listing_id"
)
_LISTING_COLUMNS_OFFER = ("listing_id", "price", "price_eth", "sale_kind", "pricing", "payment_token")
_PUT_ON_OFFER = KeyedUpdate("datasets", _LISTING_COLUMNS_OFFER, ("token_id",))
_PENDING = KeyedUpdate("listings", (), ("listing_id",), fixed="state = 'pending'")
_CANCELLED = KeyedUpdate("listings", (), ("listing_id",), fixed="state = 'cancelled'")
_DELIVERED = KeyedUpdate("orders", ("delivery_hash", "deadline"), ("order_id",), fixed="state = 'delivered'")


def _clear_offers(conn: Connection, listing_ids: Sequence[int]) -> None:
    """The datasets that point at one of ``listing_ids`` are no longer on offer (see :func:`_close_listing`)."""
    if conn.dialect.name == "postgresql":
        execute_arrays(conn, _CLEAR_OFFERS, [(lid,) for lid in listing_ids])
    else:
        execute_rows(conn, _CLEAR_OFFER, [(lid, lid) for lid in listing_ids])


def listed_many(conn: Connection, evs: Sequence[StoredEvent]) -> None:
    """Batch form of :func:`listed`."""
    rows = [_listing_row(ev) for ev in evs]
    insert_rows(conn, "listings", _LISTING_COLUMNS, [tuple(row[c] for c in _LISTING_COLUMNS) for row in rows])
    _PUT_ON_OFFER.run(
        conn,
        [(*(offer[c] for c in _LISTING_COLUMNS_OFFER), row["token_id"]) for row in rows for offer in (_on_offer(row),)],
    )


def orders_paid(conn: Connection, evs: Sequence[StoredEvent]) -> None:
    """Batch form of :func:`order_paid`."""
    rows = [_order_row(ev) for ev in evs]
    insert_rows(conn, "orders", _ORDER_COLUMNS, [tuple(row[c] for c in _ORDER_COLUMNS) for row in rows])
    pending = [row["listing_id"] for row in rows if row["queries_total"] == 0]
    _PENDING.run(conn, [(lid,) for lid in pending])
    _clear_offers(conn, pending)


def listings_cancelled(conn: Connection, evs: Sequence[StoredEvent]) -> None:
    """Batch form of :func:`listing_cancelled`."""
    closed = [int(ev.args["listing_id"]) for ev in evs]
    _CANCELLED.run(conn, [(lid,) for lid in closed])
    _clear_offers(conn, closed)


def delivered_many(conn: Connection, evs: Sequence[StoredEvent]) -> None:
    """Batch form of :func:`delivered`."""
    _DELIVERED.run(
        conn, [(ev.args["delivery_hash"], int(ev.args["confirm_deadline"]), int(ev.args["order_id"])) for ev in evs]
    )


def _listing_keys(ev: StoredEvent) -> tuple[Hashable, ...]:
    """A listing touches its own row and its dataset's (whose current listing it becomes)."""
    return ("listing", int(ev.args["listing_id"])), ("dataset", int(ev.args["token_id"]))


def _order_keys(ev: StoredEvent) -> tuple[Hashable, ...]:
    """A payment touches its order and, closing an ownership sale, its listing and the dataset that points at it
    (only a listing's own events set or clear that pointer, so the listing's key covers it)."""
    return ("order", int(ev.args["order_id"])), ("listing", int(ev.args["listing_id"]))


def _listing_key(ev: StoredEvent) -> tuple[Hashable, ...]:
    """Closing a listing touches its row and the dataset that points at it (see :func:`_order_keys`)."""
    return (("listing", int(ev.args["listing_id"])),)


def _delivery_keys(ev: StoredEvent) -> tuple[Hashable, ...]:
    return (("order", int(ev.args["order_id"])),)


PROJECTION = ContractProjection(
    "Market",
    handlers={
        "Listed": listed,
        "AuctionOpened": auction_opened,
        "AuctionExtended": auction_extended,
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
    batched={
        "Listed": Batched(listed_many, _listing_keys),
        "ListingCancelled": Batched(listings_cancelled, _listing_key),
        "OrderPaid": Batched(orders_paid, _order_keys),
        "Delivered": Batched(delivered_many, _delivery_keys),
    },
)
