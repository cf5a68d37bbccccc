"""The platform's novelty attestation service (Wu et al. section III.A steps 4-8), served only by the
platform's node. A seller's node posts ``E_PkP(f, d)``: its fingerprint and description ECIES-encrypted to the
platform's Registry key; the platform checks novelty and returns its EIP-712 signature."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from starlette.concurrency import run_in_threadpool

from datagora.api.deps import NodeDep, PlatformDep, ReaderDep, SessionDep
from datagora.api.errors import PROBLEM_TYPE, PayloadTooLarge, UnsupportedMediaType
from datagora.api.schemas import ADDRESS_PATTERN, AttestationOut, PublishedNoteIn, SampleSearchOut, hex0x
from datagora.domain.errors import AccessDenied, ValidationError

router = APIRouter(prefix="/attestations", tags=["attestations"])

MAX_REQUEST_BYTES = 64 * 1024
"""An attestation request is a small JSON document (fingerprint, salt, description) plus 97 bytes of ECIES."""

_BINARY_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


@router.post(
    "",
    response_model=AttestationOut,
    openapi_extra=_BINARY_BODY,
    responses={409: {"description": "Novelty refused: the data matches a dataset already recorded"}},
)
async def attest_novelty(request: Request, platform: PlatformDep, session: ReaderDep) -> AttestationOut:
    """Check an encrypted attestation request and sign ``NoveltyAttestation``. The caller must be the
    request's publisher and a member of an Audited organisation."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/octet-stream":
        raise UnsupportedMediaType("send the ECIES request as application/octet-stream")
    body = bytearray()
    async for piece in request.stream():
        body += piece
        if len(body) > MAX_REQUEST_BYTES:
            raise PayloadTooLarge(f"attestation request exceeds {MAX_REQUEST_BYTES} bytes")
    if not body:
        raise ValidationError("empty attestation request")
    att = await run_in_threadpool(platform.attest, bytes(body), requester=session.address)
    return AttestationOut(
        publisher=att.publisher,
        content_hash=hex0x(att.content_hash),
        description_hash=hex0x(att.description_hash),
        fingerprint_commitment=hex0x(att.fingerprint_commitment),
        dcat_hash=hex0x(att.dcat_hash),
        expiry=att.expiry,
        signature=hex0x(att.signature),
        attester=att.attester,
    )


@router.post("/published", status_code=status.HTTP_204_NO_CONTENT)
def record_published(body: PublishedNoteIn, platform: PlatformDep, _: ReaderDep) -> None:
    """Tell the platform which dataset an attested fingerprint became, so it refuses near-copies for good.
    Checked against ``Catalog``: the dataset must carry the content hash that was attested."""
    platform.record_published_checked(bytes.fromhex(body.fingerprint.removeprefix("0x")), body.token_id)


async def _binary_body(request: Request, what: str) -> bytes:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/octet-stream":
        raise UnsupportedMediaType(f"send the {what} as application/octet-stream")
    body = bytearray()
    async for piece in request.stream():
        body += piece
        if len(body) > MAX_REQUEST_BYTES:
            raise PayloadTooLarge(f"{what} exceeds {MAX_REQUEST_BYTES} bytes")
    if not body:
        raise ValidationError(f"empty {what}")
    return bytes(body)


@router.post(
    "/samples",
    openapi_extra=_BINARY_BODY,
    response_class=Response,
    responses={
        200: {"content": {"application/octet-stream": {}}, "description": "E_PkB(matching dataset ids)"},
        422: {"content": {PROBLEM_TYPE: {}}, "description": "A table sample with too few rows, or not a sample"},
        429: {"content": {PROBLEM_TYPE: {}}, "description": "Too many searches by this account (Retry-After)"},
    },
)
async def search_by_sample(request: Request, node: NodeDep, platform: PlatformDep, session: ReaderDep) -> Response:
    """Search by sample (Wu et al. step 9-2): the body is a sample's serialised fingerprint ECIES-encrypted to
    the platform; the answer, ECIES-encrypted to the caller's Registry key, is JSON
    ``[{"token_id": …, "similarity": …}]`` of the live datasets it matches. No fingerprint is revealed. A table
    sample needs the platform's minimum of distinct rows (422 otherwise), each account a limited number of
    searches per hour (429 with ``Retry-After``), and every search is written to the platform's search log."""
    body = await _binary_body(request, "sample fingerprint")
    requester_key = await run_in_threadpool(node.contracts.registry.public_key, session.address)
    answer = await run_in_threadpool(platform.search_by_sample, body, requester_key)
    return Response(answer, media_type="application/octet-stream")


@router.get("/searches", response_model=list[SampleSearchOut])
def sample_searches(
    node: NodeDep,
    platform: PlatformDep,
    session: SessionDep,
    account: Annotated[str | None, Query(pattern=ADDRESS_PATTERN, description="Only this searcher's.")] = None,
) -> list[SampleSearchOut]:
    """The platform's log of searches by sample, oldest first: who searched, with what kind of sample, how many
    rows, the outcome and the datasets answered. For the Registry supervisor and the platform's operator."""
    if not (node.is_supervisor(session.address) or node.is_operator(session.address)):
        raise AccessDenied(f"{session.address} is neither the Registry supervisor nor this platform's operator")
    return [SampleSearchOut(**asdict(r)) for r in platform.sample_search.log.records(account)]
