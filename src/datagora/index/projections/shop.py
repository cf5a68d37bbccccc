"""Shop events in the index: one ``shop_orders`` row per cart order (``OrderPaid``), updated on delivery
(``OrderDelivered``) and settlement (``Settled``: confirmed, released or refunded, with each side's credit).
Terms and bond changes derive no row (the shop's pages read terms and bond from the contract)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, update

from datagora.domain.models import Outcome
from datagora.index.projections.base import ContractProjection, StoredEvent
from datagora.index.schema import shop_orders


def _set(conn: Connection, order_hash: str, **values: Any) -> None:
    conn.execute(update(shop_orders).where(shop_orders.c.order_hash == order_hash.lower()).values(**values))


def paid(conn: Connection, ev: StoredEvent) -> None:
    a = ev.args
    conn.execute(
        insert(shop_orders).values(
            order_hash=str(a["order_hash"]).lower(),
            buyer=str(a["buyer"]).lower(),
            seller=str(a["seller"]).lower(),
            amount=str(int(a["amount"])),
            collateral=str(int(a["collateral"])),
            state="paid",
            deadline=int(a["deadline"]),
            paid_block=ev.block_number,
            paid_tx=ev.tx_hash,
        )
    )


def delivered(conn: Connection, ev: StoredEvent) -> None:
    a = ev.args
    _set(
        conn,
        str(a["order_hash"]),
        state="delivered",
        delivery_hash=str(a["delivery_hash"]).lower(),
        deadline=int(a["confirm_deadline"]),
    )


def settled(conn: Connection, ev: StoredEvent) -> None:
    a = ev.args
    outcome = Outcome(int(a["outcome"]))
    _set(
        conn,
        str(a["order_hash"]),
        state="refunded" if outcome is Outcome.NOT_DELIVERED else "completed",
        outcome=outcome.name.lower().replace("_", "-"),
        seller_credit=str(int(a["seller_credit"])),
        buyer_credit=str(int(a["buyer_credit"])),
        bond_returned=str(int(a["bond_returned"])),
    )


PROJECTION = ContractProjection(
    "Shop",
    handlers={"OrderPaid": paid, "OrderDelivered": delivered, "Settled": settled},
    ignored=frozenset({"ShopTermsSet", "BondDeposited", "BondWithdrawn", "Withdrawn"}),
)
