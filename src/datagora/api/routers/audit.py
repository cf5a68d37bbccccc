"""The supervisor's audit trail (EntDSM step 9; Shrestha et al.: who shared what, with whom, when), read back
from the contract events in the node's index, filtered and exported as JSON or CSV."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from datagora.api.deps import NodeDep, SupervisorDep
from datagora.api.schemas import ADDRESS_PATTERN, MAX_ID, AuditRecordOut, AuditTrailOut
from datagora.services.audit import audit_trail
from datagora.services.supervisor_desk import to_csv

router = APIRouter(prefix="/audit", tags=["audit"])

Since = Annotated[int | None, Query(ge=0, le=2**63 - 1, description="From this block time (Unix seconds).")]
Until = Annotated[int | None, Query(ge=0, le=2**63 - 1, description="Before this block time (Unix seconds).")]


@router.get(
    "",
    response_model=AuditTrailOut,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def audit_trail_export(
    node: NodeDep,
    _: SupervisorDep,
    organisation_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    token_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="A dataset.")] = None,
    account: Annotated[str | None, Query(pattern=ADDRESS_PATTERN, description="A data subject or party.")] = None,
    since: Since = None,
    until: Until = None,
    format: Literal["json", "csv"] = "json",
) -> AuditTrailOut | Response:
    """Every Datagora event since deployment, in chain order, with actor, time and transaction; filters
    combine with AND; ``since`` / ``until`` bound the block time. Supervisor only. ``format=csv`` returns
    ``text/csv`` for export."""
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
    if format == "csv":
        return Response(
            to_csv(records),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="datagora-audit.csv"'},
        )
    return AuditTrailOut(count=len(records), records=[AuditRecordOut.of(r) for r in records])
