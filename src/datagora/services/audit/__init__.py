"""The audit trail read back from the node's event index: who did what, to which record, when, in which
transaction (Shrestha et al.: "who shared what, with whom, when"; EntDSM step 9: the supervisor reviews every
record).

Each contract's events read through one module of this package (``services/audit/<contract>.py`` exporting
``TEXTS``), registered in :data:`TEXTS` below: a new contract adds its module and one line there.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from datagora.chain.contracts import Contracts
from datagora.domain.models import ChainEvent
from datagora.index import EventIndexer, open_engine
from datagora.services.audit import (
    anchors,
    catalog,
    collaboration,
    compute_jobs,
    consent,
    market,
    points,
    registry,
    reputation,
    reward_token,
    shop,
    streams,
    use_rights,
)
from datagora.services.audit.base import ContractTexts, Trail, register

TEXTS: dict[str, ContractTexts] = register(
    registry.TEXTS,
    catalog.TEXTS,
    market.TEXTS,
    use_rights.TEXTS,
    reputation.TEXTS,
    reward_token.TEXTS,
    streams.TEXTS,
    consent.TEXTS,
    shop.TEXTS,
    points.BRAND_POINTS_TEXTS,
    points.TEXTS,
    compute_jobs.TEXTS,
    collaboration.TEXTS,
    anchors.TEXTS,
)
"""The registered audit texts by contract name (the deployment manifest's names)."""


@dataclass(frozen=True)
class AuditRecord:
    """One line of the trail: ``actor`` address, ``action`` (the event name), a readable ``detail``,
    block ``timestamp`` (Unix seconds), ``block_number``, ``tx_hash``, the emitting ``contract`` and the event's
    ``log_index`` in its block (with the block, where to check the row on chain)."""

    actor: str
    action: str
    detail: str
    timestamp: int
    block_number: int
    tx_hash: str
    contract: str
    log_index: int = 0


def unaccounted(contract: str, events: set[str] | frozenset[str]) -> set[str]:
    """The names among ``events`` (a contract's ABI) that the texts of ``contract`` neither describe nor declare
    housekeeping; every one of them when no texts are registered for ``contract``."""
    texts = TEXTS.get(contract)
    return set(events) if texts is None else set(events) - texts.events


def _texts(ev: ChainEvent) -> ContractTexts:
    return TEXTS.get(ev.contract) or ContractTexts(ev.contract, describe={})


def _learn(trail: Trail, ev: ChainEvent) -> None:
    texts = _texts(ev)
    learn = texts.learn.get(ev.name)
    if learn is not None:
        learn(trail, texts.args(ev))


def _parties(trail: Trail, ev: ChainEvent) -> set[str]:
    """Accounts ``ev`` concerns without naming them, lower-case (a settlement concerns buyer and seller, a
    ruling also the platform)."""
    texts = _texts(ev)
    parties = texts.parties.get(ev.name)
    found = set() if parties is None else parties(trail, texts.args(ev))
    return {p.lower() for p in found if p}


class _Subject:
    """The filters of one trail: an organisation (events naming it or one of its members at the time), a
    dataset (its listings, offers and orders) and/or an account, combined with AND."""

    def __init__(self, organisation_id: int | None, token_id: int | None, account: str | None) -> None:
        self.organisation_id = organisation_id
        self.token_id = token_id
        self.account = account.lower() if account else None

    @staticmethod
    def _addresses(ev: ChainEvent) -> set[str]:
        return {v.lower() for v in ev.args.values() if isinstance(v, str) and len(v) == 42 and v.startswith("0x")}

    def _of_dataset(self, a: dict[str, Any], trail: Trail) -> bool:
        """Whether the event names the dataset, one of its listings, or an order or offer on one."""
        if a.get("token_id") == self.token_id:
            return True
        listing_ids = []
        if "listing_id" in a:
            listing_ids.append(int(a["listing_id"]))
        if "order_id" in a and int(a["order_id"]) in trail.orders:
            listing_ids.append(trail.orders[int(a["order_id"])][0])
        if "offer_id" in a and int(a["offer_id"]) in trail.offers:
            listing_ids.append(trail.offers[int(a["offer_id"])][0])
        return any(i in trail.listings and trail.listings[i][1] == self.token_id for i in listing_ids)

    def matches(self, ev: ChainEvent, trail: Trail) -> bool:
        """Whether ``ev`` passes every filter. An event that names no account (a settlement, a counter-offer)
        concerns the parties of its order, offer or listing."""
        a = ev.args
        addresses = self._addresses(ev) | _parties(trail, ev)
        if self.organisation_id is not None and not (
            a.get("organisation_id") == self.organisation_id
            or addresses & trail.members.get(self.organisation_id, set())
        ):
            return False
        if self.token_id is not None and not self._of_dataset(a, trail):
            return False
        return self.account is None or self.account in addresses


def describe_events(
    events: Iterable[ChainEvent],
    *,
    include_token_transfers: bool = False,
    organisation_id: int | None = None,
    token_id: int | None = None,
    account: str | None = None,
    since: int | None = None,
    until: int | None = None,
) -> list[AuditRecord]:
    """``events`` (in chain order, arguments as decoded or in the index's JSON form) as :class:`AuditRecord`
    rows; filters as in :func:`audit_trail`."""
    filtered = organisation_id is not None or token_id is not None or account is not None
    subject = _Subject(organisation_id, token_id, account) if filtered else None
    trail = Trail()
    out = []
    for ev in events:
        texts = _texts(ev)
        _learn(trail, ev)
        if subject is not None and not subject.matches(ev, trail):
            continue
        if not include_token_transfers and texts.is_housekeeping(ev):
            continue
        if (since is not None and ev.timestamp < since) or (until is not None and ev.timestamp >= until):
            continue  # after learning: a later event in range still reads its order's parties
        actor, detail = texts.text(trail, ev)
        out.append(
            AuditRecord(
                str(actor), ev.name, detail, ev.timestamp, ev.block_number, ev.tx_hash, ev.contract, ev.log_index
            )
        )
    return out


def audit_trail(
    source: EventIndexer | Contracts,
    *,
    sync: bool = True,
    include_token_transfers: bool = False,
    organisation_id: int | None = None,
    token_id: int | None = None,
    account: str | None = None,
    since: int | None = None,
    until: int | None = None,
) -> list[AuditRecord]:
    """Every Datagora event since deployment as :class:`AuditRecord` rows, in chain order, read from the event
    index ``source`` (synced first unless ``sync`` is false). Given :class:`Contracts` instead (a one-off run
    that keeps no node: the demo, tests), the events go through a throw-away in-memory index first.

    Optional filters (combined with AND): ``organisation_id`` (events naming the organisation or one of its
    members), ``token_id`` (events of the dataset, its listings, offers and orders), ``account`` (events naming
    the address in any role: actor, buyer, seller, owner, data subject; an event that names nobody, such as
    ``Settled``, concerns the parties of its order), ``since`` / ``until`` (block time in Unix seconds, from
    ``since`` included to ``until`` excluded). Raises ``ChainError`` when the chain is unreachable during
    the sync."""
    if isinstance(source, Contracts):
        engine = open_engine("sqlite://")
        try:
            return audit_trail(
                EventIndexer(source, engine),
                include_token_transfers=include_token_transfers,
                organisation_id=organisation_id,
                token_id=token_id,
                account=account,
                since=since,
                until=until,
            )
        finally:
            engine.dispose()
    if sync:
        source.sync()
    return describe_events(
        source.stored_events(),
        include_token_transfers=include_token_transfers,
        organisation_id=organisation_id,
        token_id=token_id,
        account=account,
        since=since,
        until=until,
    )


__all__ = ["TEXTS", "AuditRecord", "ContractTexts", "audit_trail", "describe_events", "unaccounted"]
