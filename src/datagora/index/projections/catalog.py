"""Catalog events in the index: each published dataset becomes a ``datasets`` row (and, on SQLite, a row of the
full-text table ``datasets_fts``); a data-NFT transfer between accounts changes the row's owner (ERC-721); a
dataset its owner retired leaves both tables (its ``DatasetPublished`` and ``Retired`` events stay in ``events``
for the audit trail, and its listings and orders keep their rows)."""

from __future__ import annotations

from sqlalchemy import Connection, delete, insert, select, text, update

from datagora.index.projections.base import ContractProjection, StoredEvent
from datagora.index.schema import ZERO_ADDRESS, datasets


def dataset_published(conn: Connection, ev: StoredEvent) -> None:
    a = ev.args
    row = {
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
    conn.execute(insert(datasets).values(**row))
    if conn.dialect.name == "sqlite":
        conn.execute(
            text("INSERT INTO datasets_fts(rowid, name, domain, attributes) VALUES (:id, :n, :d, :a)"),
            {"id": row["token_id"], "n": row["name"], "d": row["domain"], "a": row["attributes"]},
        )


def transfer(conn: Connection, ev: StoredEvent) -> None:
    """A transfer from an account (a mint, from the zero address, is the publication itself). Custody by a
    contract of the set (the market's escrow) is not ownership."""
    a = ev.args
    if a.get("sender") == ZERO_ADDRESS:
        return
    receiver = str(a["receiver"])
    if receiver.lower() in ev.set_addresses:
        return
    conn.execute(update(datasets).where(datasets.c.token_id == int(a["token_id"])).values(owner=receiver))


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


PROJECTION = ContractProjection(
    "Catalog",
    handlers={"DatasetPublished": dataset_published, "Transfer": transfer, "Retired": retired},
    ignored=frozenset({"Approval", "ApprovalForAll", "OwnershipTransferred", "RoleGranted", "RoleRevoked"}),
)
