"""Pages of a data owner (the node's operator): publish a file (upload with a progress bar; the platform's
attestation or refusal in words), list a dataset (fixed price, open to offers, auction, or queries under an
ODRL policy), my listings with the offers and bids to answer, delivering an order, the balance and withdrawing."""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response

from datagora.api.errors import NotConfigured
from datagora.api.limits import large_body
from datagora.domain.errors import ValidationError
from datagora.domain.models import ETHER, ListingState, OfferState, Pricing, SaleKind
from datagora.query import UsagePolicy
from datagora.query.policy import DEFAULT_EPSILON_PER_QUERY, DEFAULT_PRIVACY_BUDGET, MAX_EPSILON
from datagora.query.spec import AGGREGATE_FUNCTIONS
from datagora.services import accounts, market, publishing, use_rights
from datagora.web.deps import ContextDep, NavItem, OperatorDep, operator
from datagora.web.pages.everyone import wei_of
from datagora.web.render import ether, redirect, render

router = APIRouter(tags=["owner pages"], include_in_schema=False)
NAV: list[NavItem] = [
    NavItem("Publish", "/publish", operator),
    NavItem("My listings", "/my/listings", operator),
    NavItem("My orders", "/my/orders", operator),
    NavItem("Balance", "/my/balance", operator),
]
DAY = 86_400
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@router.get("/publish")
def publish_page(request: Request, ctx: ContextDep, user: OperatorDep) -> Response:
    """Choose a file, a title and a theme."""
    return render(
        request,
        "owner/publish.html",
        {"limit": ctx.settings.max_upload_bytes, "has_platform": ctx.node.attestor is not None},
    )


@router.post("/publish")
@large_body
def publish(
    request: Request,
    ctx: ContextDep,
    user: OperatorDep,
    file: Annotated[UploadFile, File()],
    name: Annotated[str, Form(max_length=128)] = "",
    domain: Annotated[str, Form(max_length=64)] = "general",
) -> Response:
    """Keep the file encrypted in the node's store, obtain the platform's novelty attestation and mint the
    dataset; the clear upload is deleted whatever happens."""
    node = ctx.node
    attestor = node.attestor
    if attestor is None:
        raise NotConfigured("this node knows no platform to attest datasets: its operator sets the platform URL")
    original = Path(file.filename or "").name
    if not original:
        raise ValidationError("choose a file to publish")
    work = publishing.staging_area(node.participant)
    try:
        stem, suffix = Path(original).stem, Path(original).suffix
        safe = (_UNSAFE.sub("_", stem).strip("._")[:64] or "upload") + _UNSAFE.sub("", suffix)[:16]
        path = work / safe
        with path.open("wb") as out:
            shutil.copyfileobj(file.file, out, 1 << 20)
        if path.stat().st_size == 0:
            raise ValidationError(f"{original} is empty: nothing to publish")
        title = " ".join(name.split()) or stem[:128] or "upload"
        prepared = publishing.prepare(node.participant, path, name=title, domain=domain.strip() or "general")
        with node.acting():
            token_id, attestation, _tx = publishing.publish(node.contracts, node.participant, prepared, attestor)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return redirect(
        request,
        f"/catalogue/{token_id}",
        f"Published as dataset {token_id}. The platform checked it is new and attested it "
        f"(attestation by {attestation.attester}). Next: put it on offer below.",
    )


def _policy(
    ctx: ContextDep,
    token_id: int,
    k: int,
    aggregates: list[str],
    raw_rows: bool,
    prohibited: str,
    max_rows: int | None,
    privacy: _Privacy,
) -> UsagePolicy:
    base = use_rights.default_policy(
        ctx.node.chain.chain_id, ctx.node.address, token_id, k=k, exact_answers=privacy.exact
    )
    columns = frozenset(c.strip() for c in prohibited.split(",") if c.strip())
    return dataclasses.replace(
        base,
        allowed_aggregates=frozenset(aggregates) if aggregates else base.allowed_aggregates,
        raw_rows=raw_rows,
        prohibited_columns=columns,
        max_rows=max_rows,
        epsilon_per_query=privacy.epsilon_per_query,
        privacy_budget=privacy.privacy_budget,
        value_ranges=privacy.value_ranges,
    )


@dataclasses.dataclass(frozen=True)
class _Privacy:
    exact: bool
    epsilon_per_query: float
    privacy_budget: float
    value_ranges: dict[str, tuple[float, float]]


_RANGE = re.compile(
    r"^\s*(?P<column>[^\[\]:]+?)\s*[:\[]?\s*(?P<low>[-+0-9.eE]+)\s*(?:,|\.\.|to)\s*(?P<high>[-+0-9.eE]+)\s*\]?\s*$"
)


def value_ranges(text: str) -> dict[str, tuple[float, float]]:
    """Value ranges typed one per line (or separated by ``;``) as ``column [low, high]`` (also ``column: low,
    high`` or ``column low..high``) → ``{column: (low, high)}``. Raises ``ValidationError`` naming the line."""
    ranges: dict[str, tuple[float, float]] = {}
    for line in re.split(r"[\n;]+", text):
        if not line.strip():
            continue
        found = _RANGE.match(line)
        if found is None:
            raise ValidationError(
                f"value ranges: write {line.strip()!r} as: column [lowest, highest], e.g. age [18, 80]"
            )
        try:
            low, high = float(found["low"]), float(found["high"])
        except ValueError:
            raise ValidationError(f"value ranges: {line.strip()!r} has a bound that is not a number") from None
        column = found["column"].strip()
        if column.casefold() in {c.casefold() for c in ranges}:
            raise ValidationError(f"value ranges: column {column!r} is given twice")
        if not low < high:
            raise ValidationError(f"value ranges: for {column!r} the lowest value must be below the highest")
        ranges[column] = (low, high)
    return ranges


@router.post("/catalogue/{token_id}/list")
def list_dataset(
    request: Request,
    ctx: ContextDep,
    user: OperatorDep,
    token_id: int,
    kind: Annotated[Literal["fixed", "negotiated", "auction", "use-right"], Form()],
    price: Annotated[str, Form(max_length=40)],
    collateral: Annotated[str, Form(max_length=40)] = "",
    delivery_days: Annotated[float, Form(gt=0, le=365)] = 7,
    confirm_days: Annotated[float, Form(gt=0, le=365)] = 7,
    min_increment: Annotated[str, Form(max_length=40)] = "",
    auction_hours: Annotated[float, Form(gt=0, le=24 * 90)] = 24,
    max_queries: Annotated[int, Form(ge=1, le=1_000_000)] = 10,
    usage_days: Annotated[float, Form(gt=0, le=3650)] = 30,
    k: Annotated[int, Form(ge=1, le=1_000_000)] = 5,
    aggregates: Annotated[list[str] | None, Form()] = None,
    raw_rows: Annotated[bool, Form()] = False,
    prohibited_columns: Annotated[str, Form(max_length=2_000)] = "",
    max_rows: Annotated[int | None, Form(ge=1, le=1_000_000)] = None,
    answers: Annotated[Literal["private", "exact"], Form()] = "private",
    epsilon_per_query: Annotated[float, Form(gt=0, le=MAX_EPSILON)] = DEFAULT_EPSILON_PER_QUERY,
    privacy_budget: Annotated[float, Form(gt=0, le=1_000_000)] = DEFAULT_PRIVACY_BUDGET,
    ranges: Annotated[str, Form(max_length=10_000)] = "",
    exact_confirmed: Annotated[bool, Form()] = False,
) -> Response:
    """Put a dataset the node owns on offer. A use-right answers with differential privacy unless the owner
    chose exact answers and confirmed it after reading what a buyer can then learn (the first post of an
    exact-answers listing shows that warning with a button to confirm; nothing is listed before)."""
    node = ctx.node
    amount = wei_of(price, "price")
    if not amount:
        raise ValidationError("price: enter a price above 0 ETH")
    if kind == "use-right":
        unknown = sorted(set(aggregates or []) - set(AGGREGATE_FUNCTIONS))
        if unknown:
            raise ValidationError(f"unknown aggregate {unknown[0]!r}")
        exact = answers == "exact"
        if exact and not exact_confirmed:
            form: list[tuple[str, object]] = [
                ("kind", kind),
                ("price", price),
                ("max_queries", max_queries),
                ("usage_days", usage_days),
                ("k", k),
                *(("aggregates", a) for a in aggregates or []),
                *((("raw_rows", "true"),) if raw_rows else ()),
                ("prohibited_columns", prohibited_columns),
                *((("max_rows", max_rows),) if max_rows else ()),
                ("answers", "exact"),
                ("exact_confirmed", "true"),
            ]
            return render(
                request,
                "owner/confirm_exact.html",
                {"token_id": token_id, "warning": use_rights.EXACT_ANSWERS_WARNING, "fields": form},
            )
        if raw_rows and not exact:
            raise ValidationError(
                "rows cannot be answered with differential privacy: untick rows, or choose exact answers"
            )
        privacy = _Privacy(exact, epsilon_per_query, privacy_budget, {} if exact else value_ranges(ranges))
        policy = _policy(ctx, token_id, k, aggregates or [], raw_rows, prohibited_columns, max_rows, privacy)
        with node.acting():
            listing_id, _ = use_rights.list_use_right(
                node.contracts,
                node.participant,
                token_id,
                amount,
                policy,
                max_queries=max_queries,
                usage_window=int(usage_days * DAY),
            )
        listed = use_rights.policy_of(node.participant, listing_id)
        if listed.exact_answers:
            how = "exact answers (you opted out of differential privacy)"
        else:
            shown = ", ".join(f"{c} {lo:g} to {hi:g}" for c, (lo, hi) in sorted(listed.value_ranges.items()))
            how = (
                f"differentially private answers, epsilon {listed.epsilon_per_query:g} each and a budget of "
                f"{listed.privacy_budget:g} per buyer organisation; value ranges: {shown or 'none'}"
            )
        return redirect(
            request,
            f"/catalogue/{token_id}",
            f"Listed: queries at {ether(amount)} each (listing {listing_id}), under your ODRL policy "
            f"(groups of at least {k} rows; {how}). Next: answer buyers' queries: your node does it by itself.",
        )
    terms = market.OwnershipTerms(
        Pricing[kind.upper()],
        amount,
        delivery_window=int(delivery_days * DAY),
        confirm_window=int(confirm_days * DAY),
        collateral=wei_of(collateral, "collateral"),
        payment_token=ETHER,
        min_increment=(wei_of(min_increment, "smallest raise") or amount // 20 or 1) if kind == "auction" else None,
        duration=int(auction_hours * 3600) if kind == "auction" else None,
    )
    with node.acting():
        listing_id, _ = market.list_ownership(node.contracts, node.participant, token_id, terms)
    words = {"fixed": "at a fixed price of", "negotiated": "open to offers, asking", "auction": "by auction from"}
    return redirect(
        request,
        f"/catalogue/{token_id}",
        f"Listed {words[kind]} {ether(amount)} (listing {listing_id}). Next: wait for a buyer; "
        "paid orders appear under My orders.",
    )


@router.get("/my/listings")
def my_listings(request: Request, ctx: ContextDep, user: OperatorDep) -> Response:
    """The node's listings, newest first, with open offers and auction bids to answer."""
    node = ctx.node
    contracts = node.contracts
    rows = []
    for listing_id in sorted(accounts.own_listings(contracts, node.address), reverse=True)[:50]:
        listing = contracts.market.listing(listing_id)
        auction = contracts.market.auction(listing_id) if listing.pricing == Pricing.AUCTION else None
        offers = []
        if listing.pricing == Pricing.NEGOTIATED and listing.state == ListingState.ACTIVE:
            offers = [
                o
                for o in accounts.offers_on(contracts, listing_id)
                if o.state in (OfferState.OPEN, OfferState.COUNTERED)
            ]
        rows.append((listing, auction, offers))
    return render(
        request,
        "owner/listings.html",
        {"rows": rows, "now": node.chain.now(), "SaleKind": SaleKind, "ListingState": ListingState},
    )


@router.post("/my/offers/{offer_id}/answer")
def answer_offer(
    request: Request,
    ctx: ContextDep,
    user: OperatorDep,
    offer_id: int,
    answer: Annotated[Literal["accept", "reject", "counter"], Form()],
    counter: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Accept, reject or counter a buyer's offer on one of the node's listings."""
    node = ctx.node
    with node.acting():
        if answer == "accept":
            order_id, _ = market.accept_offer(node.contracts, node.participant, offer_id)
            return redirect(request, "/my/orders", f"Offer accepted: order {order_id}. Next: deliver the data.")
        if answer == "reject":
            market.reject_offer(node.contracts, node.participant, offer_id)
            return redirect(request, "/my/listings", "Offer rejected: the buyer's escrow is returned.")
        amount = wei_of(counter, "counter-offer")
        if not amount:
            raise ValidationError("counter-offer: enter an amount above 0 ETH")
        market.counter_offer(node.contracts, node.participant, offer_id, amount)
    return redirect(request, "/my/listings", f"Countered with {ether(amount)}: the buyer may accept it.")


@router.post("/my/listings/{listing_id}/settle")
def settle_auction(request: Request, ctx: ContextDep, user: OperatorDep, listing_id: int) -> Response:
    """Close an auction after its end: the highest bid becomes an order."""
    node = ctx.node
    with node.acting():
        order_id, _ = market.settle_auction(node.contracts, node.participant, listing_id)
    if not order_id:
        return redirect(request, "/my/listings", "The auction ended without bids: the dataset is yours again.", "info")
    return redirect(request, "/my/orders", f"Auction settled: order {order_id}. Next: deliver the data.")


@router.post("/my/orders/{order_id}/deliver")
def deliver(request: Request, ctx: ContextDep, user: OperatorDep, order_id: int) -> Response:
    """Encrypt the dataset to the buyer's key, keep it for the buyer to download and commit its hash."""
    node = ctx.node
    node.contracts.market.order(order_id)
    with node.acting():
        delivery = market.deliver(node.contracts, node.participant, order_id)
    return redirect(
        request,
        f"/my/orders/{order_id}",
        f"Delivered: {delivery.path.stat().st_size:,} encrypted bytes wait for the buyer on this node "
        f"(at {ctx.settings.base_uri}). Next: the buyer downloads and confirms.",
    )


@router.get("/my/balance")
def balance(request: Request, ctx: ContextDep, user: OperatorDep) -> Response:
    """What the node's account holds, can withdraw, and has locked in escrow and as collateral."""
    node = ctx.node
    found = accounts.balance_of(node.contracts, node.address)
    return render(request, "owner/balance.html", {"balance": found})


@router.post("/my/withdraw")
def withdraw(request: Request, ctx: ContextDep, user: OperatorDep) -> Response:
    """Take what the sale contracts owe the node's account (ether)."""
    node = ctx.node
    with node.acting():
        amount, txs = market.withdraw_all(node.contracts, node.participant)
    if not txs:
        return redirect(request, "/my/balance", "Nothing to withdraw yet.", "info")
    return redirect(request, "/my/balance", f"Withdrew {ether(amount)} to your account.")
