"""The platform's delivery checks, arbitration and deadlines (Wu et al. section III.A step 22, section IV.A.3-5),
served only by the platform's node (404 elsewhere) and, except the buyer's copy, only to its operator: they make the
platform act on chain. See ``datagora.services.disputes``.

- ``POST /disputes/{order_id}/check``: step 22 on the send-receive board; disputes the order when f_S and f_B or the
  hashes disagree.
- ``POST /disputes/{order_id}/arbitrate``: section IV.A.3 with the seller's re-upload and the buyer's disclosure
  the platform holds (``/relay/{order_id}/reupload``, ``/relay/{order_id}/disclosure``); resolves on chain.
- ``GET /disputes/{order_id}/copy``: the buyer's copy ``E_PkB(D')`` an arbitration made, for the order's buyer
  (the rules of ``GET /deliveries/{order_id}``).
- ``POST /deadlines/enforce``: section IV.A.4-5, refund / release / unwind / expire every order past its deadline.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import StreamingResponse

from datagora.api.deps import IdPath, NodeDep, OperatorDep, PlatformDep
from datagora.api.routers.deliveries import (
    RESPONSES,
    DeliverySource,
    IfRangeHeader,
    RangeHeader,
    SessionOrNone,
    delivery_response,
)
from datagora.api.routers.orders import order_out
from datagora.api.routers.relay import BoardDep, InboxDep
from datagora.api.schemas import (
    CopyOut,
    DeadlineActionOut,
    DeadlinesIn,
    DeadlinesOut,
    DeliveryCheckOut,
    ResolutionOut,
    TxOut,
    hex0x,
)
from datagora.domain.errors import NotFoundError
from datagora.domain.models import Order
from datagora.services import disputes
from datagora.services.arbitration import arbitrate_stored

router = APIRouter(tags=["disputes"])


@router.post("/disputes/{order_id}/check", response_model=DeliveryCheckOut)
def check_delivery(
    order_id: IdPath, node: NodeDep, board: BoardDep, _platform: PlatformDep, _: OperatorDep
) -> DeliveryCheckOut:
    """Step 22: compare the latest "sent" and "received" notices of the order (delivery hashes, and f_S with f_B
    when both came). ``wait`` while one is missing, ``confirm`` when they agree, ``dispute`` when they do not: the
    platform then disputes the delivered order on chain (``tx``). Platform operator only."""
    with node.acting():
        checked = disputes.check_delivery(node.contracts, node.participant, board, order_id)
    return DeliveryCheckOut(
        order_id=order_id,
        consistent=checked.consistent,
        similarity=checked.similarity,
        action=checked.action,  # type: ignore[arg-type]
        tx=None if checked.tx is None else TxOut.of(checked.tx),
        order=order_out(node.contracts, order_id),
    )


@router.post(
    "/disputes/{order_id}/arbitrate",
    response_model=ResolutionOut,
    responses={
        409: {"description": "The seller has not re-uploaded its data yet, or the contract refused the ruling"},
        422: {"description": "The order is not disputed, or the re-upload is unreadable"},
    },
)
def arbitrate(order_id: IdPath, node: NodeDep, inbox: InboxDep, platform: PlatformDep, _: OperatorDep) -> ResolutionOut:
    """Section IV.A.3: decrypt the seller's re-upload ``E_PkP(D')``, compare its SHA-256 with the content hash in
    ``Catalog`` and its fingerprint f_{D',P} with the one attested at publication; with the buyer's disclosed key,
    also decrypt what the seller actually sent. Rules ``for-seller`` (data and transmission good: the buyer's
    collateral to the seller), ``redelivered`` (data good, transmission not: the buyer gets ``E_PkB(D')`` and the
    seller's collateral) or ``for-buyer`` (refund and the seller's collateral), committing the evidence's hash with
    ``resolve``. Platform operator only."""
    with node.acting():
        resolution = arbitrate_stored(node.participant, platform, inbox, order_id)
    copy = None
    if resolution.buyer_copy is not None:
        copy = CopyOut(sha256="0x" + resolution.buyer_copy, size=inbox.board.store.size(resolution.buyer_copy))
    return ResolutionOut(
        order_id=order_id,
        ruling=resolution.ruling.name.lower().replace("_", "-"),  # type: ignore[arg-type]
        seller_honest=resolution.seller_honest,
        content_match=resolution.content_match,
        similarity=resolution.similarity,
        transmitted_ok=resolution.transmitted_ok,
        evidence_hash=hex0x(resolution.evidence_hash),
        buyer_copy=copy,
        tx=TxOut.of(resolution.tx),
        order=order_out(node.contracts, order_id),
    )


@router.get("/disputes/{order_id}/copy", response_class=StreamingResponse, responses=RESPONSES)
def download_copy(
    order_id: IdPath,
    node: NodeDep,
    inbox: InboxDep,
    session: SessionOrNone,
    range_: RangeHeader = None,
    if_range: IfRangeHeader = None,
) -> Response:
    """The buyer's copy ``E_PkB(D')`` of an arbitrated order (the seller's re-upload re-encrypted to the buyer),
    for the order's buyer only, with the rules of ``GET /deliveries/{order_id}`` (empty 401 / 403, Range,
    If-Range, ETag = its SHA-256)."""

    def source(order: Order) -> DeliverySource:
        blob = inbox.buyer_copy(order.id)
        if blob is None:
            raise NotFoundError(f"the platform made no copy of order {order.id} for its buyer")
        store = inbox.board.store
        return DeliverySource(store.size(blob), bytes.fromhex(blob), store.open(blob))

    return delivery_response(node, order_id, session, source, range_, if_range)


@router.post("/deadlines/enforce", response_model=DeadlinesOut)
def enforce_deadlines(node: NodeDep, _board: BoardDep, _: OperatorDep, body: DeadlinesIn | None = None) -> DeadlinesOut:
    """Sections IV.A.4-5, the platform's periodic comparison of payments and deliveries: every order from
    ``first_order`` on whose deadline passed is refunded (never delivered), released (never confirmed: the
    mandatory transfer), unwound (dispute not resolved in time) or expired (use-right: the unused credit back to
    the buyer). Platform operator only."""
    first = body.first_order if body is not None else 1
    with node.acting():
        done = disputes.enforce_deadlines(node.contracts, node.participant, first_order=first)
    actions = [
        DeadlineActionOut(order_id=a.order_id, action=a.action, tx=TxOut.of(a.tx))  # type: ignore[arg-type]
        for a in done
    ]
    return DeadlinesOut(count=len(actions), actions=actions)
