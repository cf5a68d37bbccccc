"""Consent events in the index (the shopping-cart paper's consents, accesses and refusals): each consent becomes a
``consents`` row (subject, category, consumer organisation, DPV purpose, expiry, reward; revoked by
``ConsentRevoked``), and every access recorded (``AccessRecorded``, with the reward paid) or refused
(``AccessRefused``, with its reason) a ``consent_accesses`` row: the transparency dashboard's timeline. Deposits
and withdrawals stay in the ``events`` table."""

from __future__ import annotations

from sqlalchemy import Connection, insert, update

from datagora.index.projections.base import ContractProjection, StoredEvent
from datagora.index.projections.streams import event_time
from datagora.index.schema import consent_accesses, consents


def consent_granted(conn: Connection, ev: StoredEvent) -> None:
    a = ev.args
    conn.execute(
        insert(consents).values(
            consent_id=int(a["consent_id"]),
            subject=a["subject"],
            organisation_id=int(a["organisation_id"]),
            category=a["category"],
            purpose=a["purpose"],
            purpose_hash=a["purpose_hash"],
            expiry=int(a["expiry"]),
            reward=str(int(a["reward"])),
            state="active",
            granted_at=event_time(conn, ev),
            granted_tx=ev.tx_hash,
        )
    )


def consent_revoked(conn: Connection, ev: StoredEvent) -> None:
    conn.execute(
        update(consents)
        .where(consents.c.consent_id == int(ev.args["consent_id"]))
        .values(state="revoked", revoked_at=event_time(conn, ev), revoked_tx=ev.tx_hash)
    )


def _access(conn: Connection, ev: StoredEvent, reward: int, refusal: int | None) -> None:
    a = ev.args
    conn.execute(
        insert(consent_accesses).values(
            block_number=ev.block_number,
            log_index=ev.log_index,
            consent_id=int(a["consent_id"]),
            consumer=a["consumer"],
            subject=a["subject"],
            item_id=int(a["item_id"]),
            purpose_hash=a["purpose_hash"],
            reward=str(reward),
            refusal=refusal,
            at=event_time(conn, ev),
            tx_hash=ev.tx_hash,
        )
    )


def access_recorded(conn: Connection, ev: StoredEvent) -> None:
    _access(conn, ev, int(ev.args["reward"]), None)


def access_refused(conn: Connection, ev: StoredEvent) -> None:
    _access(conn, ev, 0, int(ev.args["reason"]))


PROJECTION = ContractProjection(
    "Consent",
    handlers={
        "ConsentGranted": consent_granted,
        "ConsentRevoked": consent_revoked,
        "AccessRecorded": access_recorded,
        "AccessRefused": access_refused,
    },
    ignored=frozenset({"Deposited", "DepositWithdrawn", "Withdrawn"}),
)
