"""The platform's relay and send-receive board (Wu et al. section III.A steps 13-22), served only by the
platform's node (404 elsewhere). See ``datagora.services.relay``.

- ``PUT /relay/{order_id}``: the order's seller uploads the ciphertext it committed on chain
  (``application/octet-stream``, streamed to disk, at most ``max_upload_bytes``); kept only when its SHA-256 is
  the delivery hash on chain.
- ``GET /relay/{order_id}``: the order's buyer downloads it, with the same rules as a seller's
  ``/deliveries/{order_id}`` (401 / 403 with an empty body, Range, ETag).
- ``POST /relay/notices``: a seller's "sent" or a buyer's "received" notice, EIP-712-signed by its author.
- ``GET /relay/board/{order_id}``: the board, for the order's parties and the supervisor.

Evidence for a dispute (section IV.A.3, kept by :class:`~datagora.services.arbitration.ArbitrationInbox`):

- ``PUT /relay/{order_id}/reupload``: the seller of a disputed order uploads ``E_PkP(D')``, its copy of the
  dataset encrypted to the platform (streamed and staged like the delivery upload);
- ``POST /relay/{order_id}/disclosure``: the buyer of a disputed order posts ``E_PkP(k)``, the data key of the
  ciphertext it received, encrypted to the platform.
"""

from __future__ import annotations

from pathlib import Path as FsPath
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from datagora.api.deps import IdPath, NodeDep, SessionDep, SettingsDep
from datagora.api.errors import PayloadTooLarge, UnsupportedMediaType
from datagora.api.limits import large_body
from datagora.api.routers.deliveries import (
    RESPONSES,
    DeliverySource,
    IfRangeHeader,
    RangeHeader,
    SessionOrNone,
    delivery_response,
)
from datagora.api.schemas import (
    BoardEntryOut,
    BoardOut,
    DisclosureIn,
    DisclosureOut,
    NoticeIn,
    RelayedOut,
    ReuploadOut,
)
from datagora.domain.errors import NotFoundError
from datagora.domain.models import Order
from datagora.services.arbitration import ArbitrationInbox
from datagora.services.relay import DeliveryNotice, SendReceiveBoard

router = APIRouter(prefix="/relay", tags=["relay"])

WRITE_CHUNK = 1 << 20
"""Bytes buffered before each write of an upload to disk."""

_BINARY_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


def get_board(request: Request) -> SendReceiveBoard:
    board: SendReceiveBoard | None = getattr(request.app.state, "board", None)
    if board is None:
        raise NotFoundError("this node is not the platform: it runs no relay")
    return board


BoardDep = Annotated[SendReceiveBoard, Depends(get_board)]


def get_inbox(request: Request) -> ArbitrationInbox:
    inbox: ArbitrationInbox | None = getattr(request.app.state, "inbox", None)
    if inbox is None:
        raise NotFoundError("this node is not the platform: it arbitrates no disputes")
    return inbox


InboxDep = Annotated[ArbitrationInbox, Depends(get_inbox)]


def _check_binary(request: Request, what: str, limit: int) -> None:
    """Refuse a body before reading it: wrong ``Content-Type`` (415) or a declared length over ``limit`` (413)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/octet-stream":
        raise UnsupportedMediaType(f"send the {what} as application/octet-stream")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"upload exceeds {limit} bytes")


async def _stream_to(request: Request, staged: FsPath, limit: int) -> None:
    """Write the request body to ``staged`` in pieces of :data:`WRITE_CHUNK` bytes, at most ``limit`` bytes."""
    size = 0
    pending = bytearray()
    with staged.open("wb") as out:
        async for piece in request.stream():
            size += len(piece)
            if size > limit:
                raise PayloadTooLarge(f"upload exceeds {limit} bytes")
            pending += piece
            if len(pending) >= WRITE_CHUNK:
                await run_in_threadpool(out.write, bytes(pending))
                pending.clear()
        await run_in_threadpool(out.write, bytes(pending))


@router.put(
    "/{order_id}",
    status_code=status.HTTP_201_CREATED,
    response_model=RelayedOut,
    openapi_extra=_BINARY_BODY,
    responses={
        403: {"description": "Not the order's seller"},
        413: {"description": "Larger than the node's upload limit"},
        422: {"description": "Order not delivered, or the bytes are not the ciphertext committed on chain"},
    },
)
@large_body
async def upload_delivery(
    order_id: IdPath, request: Request, board: BoardDep, session: SessionDep, settings: SettingsDep
) -> RelayedOut:
    """The seller hands the ciphertext of a delivered order to the platform (step 13). Checked before any byte
    is read (the order's seller, order delivered); streamed to disk, then kept in the platform's blob store only
    if its SHA-256 equals the delivery hash on chain. Sending it again is harmless."""
    _check_binary(request, "ciphertext", settings.max_upload_bytes)
    await run_in_threadpool(board.check_uploader, order_id, session.address)
    staged = board.staging_file()
    try:
        await _stream_to(request, staged, settings.max_upload_bytes)
        relayed = await run_in_threadpool(board.accept_upload, order_id, staged, session.address)
    finally:
        staged.unlink(missing_ok=True)
    return RelayedOut.of(relayed)


@router.get("/{order_id}", response_class=StreamingResponse, responses=RESPONSES)
def download_relayed(
    order_id: IdPath,
    node: NodeDep,
    board: BoardDep,
    session: SessionOrNone,
    range_: RangeHeader = None,
    if_range: IfRangeHeader = None,
) -> Response:
    """The relayed ciphertext of a delivered order, for its buyer only (step 14): the rules of
    ``GET /deliveries/{order_id}`` on a seller's node (empty 401 / 403, Range, If-Range, ETag)."""

    def source(order: Order) -> DeliverySource:
        size, handle = board.open_relayed(order)
        return DeliverySource(size, order.delivery_hash, handle)

    return delivery_response(node, order_id, session, source, range_, if_range)


@router.post("/notices", status_code=status.HTTP_201_CREATED, response_model=BoardEntryOut)
def post_notice(body: NoticeIn, board: BoardDep, session: SessionDep) -> BoardEntryOut:
    """Record a seller's "sent" (step 17, ``received`` false, after the upload) or a buyer's "received" (step
    21) notice, optionally with the author's data fingerprint encrypted to the platform (``E_PkP(f)``, whose
    keccak256 the notice signs as ``fingerprint_hash``). The EIP-712 signature must be the author's (seller or
    buyer of the order on chain), who must also be the signed-in caller. Posting the same signed notice again
    returns the recorded entry."""
    notice = DeliveryNotice.of(
        body.order_id,
        body.seller,
        body.buyer,
        bytes.fromhex(body.delivery_hash.removeprefix("0x")),
        body.timestamp,
        body.received,
        bytes.fromhex(body.fingerprint_hash.removeprefix("0x")),
    )
    signature = bytes.fromhex(body.signature.removeprefix("0x"))
    encrypted = (
        None if body.encrypted_fingerprint is None else bytes.fromhex(body.encrypted_fingerprint.removeprefix("0x"))
    )
    return BoardEntryOut.of(board.record(notice, signature, poster=session.address, encrypted_fingerprint=encrypted))


@router.get("/board/{order_id}", response_model=BoardOut)
def get_board_of_order(order_id: IdPath, board: BoardDep, session: SessionDep) -> BoardOut:
    """The send-receive board of an order with the step-22 check (sent, received and on-chain hashes agree).
    For the order's seller and buyer, the Registry supervisor and the platform."""
    return BoardOut.of(board.view(order_id, session.address))


# -- evidence for disputes (Wu et al. section IV.A.3) --------------------------------------------------------


@router.put(
    "/{order_id}/reupload",
    status_code=status.HTTP_201_CREATED,
    response_model=ReuploadOut,
    openapi_extra=_BINARY_BODY,
    responses={
        403: {"description": "Not the order's seller"},
        413: {"description": "Larger than the node's upload limit"},
        422: {"description": "Order not disputed, or the bytes are not an envelope encrypted to the platform"},
    },
)
@large_body
async def reupload_for_arbitration(
    order_id: IdPath, request: Request, inbox: InboxDep, session: SessionDep, settings: SettingsDep
) -> ReuploadOut:
    """The seller of a disputed order re-uploads its data encrypted to the platform, ``E_PkP(D')`` (section
    IV.A.3), for the platform to fingerprint and compare with what it attested. Checked before any byte is read
    (the order's seller, order disputed); streamed to disk and kept only when the platform can unwrap its data key.
    A new re-upload replaces the previous one until the platform rules."""
    _check_binary(request, "re-upload", settings.max_upload_bytes)
    await run_in_threadpool(inbox.check_reuploader, order_id, session.address)
    staged = inbox.staging_file()
    try:
        await _stream_to(request, staged, settings.max_upload_bytes)
        held = await run_in_threadpool(inbox.accept_reupload, order_id, staged, session.address)
    finally:
        staged.unlink(missing_ok=True)
    return ReuploadOut(
        order_id=held.order_id,
        sha256="0x" + held.sha256,
        size=held.size,
        uploaded_by=held.uploaded_by,
        uploaded_at=held.uploaded_at,
    )


@router.post(
    "/{order_id}/disclosure",
    status_code=status.HTTP_201_CREATED,
    response_model=DisclosureOut,
    responses={
        403: {"description": "Not the order's buyer"},
        404: {"description": "Unknown order, or the platform relayed no delivery to check the key against"},
        422: {"description": "Order not disputed, key not encrypted to the platform or not opening the delivery"},
    },
)
def disclose_key(order_id: IdPath, body: DisclosureIn, inbox: InboxDep, session: SessionDep) -> DisclosureOut:
    """The buyer of a disputed order discloses ``E_PkP(k)``: the data key of the ciphertext it received,
    encrypted to the platform. With it the platform decrypts exactly what the seller sent (and nothing else the
    buyer holds) and can tell a seller who sent other data than it holds. Kept only when the key opens the
    ciphertext the platform relayed for the order."""
    held = inbox.record_disclosure(order_id, bytes.fromhex(body.encrypted_key.removeprefix("0x")), session.address)
    return DisclosureOut(order_id=held.order_id, disclosed_by=held.disclosed_by, disclosed_at=held.disclosed_at)
