"""Datasets: keyword search over the node's index (EntDSM Algorithms 4-5), one dataset, and publishing an
uploaded file (Wu et al. section III.A steps 1-8: encrypt into the node's store, platform's novelty
attestation, mint in Catalog)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path as FsPath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, status
from fastapi.exceptions import RequestValidationError
from pydantic import Field
from pydantic import ValidationError as PydanticValidationError
from starlette.concurrency import run_in_threadpool

from datagora.api.deps import IdPath, NodeDep, OperatorDep, ReaderDep, SettingsDep
from datagora.api.errors import NotConfigured
from datagora.api.limits import large_body
from datagora.api.schemas import (
    ADDRESS_PATTERN,
    TEXT_PATTERN,
    DatasetDetail,
    DatasetOut,
    PublishedOut,
    RetiredOut,
    SearchOut,
    Strict,
    TxOut,
    hex0x,
)
from datagora.api.uploads import receive_form
from datagora.domain.errors import DatasetRetired, NotFoundError
from datagora.domain.models import TxResult
from datagora.index.search import MAX_PAGE, SearchHit, SearchQuery, search
from datagora.services import publishing, retire
from datagora.services.attestation import Attestation, Attestor
from datagora.services.node import Node

router = APIRouter(prefix="/datasets", tags=["datasets"])

MAX_PRICE_FILTER = (2**63 - 1) * 10**9
"""Price filters are compared in gwei in a 64-bit column."""
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def _out(hit: SearchHit) -> DatasetOut:
    return DatasetOut(
        token_id=hit.token_id,
        name=hit.name,
        domain=hit.domain,
        attributes=hit.attributes,
        size=hit.size,
        owner=hit.owner,
        content_hash=hit.content_hash,
        listing_id=hit.listing_id,
        price_wei=hit.price,
        sale_kind=hit.sale_kind,
        pricing=hit.pricing,
        payment_token=hit.payment_token,
    )


@router.get("", response_model=SearchOut)
def search_datasets(
    node: NodeDep,
    _: ReaderDep,
    q: Annotated[
        str,
        Query(max_length=256, pattern=TEXT_PATTERN, description="Whole words, all must match; word* matches a prefix."),
    ] = "",
    domain: Annotated[str | None, Query(max_length=64, pattern=TEXT_PATTERN)] = None,
    owner: Annotated[str | None, Query(pattern=ADDRESS_PATTERN)] = None,
    min_price: Annotated[
        int | None, Query(ge=0, le=MAX_PRICE_FILTER, description="wei (datasets listed for ether)")
    ] = None,
    max_price: Annotated[
        int | None, Query(ge=0, le=MAX_PRICE_FILTER, description="wei (datasets listed for ether)")
    ] = None,
    sale_kind: Literal["ownership", "use-right"] | None = None,
    pricing: Literal["fixed", "negotiated", "auction"] | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
    count: Annotated[bool, Query(description="Count the matches (up to 1,000); false is faster.")] = True,
) -> SearchOut:
    """Search the datasets indexed from chain events (members of an Audited organisation only)."""
    node.sync_index()
    query = SearchQuery(
        keyword=q,
        domain=domain,
        owner=owner,
        min_price=min_price,
        max_price=max_price,
        sale_kind=sale_kind,
        pricing=pricing,
        limit=limit,
        offset=offset,
        count=count,
    )
    page = search(node.engine, query)
    return SearchOut(
        total=page.total,
        total_capped=page.total_capped,
        has_more=page.has_more,
        limit=limit,
        offset=offset,
        hits=[_out(h) for h in page.hits],
    )


@router.get("/{token_id}", response_model=DatasetDetail)
def get_dataset(token_id: IdPath, node: NodeDep, _: ReaderDep) -> DatasetDetail:
    """One dataset: its description and open listing from the index, its commitments from ``Catalog``. A
    retired dataset answers 410."""
    node.sync_index()
    hits = search(node.engine, SearchQuery(token_id=token_id, limit=1)).hits
    if not hits:
        if node.contracts.catalog.is_retired(token_id):
            raise DatasetRetired(token_id)
        raise NotFoundError(f"unknown dataset id {token_id}")
    on_chain = node.contracts.catalog.dataset(token_id)
    return DatasetDetail(
        **_out(hits[0]).model_dump(),
        description_hash=hex0x(on_chain.description_hash),
        dcat_hash=hex0x(on_chain.dcat_hash),
        fingerprint_commitment=hex0x(on_chain.fingerprint_commitment),
    )


class PublishForm(Strict):
    """The plain fields of a publish form."""

    name: Annotated[str | None, Field(min_length=1, max_length=128, pattern=TEXT_PATTERN)] = None
    domain: Annotated[str, Field(min_length=1, max_length=64, pattern=TEXT_PATTERN)] = "general"


_MULTIPART_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary", "description": "The dataset's file."},
                        # form fields are text by nature: no "type", which would claim a JSON null can be sent
                        "name": {"minLength": 1, "maxLength": 128, "pattern": TEXT_PATTERN, "description": "Title"},
                        "domain": {"minLength": 1, "maxLength": 64, "pattern": TEXT_PATTERN, "description": "Theme"},
                    },
                    "additionalProperties": False,
                }
            }
        },
    }
}


def _publish(
    node: Node, attestor: Attestor, path: FsPath, title: str, domain: str
) -> tuple[publishing.PreparedDataset, int, Attestation, TxResult]:
    prepared = publishing.prepare(node.participant, path, name=title, domain=domain)
    with node.acting():
        token_id, attestation, tx = publishing.publish(node.contracts, node.participant, prepared, attestor)
    return prepared, token_id, attestation, tx


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=PublishedOut,
    openapi_extra=_MULTIPART_BODY,
    responses={409: {"description": "Novelty refused: the data matches a dataset already on the market"}},
)
@large_body
async def publish_dataset(request: Request, node: NodeDep, settings: SettingsDep, _: OperatorDep) -> PublishedOut:
    """Publish an uploaded file (multipart form: ``file``, optional ``name`` and ``domain``): describe it (CSV →
    columns and rows), keep it encrypted in the node's store, obtain the platform's novelty attestation (in
    process on the platform's node, else over HTTP from ``DATAGORA_PLATFORM_URL``) and mint the dataset. The
    file never leaves the node. Operator only: the caller is checked before any byte of the body is read; the
    clear file is streamed into a private staging directory, at most ``max_upload_bytes``, and removed once
    published or refused."""
    attestor = node.attestor
    if attestor is None:
        raise NotConfigured("no platform to attest datasets: set DATAGORA_PLATFORM_URL (--platform-url)")
    work = publishing.staging_area(node.participant)
    try:
        form = await receive_form(
            request, work, file_field="file", fields={"name", "domain"}, max_file_bytes=settings.max_upload_bytes
        )
        try:
            fields = PublishForm.model_validate(form.fields)
        except PydanticValidationError as exc:
            raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None
        original = FsPath(form.filename or "upload").name
        stem, suffix = FsPath(original).stem, FsPath(original).suffix
        safe = (_UNSAFE.sub("_", stem).strip("._")[:64] or "upload") + _UNSAFE.sub("", suffix)[:16]
        title = fields.name or _CONTROL.sub(" ", stem).strip()[:128] or "upload"
        assert form.path is not None
        path = form.path.rename(work / safe) if safe != form.path.name else form.path
        prepared, token_id, attestation, tx = await run_in_threadpool(
            _publish, node, attestor, path, title, fields.domain
        )
    finally:
        await run_in_threadpool(shutil.rmtree, work, True)
    d = prepared.description
    return PublishedOut(
        token_id=token_id,
        name=d.name,
        domain=d.domain,
        size=d.size,
        content_hash=hex0x(d.content_hash),
        dcat_hash=hex0x(attestation.dcat_hash),
        attester=attestation.attester,
        attestation_expiry=attestation.expiry,
        tx=TxOut.of(tx),
    )


@router.post("/{token_id}/retire", response_model=RetiredOut)
def retire_dataset(token_id: IdPath, node: NodeDep, _: OperatorDep) -> RetiredOut:
    """Retire one of this node's datasets for good: cancel its open listings, burn its token (``Retired`` on
    chain) and destroy the node's ciphertexts and data keys of it. Copies buyers received stay theirs. 409 while
    a buyer's order or an auction bid holds the token; 410 when it is retired already. Operator only."""
    with node.acting():
        done = retire.retire(node.contracts, node.participant, token_id)
    node.sync_index(force=True)
    return RetiredOut(
        token_id=done.token_id,
        cancelled_listings=done.cancelled_listings,
        refunding_orders=done.refunding_orders,
        shredded_blobs=len(done.shredded.blobs),
        shredded_files=len(done.shredded.files),
        txs=[TxOut.of(tx) for tx in done.txs],
    )
