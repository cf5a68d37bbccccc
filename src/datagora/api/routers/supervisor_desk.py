"""The supervisor's desk (EntDSM Algorithm 2 and step 9), for the Registry supervisor: organisations with their
status and the actions audit / suspend (on the supervisor's own node, by its operator), the audit trail with each
row checked against the chain, and the series of trades and volume over time. See
``datagora.services.supervisor_desk``.

- ``GET /supervisor/organisations``: every organisation, those to audit first.
- ``POST /supervisor/organisations/{organisation_id}/status``: audit, suspend or return to audit.
- ``GET /supervisor/trail``: the audit trail (filters of ``GET /audit`` and a time range), each row verified.
- ``GET /supervisor/series``: trades and volume per day or week.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from datagora.api.deps import IdPath, NodeDep, OperatorDep, SupervisorDep
from datagora.api.desk_schemas import (
    CheckedRecordOut,
    CheckedTrailOut,
    OrganisationListOut,
    OrganisationRowOut,
    OrgStatusIn,
    SeriesOut,
)
from datagora.api.routers.audit import Since, Until
from datagora.api.schemas import ADDRESS_PATTERN, MAX_ID, OrganisationOut, OrganisationTxOut, TxOut
from datagora.domain.errors import AccessDenied, ValidationError
from datagora.domain.models import ETHER, OrgStatus
from datagora.services import supervisor_desk
from datagora.services.audit import audit_trail

router = APIRouter(prefix="/supervisor", tags=["supervisor desk"])


def _range(since: int | None, until: int | None) -> None:
    if since is not None and until is not None and until <= since:
        raise ValidationError("the end of the time range must come after its start")


@router.get("/organisations", response_model=OrganisationListOut)
def organisations(
    node: NodeDep,
    _: SupervisorDep,
    status: Literal["to-audit", "audited", "suspended"] | None = None,
) -> OrganisationListOut:
    """Every registered organisation with its status, members and dates, those to audit first (or only those
    with ``status``). Supervisor only."""
    node.sync_index()
    rows = supervisor_desk.organisations(
        node.contracts, node.indexer.stored_events(), status=None if status is None else OrgStatus.parse(status)
    )
    return OrganisationListOut(count=len(rows), organisations=[OrganisationRowOut.of(r) for r in rows])


@router.post("/organisations/{organisation_id}/status", response_model=OrganisationTxOut)
def set_status(organisation_id: IdPath, body: OrgStatusIn, node: NodeDep, _: OperatorDep) -> OrganisationTxOut:
    """Audit, suspend or return an organisation to audit (``Registry.set_status``). A suspended organisation's
    members can no longer buy, list or publish. 422 when it already has that status. Only on the supervisor's
    node, by its operator."""
    if not node.is_supervisor():
        raise AccessDenied(f"this node's account {node.address} is not the Registry supervisor")
    with node.acting():
        org, tx = supervisor_desk.set_status(
            node.contracts, node.participant.account, organisation_id, OrgStatus.parse(body.status)
        )
    return OrganisationTxOut(organisation=OrganisationOut.of(org), tx=TxOut.of(tx))


@router.get("/trail", response_model=CheckedTrailOut)
def trail(
    node: NodeDep,
    _: SupervisorDep,
    organisation_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    token_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="A dataset.")] = None,
    account: Annotated[str | None, Query(pattern=ADDRESS_PATTERN, description="A data subject or party.")] = None,
    since: Since = None,
    until: Until = None,
    limit: Annotated[int, Query(ge=1, le=5_000, description="Rows checked and returned.")] = 500,
    offset: Annotated[int, Query(ge=0, le=2**31, description="Rows skipped first.")] = 0,
) -> CheckedTrailOut:
    """The audit trail in chain order (filters combine with AND), ``limit`` rows from ``offset``, each read back
    from its transaction receipt and marked verified when identical (one receipt read per transaction shown).
    ``count`` is the number of rows the filters match. Supervisor only."""
    _range(since, until)
    node.sync_index()
    records = audit_trail(
        node.indexer,
        sync=False,
        organisation_id=organisation_id,
        token_id=token_id,
        account=account,
        since=since,
        until=until,
    )
    checked = supervisor_desk.check_records(node.indexer, records[offset : offset + limit])
    return CheckedTrailOut(
        count=len(records),
        verified=sum(c.verified for c in checked),
        records=[CheckedRecordOut.of(c) for c in checked],
    )


@router.get("/series", response_model=SeriesOut)
def series(
    node: NodeDep,
    _: SupervisorDep,
    period: Literal["day", "week"] = "day",
    payment_token: Annotated[str, Query(pattern=ADDRESS_PATTERN, description="ETHER (zero address) or an ERC-20.")] = (
        ETHER
    ),
    since: Since = None,
    until: Until = None,
) -> SeriesOut:
    """Orders paid and their volume per day or week (every period from the first trade to the last), in
    ``payment_token``. Supervisor only."""
    _range(since, until)
    node.sync_index()
    points = supervisor_desk.trade_series(
        node.indexer.stored_events(), period, payment_token=payment_token, since=since, until=until
    )
    return SeriesOut(period=period, payment_token=payment_token, points=[SeriesOut.point(p) for p in points])
