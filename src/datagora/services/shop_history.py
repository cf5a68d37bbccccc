"""The shop's orders fed into each customer's purchase-history stream (Shrestha, Joshi, Vassileva, *Customer Data
Sharing Platform: A Blockchain-Based Shopping Cart*: the shop records each purchase in the customer's profile,
kept encrypted off-chain, and publishes it in a stream partners subscribe to).

Once an order is paid on chain (``Shop.OrderPaid`` in the shop node's index), the shop node appends its lines to
the customer's purchase history (a schema.org ``ItemList`` of ``Order``, JSON-LD) and publishes the new version
with :func:`datagora.services.streams.publish_customer`: encrypted under the customer's purchase-history data key,
its SHA-256 in ``Streams``. A partner holding the customer's consent for ``purchase-history`` then receives the
newest history (``consent.request`` on the newest item).

What the node keeps to know which orders it fed: per customer, the order hashes included in the published history
and those left out because the customer erased their purchase history; per shop, a cursor (the newest block whose
orders were all fed, and that block's hash), so each feed reads only the orders paid after it and the histories
of the customers they belong to. No product, price or date is kept outside the encrypted documents; after an
erasure the next order starts a new history without the erased orders.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from datagora.crypto.keys import checksum_address
from datagora.domain.errors import NotFoundError
from datagora.services import streams
from datagora.services.participant import Participant
from datagora.services.shop import WEI_PER_ETH, OrderView, ShopService

if TYPE_CHECKING:
    from datagora.services.node import Node

log = logging.getLogger(__name__)

FED_KIND: Final = "purchase-history-fed"
"""Records (one per customer) of the order hashes in the published purchase history and those erased."""
CURSOR_KIND: Final = "purchase-history-cursor"
"""Records (one per shop address) of the newest block whose paid orders were all fed: ``{"block", "hash"}``."""
FED_STATES: Final = frozenset({"paid", "delivered", "completed", "refunded"})
"""Order states that count as a purchase: paid at some point (a refund later does not unmake the purchase)."""

_LOCK = threading.Lock()


def stream_name(seller: str) -> str:
    """The name of the stream a shop publishes its customers' profiles in: ``shop-customers/<seller address>``."""
    return f"shop-customers/{seller.lower()}"


@dataclass(frozen=True)
class HistoryUpdate:
    """One customer's purchase history published anew: the orders it added (hashes, 0x-hex) and its item."""

    customer: str
    added: tuple[str, ...]
    orders: int
    item: streams.PublishedItem


def _record(participant: Participant, customer: str) -> dict[str, list[str]]:
    try:
        raw = participant.load_record(FED_KIND, customer.lower())
    except NotFoundError:
        return {"included": [], "excluded": []}
    return {"included": list(raw.get("included", [])), "excluded": list(raw.get("excluded", []))}


def purchases_of(view: OrderView) -> list[dict[str, Any]]:
    """The schema.org ``Order`` terms of one order, one entry per cart line (``price``: the line's subtotal in ETH
    as text; ``orderDate``: ISO 8601 UTC of the payment's block)."""
    when = datetime.fromtimestamp(view.paid_at, UTC).isoformat() if view.paid_at else ""
    out: list[dict[str, Any]] = []
    for sku, name, quantity, unit_price in view.lines:
        out.append(
            {
                "orderNumber": view.order_hash,
                "orderDate": when,
                "price": format(Decimal(unit_price * quantity) / WEI_PER_ETH, "f"),
                "priceCurrency": "ETH",
                "product": name,
                "sku": sku,
                "quantity": quantity,
            }
        )
    return out


def _cursor(service: ShopService, participant: Participant) -> int | None:
    """The block after which the shop's orders are still to feed: the stored cursor while the index still holds
    that block with the same hash, None (read every order) before the first feed or after a reorganisation
    replaced the block."""
    from sqlalchemy import select

    from datagora.index.schema import blocks

    try:
        stored = participant.load_record(CURSOR_KIND, service.address.lower())
    except NotFoundError:
        return None
    if service.engine is None:
        return None
    with service.engine.connect() as conn:
        found = conn.execute(select(blocks.c.hash).where(blocks.c.number == int(stored["block"]))).scalar()
    return int(stored["block"]) if found == stored["hash"] else None


def _save_cursor(service: ShopService, participant: Participant, block: int) -> None:
    from sqlalchemy import select

    from datagora.index.schema import blocks

    assert service.engine is not None  # orders were read from it
    with service.engine.connect() as conn:
        block_hash = conn.execute(select(blocks.c.hash).where(blocks.c.number == block)).scalar()
    if block_hash is not None:
        participant.save_record(CURSOR_KIND, service.address.lower(), {"block": block, "hash": block_hash})


def feed(service: ShopService, participant: Participant) -> list[HistoryUpdate]:
    """Append every paid order not fed yet to its customer's purchase history and publish each changed history
    (one stream item per customer). Reads the shop's orders from the node's index: sync it first. Orders this
    node did not quote (no lines) are skipped. Idempotent: an order is fed once.

    Incremental: reads only the orders paid after the shop's cursor (see :data:`CURSOR_KIND`), then, for each
    customer with a new order, that customer's orders already in the history (the new version holds them all).
    A feed with no new order reads no order and publishes nothing; the cursor lives in the node's home, so a
    restarted node resumes from it.

    Returns:
        One :class:`HistoryUpdate` per customer whose history was published.

    Raises:
        TransactionReverted: "streams: not audited" (the shop's organisation is not audited) or another
            ``Streams`` refusal; the cursor stays where it was, so the next call tries the customers not
            published yet again (those published are not published twice).
    """
    with _LOCK:
        fresh = service.orders(after_block=_cursor(service, participant))  # newest first
        if not fresh:
            return []
        by_customer: dict[str, list[OrderView]] = {}
        for view in reversed(fresh):  # oldest first
            if view.state in FED_STATES and view.lines:
                by_customer.setdefault(view.buyer.lower(), []).append(view)
        updates: list[HistoryUpdate] = []
        stream_id: int | None = None
        for customer, views in by_customer.items():
            record = _record(participant, customer)
            known = set(record["included"]) | set(record["excluded"])
            added = [v for v in views if v.order_hash not in known]
            if not added:
                continue
            earlier = service.orders(order_hashes=record["included"]) if record["included"] else []
            history = {v.order_hash: v for v in reversed(earlier) if v.state in FED_STATES and v.lines}
            history.update((v.order_hash, v) for v in added)
            ordered = sorted(history.values(), key=lambda v: v.paid_block)  # stable: oldest first
            purchases = [p for v in ordered for p in purchases_of(v)]
            if stream_id is None:
                stream_id, _ = streams.open_stream(service.contracts, service.seller, stream_name(service.address))
            (item,) = streams.publish_customer(
                service.contracts, participant, stream_id, checksum_address(customer), purchases=purchases
            )
            included = set(record["included"]) | {v.order_hash for v in added}
            record["included"] = sorted(included)
            participant.save_record(FED_KIND, customer, record)
            updates.append(HistoryUpdate(customer, tuple(v.order_hash for v in added), len(included), item))
        _save_cursor(service, participant, max(v.paid_block for v in fresh))
        return updates


def forget(participant: Participant, customer: str) -> None:
    """After the customer erased their purchase history: the orders in it are left out of every later version
    (a new order starts a new history)."""
    with _LOCK:
        record = _record(participant, customer)
        if not record["included"]:
            return
        record["excluded"] = sorted(set(record["excluded"]) | set(record["included"]))
        record["included"] = []
        participant.save_record(FED_KIND, customer.lower(), record)


def after_sync(node: Node) -> list[HistoryUpdate]:
    """What a shop node does after each index sync: :func:`feed`, signing as the node's operator. Nothing on a
    node that is not a shop. Errors are logged, not raised (the next sync tries again)."""
    if node.shop is None:
        return []
    try:
        with node.acting():
            return feed(node.shop, node.participant)
    except Exception:  # keep the node serving; the orders stay unfed until the next sync
        log.exception("feeding paid orders into purchase histories failed")
        return []
