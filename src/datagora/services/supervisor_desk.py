"""The supervisor's desk (EntDSM Algorithm 2 and step 9; Shrestha et al.: who shared what, with whom, when):
organisations with their audit status and the actions audit / suspend, the audit trail with filters and each
row checked against the chain, its CSV export, and the series of trades and volume over time for charts.

Everything is read from the node's event index (:class:`~datagora.index.EventIndexer`) and the chain; only
:func:`set_status` sends a transaction (the Registry's supervisor's).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from eth_account.signers.local import LocalAccount

from datagora.chain.contracts import Contracts
from datagora.domain.errors import ValidationError
from datagora.domain.models import ETHER, ChainEvent, Organisation, OrgStatus, TxResult
from datagora.index import EventIndexer
from datagora.services import registry
from datagora.services.audit import AuditRecord

# -- organisations --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrganisationRow:
    """An organisation as the supervisor sees it: ``organisation`` (id, name, status, members) from the
    Registry, ``registered_at`` and ``status_changed_at`` (block time, Unix seconds; 0 when not indexed or never
    changed)."""

    organisation: Organisation
    registered_at: int
    status_changed_at: int

    @property
    def id(self) -> int:
        return self.organisation.id


def organisations(
    contracts: Contracts, events: Iterable[ChainEvent] = (), *, status: OrgStatus | None = None
) -> list[OrganisationRow]:
    """Every registered organisation (or only those with ``status``): those to audit first, then by id.
    ``events``: the node's indexed events, for the dates."""
    registered: dict[int, int] = {}
    changed: dict[int, int] = {}
    for ev in events:
        if ev.contract != "Registry":
            continue
        if ev.name == "OrganisationRegistered":
            registered[int(ev.args["organisation_id"])] = ev.timestamp
        elif ev.name == "StatusChanged":
            changed[int(ev.args["organisation_id"])] = ev.timestamp
    rows = []
    for org_id in range(1, contracts.registry.organisation_count() + 1):
        org = contracts.registry.organisation(org_id)
        if status is None or org.status == status:
            rows.append(OrganisationRow(org, registered.get(org_id, 0), changed.get(org_id, 0)))
    order = {OrgStatus.TO_AUDIT: 0, OrgStatus.SUSPENDED: 1, OrgStatus.AUDITED: 2}
    return sorted(rows, key=lambda r: (order.get(r.organisation.status, 3), r.id))


STATUS_WORDS = {
    OrgStatus.TO_AUDIT: "to audit",
    OrgStatus.AUDITED: "audited",
    OrgStatus.SUSPENDED: "suspended",
}
"""Each status in plain words."""


def set_status(
    contracts: Contracts, supervisor: LocalAccount, organisation_id: int, status: OrgStatus
) -> tuple[Organisation, TxResult]:
    """Audit, suspend or return to audit the organisation ``organisation_id`` (``Registry.set_status``, EntDSM
    Algorithm 2). A suspended organisation's members can no longer buy, list or publish. Raises
    ``ValidationError`` when it already has that status (nothing sent), ``NotFoundError``,
    ``TransactionReverted`` (not the supervisor)."""
    org = contracts.registry.organisation(organisation_id)
    if org.status == status:
        raise ValidationError(f"{org.name} is already {STATUS_WORDS[status]}")
    return registry.set_status(contracts, supervisor, organisation_id, status)


# -- the audit trail, checked ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckedRecord:
    """An audit row and its check against the chain: ``verified`` when the event was read back from its
    transaction receipt at the same position with the same block hash and arguments; ``problem`` says what
    differs otherwise (``missing-on-chain``, ``block-hash`` or ``args``)."""

    record: AuditRecord
    verified: bool
    problem: str = ""


def check_records(indexer: EventIndexer, records: Sequence[AuditRecord]) -> list[CheckedRecord]:
    """Each of ``records`` checked against the chain (:meth:`EventIndexer.verify` on their transactions only: one
    receipt read per transaction). Raises ``ChainError`` when the chain is unreachable."""
    if not records:
        return []
    report = indexer.verify(tx_hashes={r.tx_hash for r in records})
    problems = {(d.tx_hash, d.log_index): d.kind for d in report.differences}
    return [
        CheckedRecord(r, (r.tx_hash, r.log_index) not in problems, problems.get((r.tx_hash, r.log_index), ""))
        for r in records
    ]


CSV_COLUMNS = ("block_number", "timestamp", "tx_hash", "contract", "action", "actor", "detail")
"""The columns of the CSV export, in order."""

_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    """A CSV cell that a spreadsheet will not run as a formula (OWASP CSV injection)."""
    text = str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def to_csv(records: Iterable[AuditRecord]) -> str:
    """``records`` as CSV text (RFC 4180, ``\\n`` line ends), a header row of :data:`CSV_COLUMNS` first; cells that
    a spreadsheet would read as a formula are prefixed with ``'``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for rec in records:
        writer.writerow([_cell(getattr(rec, col)) for col in CSV_COLUMNS])
    return out.getvalue()


# -- trades and volume over time ------------------------------------------------------------------------------

Period = Literal["day", "week"]


@dataclass(frozen=True)
class SeriesPoint:
    """One period of the series: ``start`` (Unix seconds, 00:00 UTC; a week starts on Monday), ``trades`` (orders
    paid) and ``volume`` (their amounts, in wei for ether or the token's smallest unit)."""

    start: int
    trades: int
    volume: int


def _bucket(timestamp: int, period: Period) -> datetime:
    day = datetime.fromtimestamp(timestamp, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday()) if period == "week" else day


def trade_series(
    events: Iterable[ChainEvent],
    period: Period = "day",
    *,
    payment_token: str = ETHER,
    since: int | None = None,
    until: int | None = None,
) -> list[SeriesPoint]:
    """Orders paid per ``period`` (``OrderPaid`` of the Market and UseRights: purchases, won auctions, accepted
    offers, prepaid queries) and their volume in ``payment_token`` (ether by default; an order's currency is its
    listing's), from the indexed ``events`` in chain order, optionally from ``since`` (included) to ``until``
    (excluded, Unix seconds). Every period from the first trade to the last is present (zero when quiet).
    Raises ``ValidationError`` for an unknown period."""
    if period not in ("day", "week"):
        raise ValidationError(f"unknown period {period!r}: use day or week")
    currency: dict[tuple[str, int], str] = {}
    trades: dict[datetime, list[int]] = {}
    for ev in events:
        if ev.contract not in ("Market", "UseRights"):
            continue
        if ev.name == "Listed":
            currency[(ev.contract, int(ev.args["listing_id"]))] = str(ev.args["payment_token"])
        elif ev.name == "OrderPaid":
            if (since is not None and ev.timestamp < since) or (until is not None and ev.timestamp >= until):
                continue
            token = currency.get((ev.contract, int(ev.args["listing_id"])), ETHER)
            if token.lower() != payment_token.lower():
                continue
            trades.setdefault(_bucket(ev.timestamp, period), []).append(int(ev.args["amount"]))
    if not trades:
        return []
    step = timedelta(days=7 if period == "week" else 1)
    start, last = min(trades), max(trades)
    points = []
    while start <= last:
        amounts = trades.get(start, [])
        points.append(SeriesPoint(int(start.timestamp()), len(amounts), sum(amounts)))
        start += step
    return points
