"""Pages for everyone: the landing page (what this node is, what to do next), the catalogue with its filters
and pagination, search by sample and a dataset's page (DCAT description, listing and price, provenance).

The catalogue reads the node's event index (the API's ``GET /datasets`` reads the same); a visitor who is not
signed in browses it through the node's own account, whose organisation is audited (docs/web.md)."""

from __future__ import annotations

import shutil
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import Response

from datagora.api.errors import NotConfigured
from datagora.domain.errors import NotFoundError, ValidationError
from datagora.domain.models import Pricing
from datagora.index.search import SearchQuery, search
from datagora.services import catalog, publishing
from datagora.services.audit import audit_trail
from datagora.services.identity import roles_of
from datagora.web.deps import ContextDep, NavItem, UserDep, everyone
from datagora.web.render import WEI_PER_ETHER, render

router = APIRouter(tags=["pages"], include_in_schema=False)
NAV: list[NavItem] = [
    NavItem("Home", "/", everyone),
    NavItem("Catalogue", "/catalogue", everyone),
    NavItem("Search by sample", "/sample", everyone),
]
PAGE_SIZE = 10
SAMPLE_MAX_BYTES = 50 * 1024 * 1024


def wei_of(text: str | None, what: str) -> int | None:
    """An amount typed in ETH (``"0.5"``) as wei; None when empty. Raises ``ValidationError`` in words."""
    if text is None or not text.strip():
        return None
    try:
        value = Decimal(text.strip().replace(",", ""))
    except InvalidOperation:
        raise ValidationError(f"{what}: {text!r} is not an amount of ETH (for example 0.5)") from None
    if value < 0 or value != value:
        raise ValidationError(f"{what} cannot be negative")
    wei = value * WEI_PER_ETHER
    if wei != wei.to_integral_value():
        raise ValidationError(f"{what}: at most 18 decimals (1 wei = 0.000000000000000001 ETH)")
    if wei >= 2**255:
        raise ValidationError(f"{what} is too large")
    return int(wei)


@router.get("/")
def landing(request: Request, ctx: ContextDep, user: UserDep) -> Response:
    """What this node is and what to do here, with the newest datasets of the catalogue."""
    node = ctx.node
    node.sync_index()
    node_roles = roles_of(node, node.address)
    newest = search(node.engine, SearchQuery(limit=5, count=True))
    return render(
        request,
        "everyone/landing.html",
        {"node_roles": node_roles, "newest": newest.hits, "total": newest.total},
    )


@router.get("/catalogue")
def catalogue(
    request: Request,
    ctx: ContextDep,
    q: Annotated[str, Query(max_length=256)] = "",
    domain: Annotated[str, Query(max_length=64)] = "",
    sale: Literal["", "ownership", "use-right"] = "",
    pricing: Literal["", "fixed", "negotiated", "auction"] = "",
    min_price: Annotated[str, Query(max_length=40)] = "",
    max_price: Annotated[str, Query(max_length=40)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """Search the catalogue: words in the name, theme or columns; theme; kind of sale; pricing; price range."""
    node = ctx.node
    node.sync_index()
    query = SearchQuery(
        keyword=" ".join(w for w in q.split() if w.replace("*", "").isalnum()),
        domain=domain.strip() or None,
        sale_kind=sale or None,
        pricing=pricing or None,
        min_price=wei_of(min_price, "lowest price"),
        max_price=wei_of(max_price, "highest price"),
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    found = search(node.engine, query)
    filters = {
        "q": q,
        "domain": domain,
        "sale": sale,
        "pricing": pricing,
        "min_price": min_price,
        "max_price": max_price,
    }
    args = urlencode({k: v for k, v in filters.items() if v})
    link = f"?{args}&page=" if args else "?page="
    return render(
        request,
        "everyone/catalogue.html",
        {
            "prev_url": f"{link}{page - 1}" if page > 1 else "",
            "next_url": f"{link}{page + 1}" if found.has_more else "",
            "hits": found.hits,
            "total": found.total,
            "capped": found.total_capped,
            "has_more": found.has_more,
            "page": page,
            "filters": filters,
            "page_size": PAGE_SIZE,
        },
    )


@router.get("/catalogue/{token_id}")
def dataset_page(request: Request, ctx: ContextDep, user: UserDep, token_id: int) -> Response:
    """One dataset: description (DCAT), owner, open listing and price, and its provenance from the index."""
    node = ctx.node
    node.sync_index()
    hits = search(node.engine, SearchQuery(token_id=token_id, limit=1)).hits if 0 < token_id < 2**63 else []
    if not hits:
        raise NotFoundError(f"there is no dataset {token_id} in the catalogue")
    hit = hits[0]
    on_chain = node.contracts.catalog.dataset(token_id)
    listing = node.contracts.market.listing(hit.listing_id) if hit.listing_id else None
    auction = node.contracts.market.auction(listing.id) if listing and listing.pricing == Pricing.AUCTION else None
    dcat = None
    try:  # the DCAT document is kept by the owner's node (and a buyer's after delivery)
        dcat = node.participant.load_record("datasets", on_chain.content_hash.hex()).get("dcat")
    except NotFoundError:
        dcat = None
    timeline = audit_trail(node.indexer, sync=False, token_id=token_id)
    mine = user is not None and user.roles.operator and node.is_operator(hit.owner)
    return render(
        request,
        "everyone/dataset.html",
        {
            "hit": hit,
            "on_chain": on_chain,
            "listing": listing,
            "auction": auction,
            "dcat": dcat,
            "timeline": timeline,
            "mine": mine,
            "now": node.chain.now(),
            **(listing_form_defaults() if mine else {}),
        },
    )


def listing_form_defaults() -> dict[str, Any]:
    """What the owner's listing form shows by default: epsilon per answer, the budget per buyer organisation
    and the warning that comes with exact answers."""
    from datagora.query.policy import DEFAULT_EPSILON_PER_QUERY, DEFAULT_PRIVACY_BUDGET
    from datagora.services.use_rights import EXACT_ANSWERS_WARNING

    return {
        "default_epsilon": DEFAULT_EPSILON_PER_QUERY,
        "default_budget": DEFAULT_PRIVACY_BUDGET,
        "exact_warning": EXACT_ANSWERS_WARNING,
    }


@router.get("/sample")
def sample_page(request: Request) -> Response:
    """Upload a sample (an image, a table, a text) to find published datasets like it."""
    return render(request, "everyone/sample.html", {"matches": None})


@router.post("/sample")
def sample_search(
    request: Request, ctx: ContextDep, sample: Annotated[UploadFile, File()], k: Annotated[int, Form(ge=1, le=50)] = 10
) -> Response:
    """The node fingerprints the sample, asks the platform (encrypted) for similar datasets and shows them."""
    node = ctx.node
    searcher: Any = node.platform if node.platform is not None else node.attestor
    if searcher is None or not hasattr(searcher, "search_by_sample"):
        raise NotConfigured("this node knows no platform to search by sample: its operator sets the platform URL")
    work = publishing.staging_area(node.participant)
    try:
        name = Path(sample.filename or "sample").name.replace("/", "_")[-64:] or "sample"
        path = work / name
        written = 0
        with path.open("wb") as out:
            while chunk := sample.file.read(1 << 20):
                written += len(chunk)
                if written > SAMPLE_MAX_BYTES:
                    raise ValidationError("the sample is larger than 50 MB: upload a smaller part of it")
                out.write(chunk)
        if written == 0:
            raise ValidationError("the sample is empty: choose a file")
        matches = catalog.search_by_sample(node.contracts, node.participant, path, searcher, k)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    node.sync_index()
    rows = []
    for match in matches:
        hits = search(node.engine, SearchQuery(token_id=match.token_id, limit=1)).hits
        rows.append((match, hits[0] if hits else None))
    return render(request, "everyone/sample.html", {"matches": rows, "sample_name": name})
