"""The platform's desk (Wu et al. section III.A steps 4-8 and 22, section IV.A.3-5), served only by the platform's
node (404 elsewhere) and only to its operator: the attestation log, the disputes inbox with each case's evidence,
the ruling actions, and the orders past their deadline. See ``datagora.services.platform_desk``.

- ``GET /platform/attestations``: attestations given and refused, newest first.
- ``GET /platform/disputes``: open disputes, soonest deadline first (nothing decrypted).
- ``GET /platform/disputes/{order_id}``: one dispute with the assessment of its evidence.
- ``POST /platform/disputes/{order_id}/ruling``: rule ``for-seller``, ``redelivered`` or ``for-buyer``; refused
  (409) when the evidence supports another ruling.
- ``GET /platform/deadlines``: orders past their deadline; ``POST /platform/deadlines/{order_id}`` settles one.
"""

from __future__ import annotations

from fastapi import APIRouter

from datagora.api.deps import IdPath, NodeDep, OperatorDep, PlatformDep
from datagora.api.desk_schemas import (
    AttestationEntryOut,
    AttestationLogOut,
    DisputeCaseOut,
    DisputeInboxOut,
    OverdueListOut,
    OverdueOut,
    RulingIn,
    RulingOut,
    SettledOut,
    ruling_name,
)
from datagora.api.routers.orders import order_out
from datagora.api.routers.relay import InboxDep
from datagora.api.schemas import TxOut, hex0x
from datagora.services import platform_desk

router = APIRouter(prefix="/platform", tags=["platform desk"])


@router.get("/attestations", response_model=AttestationLogOut)
def attestation_log(node: NodeDep, platform: PlatformDep, _: OperatorDep) -> AttestationLogOut:
    """The novelty attestations the platform gave (with the dataset minted and when) and refused (with the
    reason and the dataset matched), newest first. Platform operator only."""
    node.sync_index()
    entries = platform_desk.attestation_log(platform, node.indexer.stored_events())
    return AttestationLogOut(
        given=sum(e.outcome == "given" for e in entries),
        refused=sum(e.outcome == "refused" for e in entries),
        entries=[AttestationEntryOut.of(e) for e in entries],
    )


@router.get("/disputes", response_model=DisputeInboxOut)
def disputes_inbox(node: NodeDep, inbox: InboxDep, _platform: PlatformDep, _: OperatorDep) -> DisputeInboxOut:
    """Open disputes, soonest deadline first, each with its evidence: the fingerprint comparison of the
    send-receive board, the seller's re-upload and the buyer's disclosure when held. Platform operator only."""
    node.sync_index()
    cases = platform_desk.disputes_inbox(inbox, node.indexer.stored_events())
    return DisputeInboxOut(count=len(cases), disputes=[DisputeCaseOut.of(c) for c in cases])


@router.get("/disputes/{order_id}", response_model=DisputeCaseOut)
def dispute_case(
    order_id: IdPath, node: NodeDep, inbox: InboxDep, platform: PlatformDep, _: OperatorDep
) -> DisputeCaseOut:
    """One open dispute with its evidence and, once the seller re-uploaded, the assessment: the re-upload's hash
    and fingerprint compared with the dataset's, the disclosed delivery checked, and the ruling this supports.
    422 when the order is not disputed. Platform operator only."""
    node.sync_index()
    case = platform_desk.dispute_case(node.participant, platform, inbox, order_id, node.indexer.stored_events())
    return DisputeCaseOut.of(case)


@router.post(
    "/disputes/{order_id}/ruling",
    response_model=RulingOut,
    responses={409: {"description": "The evidence supports another ruling, or the seller has not re-uploaded"}},
)
def rule(
    order_id: IdPath, body: RulingIn, node: NodeDep, inbox: InboxDep, platform: PlatformDep, _: OperatorDep
) -> RulingOut:
    """Resolve the dispute with the chosen ruling (``Market.resolve``): ``for-seller`` (the sale completes, the
    buyer's collateral to the seller), ``redelivered`` (the buyer gets the platform's copy and the seller's
    collateral) or ``for-buyer`` (refund and the seller's collateral). Sent only when the evidence supports it.
    Platform operator only."""
    with node.acting():
        resolution = platform_desk.rule(
            node.participant, platform, inbox, order_id, platform_desk.parse_ruling(body.ruling)
        )
    return RulingOut(
        order_id=order_id,
        ruling=ruling_name(resolution.ruling),
        evidence_hash=hex0x(resolution.evidence_hash),
        buyer_copy=resolution.buyer_copy is not None,
        tx=TxOut.of(resolution.tx),
        order=order_out(node.contracts, order_id),
    )


@router.get("/deadlines", response_model=OverdueListOut)
def overdue(node: NodeDep, _platform: PlatformDep, _: OperatorDep) -> OverdueListOut:
    """Open orders past their delivery, confirmation, dispute or usage deadline, longest overdue first, each with
    what settling it does. Platform operator only."""
    node.sync_index()
    found = platform_desk.overdue_orders(node.contracts, node.indexer.stored_events())
    return OverdueListOut(
        count=len(found), orders=[OverdueOut.of(o, platform_desk.ACTION_WORDS[o.action]) for o in found]
    )


@router.post("/deadlines/{order_id}", response_model=SettledOut)
def settle(order_id: IdPath, node: NodeDep, _platform: PlatformDep, _: OperatorDep) -> SettledOut:
    """Settle one overdue order: refund (never delivered), release (never confirmed), unwind (dispute not ruled
    in time) or expire (use-right). 422 when it is not overdue. Platform operator only."""
    with node.acting():
        action, tx = platform_desk.settle_overdue(node.contracts, node.participant, order_id)
    return SettledOut(order_id=order_id, action=action, tx=TxOut.of(tx), order=order_out(node.contracts, order_id))
