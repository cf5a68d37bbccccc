"""Catalog events in the index: each published dataset becomes a ``datasets`` row (and, on SQLite, a row of the
full-text table ``datasets_fts``); a data-NFT transfer between accounts changes the row's owner (ERC-721); a
dataset its owner retired leaves both tables (its ``DatasetPublished`` and ``Retired`` events stay in ``events``
for the audit trail, and its listings and orders keep their rows)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

from sqlalchemy import Connection, delete, insert, select, text, update

from datagora.index.projections.base import (
    Batched,
    ContractProjection,
    KeyedUpdate,
    StoredEvent,
    execute_rows,
    insert_rows,
)
from datagora.index.schema import ZERO_ADDRESS, datasets


def _published_row(ev: StoredEvent) -> dict[str, Any]:
    a = ev.args
    return {
        "token_id": int(a["token_id"]),
        "owner": a["owner"],
        "publisher": a["owner"],
        "name": a["name"],
        "domain": a["domain"],
        "attributes": a["attributes"],
        "size": int(a["size"]),
        "content_hash": bytes.fromhex(a["content_hash"][2:]),
        "dcat_hash": bytes.fromhex(a["dcat_hash"][2:]),
        "published_block": ev.block_number,
        "published_tx": ev.tx_hash,
    }


def dataset_published(conn: Connection, ev: StoredEvent) -> None:
    row = _published_row(ev)
    conn.execute(insert(datasets).values(**row))
    if conn.dialect.name == "sqlite":
        conn.execute(
            text("INSERT INTO datasets_fts(rowid, name, domain, attributes) VALUES (:id, :n, :d, :a)"),
            {"id": row["token_id"], "n": row["name"], "d": row["domain"], "a": row["attributes"]},
        )


def _new_owner(ev: StoredEvent) -> str | None:
    """The dataset's new owner after a ``Transfer``, or None when the transfer changes no owner: a mint (from the
    zero address) is the publication itself, and custody by a contract of the set (the market's escrow) is not
    ownership."""
    a = ev.args
    if a.get("sender") == ZERO_ADDRESS:
        return None
    receiver = str(a["receiver"])
    return None if receiver.lower() in ev.set_addresses else receiver


def transfer(conn: Connection, ev: StoredEvent) -> None:
    """A transfer from an account changes the dataset's owner (see :func:`_new_owner`)."""
    receiver = _new_owner(ev)
    if receiver is not None:
        conn.execute(update(datasets).where(datasets.c.token_id == int(ev.args["token_id"])).values(owner=receiver))


def retired(conn: Connection, ev: StoredEvent) -> None:
    """``Retired``: the dataset is off the market for good, so search no longer finds it."""
    token_id = int(ev.args["token_id"])
    if conn.dialect.name == "sqlite":  # an external-content FTS5 row is removed with its old values
        row = conn.execute(
            select(datasets.c.name, datasets.c.domain, datasets.c.attributes).where(datasets.c.token_id == token_id)
        ).first()
        if row is not None:
            conn.execute(
                text(
                    "INSERT INTO datasets_fts(datasets_fts, rowid, name, domain, attributes) "
                    "VALUES ('delete', :id, :n, :d, :a)"
                ),
                {"id": token_id, "n": row.name, "d": row.domain, "a": row.attributes},
            )
    conn.execute(delete(datasets).where(datasets.c.token_id == token_id))


_DATASET_COLUMNS = (
    "token_id",
    "owner",
    "publisher",
    "name",
    "domain",
    "attributes",
    "size",
    "content_hash",
    "dcat_hash",
    "published_block",
    "published_tx",
)


def datasets_published(conn: Connection, evs: Sequence[StoredEvent]) -> None:
    """Batch form of :func:`dataset_published`: one insert per table for the whole run."""
    rows = [_published_row(ev) for ev in evs]
    insert_rows(conn, "datasets", _DATASET_COLUMNS, [tuple(row[c] for c in _DATASET_COLUMNS) for row in rows])
    if conn.dialect.name == "sqlite":
        execute_rows(
            conn,
            "INSERT INTO datasets_fts(rowid, name, domain, attributes) VALUES (?, ?, ?, ?)",
            [(row["token_id"], row["name"], row["domain"], row["attributes"]) for row in rows],
        )


_SET_OWNER = KeyedUpdate("datasets", ("owner",), ("token_id",))


def transfers(conn: Connection, evs: Sequence[StoredEvent]) -> None:
    """Batch form of :func:`transfer`: the owner changes, in chain order, in one statement."""
    changes = [(owner, int(ev.args["token_id"])) for ev in evs if (owner := _new_owner(ev)) is not None]
    _SET_OWNER.run(conn, changes)


def _dataset_key(ev: StoredEvent) -> tuple[Hashable, ...]:
    return (("dataset", int(ev.args["token_id"])),)


def _owner_key(ev: StoredEvent) -> tuple[Hashable, ...]:
    """A mint or a move into custody touches no row; a transfer between accounts touches its dataset's."""
    return () if _new_owner(ev) is None else _dataset_key(ev)


PROJECTION = ContractProjection(
    "Catalog",
    handlers={"DatasetPublished": dataset_published, "Transfer": transfer, "Retired": retired},
    batched={
        "DatasetPublished": Batched(datasets_published, _dataset_key),
        "Transfer": Batched(transfers, _owner_key),
    },
    ignored=frozenset({"Approval", "ApprovalForAll", "OwnershipTransferred", "RoleGranted", "RoleRevoked"}),
)
