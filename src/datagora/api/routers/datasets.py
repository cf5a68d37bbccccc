"""Datasets: keyword search over the node's index (EntDSM Algorithms 4-5), one dataset, and publishing an
uploaded file (Wu et al. section III.A steps 1-8: encrypt into the node's store, platform's novelty
attestation, mint in Catalog)."""

from __future__ import annotations

import re
import secrets
import shutil
from pathlib import Path as FsPath
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Query, UploadFile, status

from datagora.api.deps import IdPath, NodeDep, OperatorDep, ReaderDep, SettingsDep
from datagora.api.errors import NotConfigured, PayloadTooLarge
from datagora.api.schemas import (
    ADDRESS_PATTERN,
    TEXT_PATTERN,
    DatasetDetail,
    DatasetOut,
    PublishedOut,
    SearchOut,
    TxOut,
    hex0x,
)
from datagora.domain.errors import NotFoundError
from datagora.index.search import MAX_PAGE, SearchHit, SearchQuery, search
from datagora.services import publishing

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
    """One dataset: its description and open listing from the index, its commitments from ``Catalog``."""
    node.sync_index()
    hits = search(node.engine, SearchQuery(token_id=token_id, limit=1)).hits
    if not hits:
        raise NotFoundError(f"unknown dataset id {token_id}")
    on_chain = node.contracts.catalog.dataset(token_id)
    return DatasetDetail(
        **_out(hits[0]).model_dump(),
        description_hash=hex0x(on_chain.description_hash),
        dcat_hash=hex0x(on_chain.dcat_hash),
        fingerprint_commitment=hex0x(on_chain.fingerprint_commitment),
    )


def _save_upload(upload: UploadFile, target: FsPath, limit: int) -> None:
    size = 0
    with target.open("wb") as out:
        while piece := upload.file.read(1 << 20):
            size += len(piece)
            if size > limit:
                raise PayloadTooLarge(f"upload exceeds {limit} bytes")
            out.write(piece)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=PublishedOut)
def publish_dataset(
    file: UploadFile,
    node: NodeDep,
    settings: SettingsDep,
    _: OperatorDep,
    name: Annotated[str | None, Form(min_length=1, max_length=128, pattern=TEXT_PATTERN)] = None,
    domain: Annotated[str, Form(min_length=1, max_length=64, pattern=TEXT_PATTERN)] = "general",
) -> PublishedOut:
    """Publish an uploaded file: describe it (CSV → columns and rows), keep it encrypted in the node's store,
    obtain the platform's novelty attestation (in process on the platform's node, else over HTTP from
    ``DATAGORA_PLATFORM_URL``) and mint the dataset. The file never leaves the node. Operator only."""
    attestor = node.attestor
    if attestor is None:
        raise NotConfigured("no platform to attest datasets: set DATAGORA_PLATFORM_URL (--platform-url)")
    original = FsPath(file.filename or "upload").name
    stem, suffix = FsPath(original).stem, FsPath(original).suffix
    safe = (_UNSAFE.sub("_", stem).strip("._")[:64] or "upload") + _UNSAFE.sub("", suffix)[:16]
    title = name or _CONTROL.sub(" ", stem).strip()[:128] or "upload"
    work = node.participant.home / "uploads" / secrets.token_hex(8)
    work.mkdir(parents=True)
    try:
        path = work / safe
        _save_upload(file, path, settings.max_upload_bytes)
        prepared = publishing.prepare(node.participant, path, name=title, domain=domain)
        with node.acting():
            token_id, attestation, tx = publishing.publish(node.contracts, node.participant, prepared, attestor)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    d = prepared.description
    return PublishedOut(
        token_id=token_id,
        name=d.name,
        domain=d.domain,
        size=d.size,
        content_hash=hex0x(d.content_hash),
        dcat_hash=hex0x(prepared.dcat_hash),
        attester=attestation.attester,
        attestation_expiry=attestation.expiry,
        tx=TxOut.of(tx),
    )
