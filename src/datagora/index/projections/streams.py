"""Streams events in the index (Shrestha et al.'s MultiChain streams): each stream becomes a ``streams`` row and
each published item a ``stream_items`` row (stream, key, publisher, hash of the encrypted item, location), marked
erased by ``ItemErased``. Subscribers (partner nodes) follow items by stream and key from these rows."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

from sqlalchemy import Connection, insert, select, update

from datagora.index.projections.base import Batched, ContractProjection, KeyedUpdate, StoredEvent, insert_rows
from datagora.index.schema import events, stream_items, streams_table


def event_time(conn: Connection, ev: StoredEvent) -> int:
    """The block timestamp (Unix seconds) of ``ev``: the one it carries, else read from its ``events`` row
    (stored before projection)."""
    if ev.timestamp is not None:
        return ev.timestamp
    found = conn.execute(
        select(events.c.timestamp).where(events.c.tx_hash == ev.tx_hash, events.c.log_index == ev.log_index)
    ).first()
    return 0 if found is None else int(found[0])


def stream_created(conn: Connection, ev: StoredEvent) -> None:
    a = ev.args
    conn.execute(insert(streams_table).values(stream_id=int(a["stream_id"]), owner=a["owner"], name=a["name"]))


def _item_row(conn: Connection, ev: StoredEvent) -> dict[str, Any]:
    a = ev.args
    return {
        "item_id": int(a["item_id"]),
        "stream_id": int(a["stream_id"]),
        "item_key": a["key"],
        "publisher": a["publisher"],
        "item_hash": a["item_hash"],
        "location": a["location"],
        "erased": 0,
        "published_at": event_time(conn, ev),
        "published_tx": ev.tx_hash,
    }


def item_published(conn: Connection, ev: StoredEvent) -> None:
    conn.execute(insert(stream_items).values(**_item_row(conn, ev)))


def item_erased(conn: Connection, ev: StoredEvent) -> None:
    conn.execute(
        update(stream_items)
        .where(stream_items.c.item_id == int(ev.args["item_id"]))
        .values(erased=1, erased_at=event_time(conn, ev), erased_tx=ev.tx_hash)
    )


_ITEM_COLUMNS = (
    "item_id",
    "stream_id",
    "item_key",
    "publisher",
    "item_hash",
    "location",
    "erased",
    "published_at",
    "published_tx",
)


def items_published(conn: Connection, evs: Sequence[StoredEvent]) -> None:
    """Batch form of :func:`item_published`."""
    rows = [_item_row(conn, ev) for ev in evs]
    insert_rows(conn, "stream_items", _ITEM_COLUMNS, [tuple(row[c] for c in _ITEM_COLUMNS) for row in rows])


def streams_created(conn: Connection, evs: Sequence[StoredEvent]) -> None:
    """Batch form of :func:`stream_created`."""
    rows = [(int(ev.args["stream_id"]), ev.args["owner"], ev.args["name"]) for ev in evs]
    insert_rows(conn, "streams", ("stream_id", "owner", "name"), rows)


_ERASE = KeyedUpdate("stream_items", ("erased_at", "erased_tx"), ("item_id",), fixed="erased = 1")


def items_erased(conn: Connection, evs: Sequence[StoredEvent]) -> None:
    """Batch form of :func:`item_erased`."""
    _ERASE.run(conn, [(event_time(conn, ev), ev.tx_hash, int(ev.args["item_id"])) for ev in evs])


def _stream_key(ev: StoredEvent) -> tuple[Hashable, ...]:
    return (("stream", int(ev.args["stream_id"])),)


def _item_key(ev: StoredEvent) -> tuple[Hashable, ...]:
    return (("stream item", int(ev.args["item_id"])),)


PROJECTION = ContractProjection(
    "Streams",
    handlers={"StreamCreated": stream_created, "ItemPublished": item_published, "ItemErased": item_erased},
    batched={
        "StreamCreated": Batched(streams_created, _stream_key),
        "ItemPublished": Batched(items_published, _item_key),
        "ItemErased": Batched(items_erased, _item_key),
    },
    ignored=frozenset({"WriterGranted", "WriterRevoked"}),
)
