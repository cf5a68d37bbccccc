"""Points events in the index: each brand with its points token (``brands``, from ``BrandRegistered``) and every
movement of a brand's points on that token (``point_transfers``, from the token's ERC-20 ``Transfer``): issued
(from the zero address), spent at a checkout (to the zero address) or transferred between holders. Balances and
tiers are kept by the contracts themselves (``balanceOf``, ``tier_of``), so the other events stay in the
``events`` table only, where the audit trail and a member's history read them."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

from sqlalchemy import Connection, insert, select

from datagora.index.projections.base import Batched, ContractProjection, StoredEvent, insert_rows
from datagora.index.projections.streams import event_time
from datagora.index.schema import ZERO_ADDRESS, brands


def brand_registered(conn: Connection, ev: StoredEvent) -> None:
    a = ev.args
    conn.execute(
        insert(brands).values(
            brand_id=int(a["brand"]),
            token=str(a["token"]).lower(),
            name=a["name"],
            symbol=a["symbol"],
            admin=str(a["admin"]).lower(),
            registered_block=ev.block_number,
        )
    )


def _kind(sender: str, receiver: str) -> str:
    if sender == ZERO_ADDRESS:
        return "issued"
    return "spent" if receiver == ZERO_ADDRESS else "transfer"


_TRANSFER_COLUMNS = ("block_number", "log_index", "brand_id", "sender", "receiver", "amount", "kind", "at", "tx_hash")


def _transfer_row(conn: Connection, ev: StoredEvent, brand: int) -> tuple[Any, ...]:
    sender, receiver = str(ev.args["sender"]).lower(), str(ev.args["receiver"]).lower()
    at = ev.timestamp if ev.timestamp is not None else event_time(conn, ev)
    amount = str(int(ev.args["value"]))
    return (ev.block_number, ev.log_index, brand, sender, receiver, amount, _kind(sender, receiver), at, ev.tx_hash)


def points_moved_batch(conn: Connection, evs: Sequence[StoredEvent]) -> None:
    """Brand tokens' ``Transfer`` events: one ``point_transfers`` row each, its brand found by the token's
    address (an event of a token no brand registered derives nothing). One read of the brands, one insert."""
    tokens = {ev.address.lower() for ev in evs}
    found = conn.execute(select(brands.c.token, brands.c.brand_id).where(brands.c.token.in_(tokens))).all()
    brand_of = {str(token): int(brand) for token, brand in found}
    rows = [_transfer_row(conn, ev, brand_of[ev.address.lower()]) for ev in evs if ev.address.lower() in brand_of]
    insert_rows(conn, "point_transfers", _TRANSFER_COLUMNS, rows)


def points_moved(conn: Connection, ev: StoredEvent) -> None:
    """A brand token's ``Transfer`` (see :func:`points_moved_batch`)."""
    points_moved_batch(conn, [ev])


def _no_keys(_: StoredEvent) -> tuple[Hashable, ...]:
    return ()  # inserts only, each its own row; the brand it reads was registered by an earlier (unbatched) event


PROJECTION = ContractProjection(
    "Points",
    handlers={"BrandRegistered": brand_registered},
    ignored=frozenset(
        {
            "IssuerSet",
            "PointsIssued",
            "PointsSpent",
            "PointValueSet",
            "TierUpdated",
            "OwnershipTransferred",
        }
    ),
    creates={"BrandRegistered": ("BrandPoints", "token")},
)

BRAND_POINTS_PROJECTION = ContractProjection(
    "BrandPoints",
    handlers={"Transfer": points_moved},
    batched={"Transfer": Batched(points_moved_batch, _no_keys)},
    ignored=frozenset({"Approval", "OwnershipTransferred", "RoleMinterChanged"}),
)
"""The brand tokens' ERC-20 events: the deployment holds only their blueprint, which emits none; the indexer
fetches each brand's token from the ``BrandRegistered`` that created it (:attr:`ContractProjection.creates`)."""
