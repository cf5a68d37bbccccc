"""Node-to-node delivery of an order's ciphertext (Wu et al. section III.A step 12), with HTTP Range requests
(RFC 9110 section 14) so a buyer can resume an interrupted download.

Only the SIWE identity that is the order's buyer gets bytes, and only once the order is Delivered or Completed.
Without a session the answer is 401, for another identity 403, both with an empty body (the reason is in the
``X-Datagora-Error`` header) so that a tool writing the body to a file never writes anything.

The bytes come from a :class:`DeliverySource`; :func:`local_source` serves the seller's own blob store. The
platform's relay (``datagora.api.routers.relay``) serves its relayed copy through the same
:func:`delivery_response`, so access rule and Range handling are one code path.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, BinaryIO

from fastapi import APIRouter, Depends, Header, Response
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials

from datagora.api.auth import Session, Unauthenticated
from datagora.api.deps import AuthDep, IdPath, NodeDep, bearer
from datagora.domain.errors import Conflict, NotFoundError
from datagora.domain.models import Order, OrderState
from datagora.services.node import Node

router = APIRouter(prefix="/deliveries", tags=["deliveries"])

CHUNK = 1 << 20
_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


@dataclass
class DeliverySource:
    """The ciphertext of one order: ``size`` in bytes, ``sha256`` (the delivery hash committed on chain, also
    the ETag) and an open, verified binary handle the response reads and closes."""

    size: int
    sha256: bytes
    handle: BinaryIO

    @property
    def etag(self) -> str:
        return f'"{self.sha256.hex()}"'

    def iter_range(self, start: int, end: int) -> Iterator[bytes]:
        """Bytes ``start``..``end`` (inclusive), then close the handle."""
        try:
            self.handle.seek(start)
            left = end - start + 1
            while left > 0:
                piece = self.handle.read(min(CHUNK, left))
                if not piece:
                    break
                left -= len(piece)
                yield piece
        finally:
            self.handle.close()


def local_source(node: Node, order: Order) -> DeliverySource:
    """The ciphertext in this node's blob store, whose address is the delivery hash. Verified against it before
    serving. Raises ``NotFoundError`` when this node does not hold it (not the seller's node)."""
    blob = order.delivery_hash.hex()
    store = node.participant.store
    if blob not in store:
        raise NotFoundError(f"this node holds no delivery for order {order.id}")
    return DeliverySource(store.size(blob), order.delivery_hash, store.open(blob))


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive byte range a single-range ``Range`` header asks for, or None for the whole content (no
    header, several ranges or a malformed one, which RFC 9110 lets a server ignore). Raises ``ValueError``
    when the range is not satisfiable."""
    match = _RANGE.match(header or "")
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # suffix: the last N bytes
        if int(last) == 0 or size == 0:
            raise ValueError("empty suffix range")
        return max(0, size - int(last)), size - 1
    start = int(first)
    if last and int(last) < start:
        return None
    if start >= size:
        raise ValueError("range starts past the end")
    return start, min(int(last), size - 1) if last else size - 1


def _bare(status: int, reason: str, **headers: str) -> Response:
    return Response(status_code=status, headers={"X-Datagora-Error": reason, **headers})


def _session(
    auth: AuthDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Session | None:
    if credentials is None:
        return None
    try:
        return auth.session(credentials.credentials)
    except Unauthenticated:
        return None


RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
    206: {
        "description": "The requested byte range",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    },
    401: {"description": "No valid session (empty body)"},
    403: {"description": "Signed in, but not the order's buyer (empty body)"},
    404: {"description": "Unknown order, or this node does not hold its delivery"},
    409: {"description": "Nothing delivered yet"},
    416: {"description": "Range not satisfiable"},
}


SourceOf = Callable[[Order], DeliverySource]
"""Opens the ciphertext of a delivered order (``local_source`` bound to a node, or the platform's relay)."""


def delivery_response(
    node: Node,
    order_id: int,
    session: Session | None,
    source_of: SourceOf,
    range_: str | None,
    if_range: str | None,
) -> Response:
    """The response to a buyer's request for the ciphertext of ``order_id`` read through ``source_of``: 401
    without a session and 403 for anyone but the order's buyer (both with an empty body), 409 before delivery,
    else 200, 206 for a satisfiable ``Range`` or 416. Shared by ``/deliveries`` and the platform's ``/relay``."""
    if session is None:
        return _bare(401, "sign in first: send Authorization: Bearer <token>", **{"WWW-Authenticate": "Bearer"})
    order = node.contracts.market.order(order_id)
    if order.buyer.lower() != session.address.lower():
        return _bare(403, f"only the buyer of order {order_id} may download its delivery")
    if order.state not in (OrderState.DELIVERED, OrderState.DISPUTED, OrderState.COMPLETED):
        raise Conflict(f"order {order_id} is {order.state.name.lower()}: nothing delivered yet")
    source = source_of(order)
    headers = {
        "Accept-Ranges": "bytes",
        "ETag": source.etag,
        "Content-Disposition": f'attachment; filename="order-{order_id}.dge"',
    }
    try:
        wanted = None if if_range not in (None, source.etag) else parse_range(range_, source.size)
    except ValueError:
        source.handle.close()
        return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{source.size}"})
    if wanted is None:
        start, end, status = 0, source.size - 1, 200
    else:
        (start, end), status = wanted, 206
        headers["Content-Range"] = f"bytes {start}-{end}/{source.size}"
    headers["Content-Length"] = str(end - start + 1)
    return StreamingResponse(
        source.iter_range(start, end), status_code=status, media_type="application/octet-stream", headers=headers
    )


SessionOrNone = Annotated[Session | None, Depends(_session)]
RangeHeader = Annotated[str | None, Header(alias="Range", max_length=200)]
IfRangeHeader = Annotated[str | None, Header(alias="If-Range", max_length=200)]


@router.get("/{order_id}", response_class=StreamingResponse, responses=RESPONSES)
def download_delivery(
    order_id: IdPath,
    node: NodeDep,
    session: SessionOrNone,
    range_: RangeHeader = None,
    if_range: IfRangeHeader = None,
) -> Response:
    """The ciphertext of a delivered order (an envelope only the buyer's key opens), for its buyer only.
    Supports ``Range: bytes=start-[end]`` / ``bytes=-suffix`` (206) and ``If-Range`` on the ETag (the
    delivery hash)."""
    return delivery_response(node, order_id, session, lambda order: local_source(node, order), range_, if_range)
