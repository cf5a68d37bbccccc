"""The supervisor's audit trail (EntDSM step 9; Shrestha et al.: who shared what, with whom, when), read back
from the contract events in the node's index, filtered and exported as JSON or CSV."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from datagora.api.deps import NodeDep, SupervisorDep
from datagora.api.schemas import ADDRESS_PATTERN, MAX_ID, AuditRecordOut, AuditTrailOut
from datagora.services.audit import AuditRecord, audit_trail

router = APIRouter(prefix="/audit", tags=["audit"])

COLUMNS = ("block_number", "timestamp", "tx_hash", "contract", "action", "actor", "detail")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    """A CSV cell that a spreadsheet will not run as a formula (OWASP CSV injection)."""
    text = str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def to_csv(records: list[AuditRecord]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for rec in records:
        writer.writerow([_cell(getattr(rec, col)) for col in COLUMNS])
    return out.getvalue()


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
    format: Literal["json", "csv"] = "json",
) -> AuditTrailOut | Response:
    """Every Datagora event since deployment, in chain order, with actor, time and transaction; filters
    combine with AND. Supervisor only. ``format=csv`` returns ``text/csv`` for export."""
    node.sync_index()
    records = audit_trail(node.indexer, sync=False, organisation_id=organisation_id, token_id=token_id, account=account)
    if format == "csv":
        return Response(
            to_csv(records),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="datagora-audit.csv"'},
        )
    return AuditTrailOut(count=len(records), records=[AuditRecordOut.of(r) for r in records])
