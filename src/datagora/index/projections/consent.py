"""Consent events in the index (the shopping-cart paper's consents, accesses and refusals): each consent becomes a
``consents`` row (subject, category, consumer organisation, DPV purpose, expiry, reward; revoked by
``ConsentRevoked``), and every access recorded (``AccessRecorded``, with the reward paid) or refused
(``AccessRefused``, with its reason) a ``consent_accesses`` row: the transparency dashboard's timeline. Deposits
and withdrawals stay in the ``events`` table."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

from sqlalchemy import Connection, insert, update

from datagora.index.projections.base import Batched, ContractProjection, KeyedUpdate, StoredEvent, insert_rows
from datagora.index.projections.streams import event_time
from datagora.index.schema import consent_accesses, consents


def _consent_row(conn: Connection, ev: StoredEvent) -> dict[str, Any]:
    a = ev.args
    return {
        "consent_id": int(a["consent_id"]),
        "subject": a["subject"],
        "organisation_id": int(a["organisation_id"]),
        "category": a["category"],
        "purpose": a["purpose"],
        "purpose_hash": a["purpose_hash"],
        "expiry": int(a["expiry"]),
        "reward": str(int(a["reward"])),
        "state": "active",
        "granted_at": event_time(conn, ev),
        "granted_tx": ev.tx_hash,
    }


def consent_granted(conn: Connection, ev: StoredEvent) -> None:
    conn.execute(insert(consents).values(**_consent_row(conn, ev)))


def consent_revoked(conn: Connection, ev: StoredEvent) -> None:
    conn.execute(
        update(consents)
        .where(consents.c.consent_id == int(ev.args["consent_id"]))
        .values(state="revoked", revoked_at=event_time(conn, ev), revoked_tx=ev.tx_hash)
    )


def _access_row(conn: Connection, ev: StoredEvent) -> dict[str, Any]:
    """An access recorded (with the reward paid) or refused (reward 0, with the reason)."""
    a = ev.args
    refused = ev.name == "AccessRefused"
    return {
        "block_number": ev.block_number,
        "log_index": ev.log_index,
        "consent_id": int(a["consent_id"]),
        "consumer": a["consumer"],
        "subject": a["subject"],
        "item_id": int(a["item_id"]),
        "purpose_hash": a["purpose_hash"],
        "reward": "0" if refused else str(int(a["reward"])),
        "refusal": int(a["reason"]) if refused else None,
        "at": event_time(conn, ev),
        "tx_hash": ev.tx_hash,
    }


def _access(conn: Connection, ev: StoredEvent) -> None:
    conn.execute(insert(consent_accesses).values(**_access_row(conn, ev)))


def access_recorded(conn: Connection, ev: StoredEvent) -> None:
    _access(conn, ev)


def access_refused(conn: Connection, ev: StoredEvent) -> None:
    _access(conn, ev)


_CONSENT_COLUMNS = (
    "consent_id",
    "subject",
    "organisation_id",
    "category",
    "purpose",
    "purpose_hash",
    "expiry",
    "reward",
    "state",
    "granted_at",
    "granted_tx",
)
_ACCESS_COLUMNS = (
    "block_number",
    "log_index",
    "consent_id",
    "consumer",
    "subject",
    "item_id",
    "purpose_hash",
    "reward",
    "refusal",
    "at",
    "tx_hash",
)


def consents_granted(conn: Connection, evs: Sequence[StoredEvent]) -> None:
    """Batch form of :func:`consent_granted`."""
    rows = [_consent_row(conn, ev) for ev in evs]
    insert_rows(conn, "consents", _CONSENT_COLUMNS, [tuple(row[c] for c in _CONSENT_COLUMNS) for row in rows])


_REVOKE = KeyedUpdate("consents", ("revoked_at", "revoked_tx"), ("consent_id",), fixed="state = 'revoked'")


def consents_revoked(conn: Connection, evs: Sequence[StoredEvent]) -> None:
    """Batch form of :func:`consent_revoked`."""
    _REVOKE.run(conn, [(event_time(conn, ev), ev.tx_hash, int(ev.args["consent_id"])) for ev in evs])


def accesses(conn: Connection, evs: Sequence[StoredEvent]) -> None:
    """Batch form of :func:`access_recorded` and :func:`access_refused`: rows of their own, read by no other
    handler."""
    rows = [_access_row(conn, ev) for ev in evs]
    insert_rows(conn, "consent_accesses", _ACCESS_COLUMNS, [tuple(row[c] for c in _ACCESS_COLUMNS) for row in rows])


def _consent_key(ev: StoredEvent) -> tuple[Hashable, ...]:
    return (("consent", int(ev.args["consent_id"])),)


def _no_keys(ev: StoredEvent) -> tuple[Hashable, ...]:
    """An access inserts its own row (keyed by its position on chain) and reads none."""
    return ()


PROJECTION = ContractProjection(
    "Consent",
    handlers={
        "ConsentGranted": consent_granted,
        "ConsentRevoked": consent_revoked,
        "AccessRecorded": access_recorded,
        "AccessRefused": access_refused,
    },
    ignored=frozenset({"Deposited", "DepositWithdrawn", "Withdrawn"}),
    batched={
        "ConsentGranted": Batched(consents_granted, _consent_key),
        "ConsentRevoked": Batched(consents_revoked, _consent_key),
        "AccessRecorded": Batched(accesses, _no_keys),
        "AccessRefused": Batched(accesses, _no_keys),
    },
)
