"""Organisations (EntDSM Algorithms 1-2): register the node's account, look one up, set a status."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Path, status

from datagora.api.deps import IdPath, NodeDep, OperatorDep, SessionDep
from datagora.api.schemas import MAX_ID, OrganisationIn, OrganisationOut, OrganisationTxOut, StatusIn, TxOut
from datagora.domain.errors import AccessDenied, NotFoundError
from datagora.domain.models import OrgStatus
from datagora.services import registry

router = APIRouter(prefix="/organisations", tags=["organisations"])

_DIGITS = re.compile(r"[0-9]+")


@router.post("", status_code=status.HTTP_201_CREATED, response_model=OrganisationTxOut)
def register_organisation(body: OrganisationIn, node: NodeDep, _: OperatorDep) -> OrganisationTxOut:
    """Register the node's account as a member of organisation ``name`` (created ToAudit when new) and
    publish its encryption key. Operator only."""
    with node.acting():
        org, tx = registry.register_organisation(node.contracts, node.participant, body.name)
    return OrganisationTxOut(organisation=OrganisationOut.of(org), tx=TxOut.of(tx))


@router.get("/{ref}", response_model=OrganisationOut)
def get_organisation(
    ref: Annotated[str, Path(min_length=1, max_length=64, description="Id or name.")], node: NodeDep, _: SessionDep
) -> OrganisationOut:
    """An organisation by id (digits) or name. Any signed-in caller: the Registry is public on chain, and an
    applicant must be able to follow its own audit."""
    if _DIGITS.fullmatch(ref):
        org_id = int(ref)
        if org_id > MAX_ID:
            raise NotFoundError(f"unknown organisation id {ref}")
    elif len(ref.encode()) > 64:
        raise NotFoundError(f"unknown organisation {ref!r}")
    else:
        org_id = node.contracts.registry.organisation_id(ref)
    return OrganisationOut.of(node.contracts.registry.organisation(org_id))


@router.post("/{organisation_id}/status", response_model=OrganisationTxOut)
def set_organisation_status(
    organisation_id: IdPath, body: StatusIn, node: NodeDep, _: OperatorDep
) -> OrganisationTxOut:
    """Audit, suspend or return an organisation to audit (EntDSM Algorithm 2). Only on the supervisor's node,
    by its operator."""
    if not node.is_supervisor():
        raise AccessDenied(f"this node's account {node.address} is not the Registry supervisor")
    with node.acting():
        org, tx = registry.set_status(
            node.contracts, node.participant.account, organisation_id, OrgStatus.parse(body.status)
        )
    return OrganisationTxOut(organisation=OrganisationOut.of(org), tx=TxOut.of(tx))
