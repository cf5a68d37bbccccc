"""Pages of a buyer (the node's operator): buy at a fixed price, offer on a negotiable listing, bid in an
auction, prepay use-right queries; my orders (as buyer and as seller) with the next step; an order's page to
download and decrypt a delivery on this node, confirm or dispute it, rate the other party, and run a use-right
query whose result is checked against the hash the seller recorded on the chain."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import HttpUrl, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from datagora.api.errors import NotConfigured
from datagora.domain.errors import DatagoraError, NotFoundError, ValidationError
from datagora.domain.models import OrderState, Pricing, SaleKind
from datagora.query.spec import QuerySpec
from datagora.services import accounts, market, reputation, use_rights
from datagora.web.deps import ContextDep, NavItem, OperatorDep, WebContext
from datagora.web.pages.everyone import wei_of
from datagora.web.render import ether, redirect, render, size

router = APIRouter(tags=["buyer pages"], include_in_schema=False)
NAV: list[NavItem] = []
_URL = TypeAdapter(HttpUrl)
EXAMPLE_QUERY = {"select": [{"aggregate": "count", "as": "rows"}]}


def node_url(text: str, what: str = "the seller's node address") -> str:
    """``text`` as an http(s) base URL. Raises ``ValidationError`` in words."""
    try:
        return str(_URL.validate_python(text.strip())).rstrip("/")
    except PydanticValidationError:
        raise ValidationError(f"{what}: {text!r} is not a web address such as http://127.0.0.1:8701") from None


def _peer(ctx: WebContext, url: str) -> Any:
    if ctx.peer is None:
        raise NotConfigured("this node cannot reach other nodes")
    return ctx.peer(url)


@router.post("/my/buy")
def buy(
    request: Request,
    ctx: ContextDep,
    user: OperatorDep,
    listing_id: Annotated[int, Form(ge=1)],
    queries: Annotated[int | None, Form(ge=1, le=1_000_000)] = None,
) -> Response:
    """Pay a fixed-price listing into escrow (price plus collateral), or prepay queries of a use-right."""
    node = ctx.node
    listing = node.contracts.market.listing(listing_id)
    use_right = listing.kind == SaleKind.USE_RIGHT
    with node.acting():
        order_id, _ = use_rights.buy_listing(
            node.contracts, node.participant, listing_id, queries=(queries or 1) if use_right else None
        )
    if use_right:
        text = f"Prepaid {queries or 1} queries: order {order_id}. Next: ask your first query below."
    else:
        text = (
            f"Paid {ether(listing.price, listing.payment_token)} into escrow, plus "
            f"{ether(listing.collateral, listing.payment_token)} collateral: order {order_id}. "
            "Next: wait for the seller to deliver."
        )
    return redirect(request, f"/my/orders/{order_id}", text)


@router.post("/my/offer")
def offer(
    request: Request,
    ctx: ContextDep,
    user: OperatorDep,
    listing_id: Annotated[int, Form(ge=1)],
    amount: Annotated[str, Form(max_length=40)],
) -> Response:
    """Offer an amount on a listing open to offers (escrowed with the collateral until answered)."""
    node = ctx.node
    wei = wei_of(amount, "offer")
    if not wei:
        raise ValidationError("offer: enter an amount above 0 ETH")
    listing = node.contracts.market.listing(listing_id)
    with node.acting():
        offer_id, _ = market.make_offer(node.contracts, node.participant, listing_id, wei)
    return redirect(
        request,
        "/my/orders",
        f"Offered {ether(wei)} (offer {offer_id}); it is escrowed with {ether(listing.collateral)} collateral. "
        "Next: the seller accepts, rejects or counters.",
    )


@router.post("/my/offers/{offer_id}/mine")
def my_offer(
    request: Request,
    ctx: ContextDep,
    user: OperatorDep,
    offer_id: int,
    action: Annotated[str, Form(pattern="^(accept|withdraw)$")],
    counter: Annotated[int | None, Form(ge=1)] = None,
) -> Response:
    """Accept the seller's counter-offer the page showed (``counter``, wei: the contract refuses it if the seller
    has changed it since), or withdraw the offer (its escrow is returned)."""
    node = ctx.node
    with node.acting():
        if action == "accept":
            if counter is None:
                raise ValidationError("offer: there is no counter-offer to accept")
            order_id, _ = market.accept_counter(node.contracts, node.participant, offer_id, counter)
            return redirect(request, f"/my/orders/{order_id}", f"Counter-offer accepted: order {order_id}.")
        market.withdraw_offer(node.contracts, node.participant, offer_id)
    return redirect(request, "/my/orders", "Offer withdrawn: its escrow is owed back to you (see Balance).")


@router.post("/my/bid")
def bid(
    request: Request,
    ctx: ContextDep,
    user: OperatorDep,
    listing_id: Annotated[int, Form(ge=1)],
    amount: Annotated[str, Form(max_length=40)],
) -> Response:
    """Bid in an auction (escrowed with the collateral; returned when outbid)."""
    node = ctx.node
    wei = wei_of(amount, "bid")
    if not wei:
        raise ValidationError("bid: enter an amount above 0 ETH")
    listing = node.contracts.market.listing(listing_id)
    if listing.pricing != Pricing.AUCTION:
        raise ValidationError(f"listing {listing_id} is not an auction")
    with node.acting():
        market.bid(node.contracts, node.participant, listing_id, wei)
    return redirect(
        request,
        f"/catalogue/{listing.token_id}",
        f"Bid {ether(wei)} placed. Next: if nobody outbids you, the auction becomes your order when it ends.",
    )


@router.get("/my/orders")
def my_orders(request: Request, ctx: ContextDep, user: OperatorDep) -> Response:
    """The node's orders as buyer and as seller, newest first, each with the next step; open offers."""
    node = ctx.node
    orders = accounts.orders_of(node.contracts, node.address)
    offers = [o for o in accounts.offers_by(node.contracts, node.address) if o.state.name in ("OPEN", "COUNTERED")]
    return render(request, "buyer/orders.html", {"orders": orders, "offers": offers})


def _order_view(ctx: WebContext, order_id: int) -> dict[str, Any]:
    node = ctx.node
    order, listing, dataset = market.order_context(node.contracts, order_id)
    role = "buyer" if node.is_operator(order.buyer) else "seller" if node.is_operator(listing.seller) else ""
    now = node.chain.now()
    words, _ = accounts.next_step(order, listing, role or "buyer", now)
    received = node.participant.paths.received / f"dataset-{dataset.token_id}"
    return {
        "order": order,
        "listing": listing,
        "dataset": dataset,
        "role": role,
        "next_step": words,
        "now": now,
        "received": received.exists(),
        "OrderState": OrderState,
        "example_query": json.dumps(EXAMPLE_QUERY),
        "answer": None,
        "budget": _own_budget(ctx, order_id) if role == "seller" and order.is_use_right else None,
        "refusal": "",
    }


def _own_budget(ctx: WebContext, order_id: int) -> use_rights.PrivacyBudget | None:
    """The buyer organisation's privacy budget as this (the seller's) node keeps it; None when this node holds no
    policy for the listing (it was listed from elsewhere)."""
    try:
        return use_rights.privacy_budget(ctx.node.contracts, ctx.node.participant, order_id)
    except NotFoundError:
        return None


def _remote_budget(ctx: WebContext, order_id: int, seller_url: str) -> Any:
    """The buyer's view of its organisation's privacy budget, asked from the seller's node (which keeps it);
    None when that node cannot say (its refusal is not the page's subject)."""
    try:
        return _peer(ctx, seller_url).privacy_budget(order_id)
    except DatagoraError:
        return None


@router.get("/my/orders/{order_id}")
def order_page(request: Request, ctx: ContextDep, user: OperatorDep, order_id: int, seller_url: str = "") -> Response:
    """One order: its state, deadline, next step and the actions this node can take on it; for a use-right, the
    buyer organisation's privacy budget (the seller's node keeps it: a buyer's page asks ``seller_url``)."""
    view = _order_view(ctx, order_id)
    if seller_url and view["role"] == "buyer" and view["order"].is_use_right:
        url = node_url(seller_url)
        view["seller_url"] = url
        view["budget"] = _remote_budget(ctx, order_id, url)
    return render(request, "buyer/order.html", view)


@router.post("/my/orders/{order_id}/receive")
def receive(
    request: Request,
    ctx: ContextDep,
    user: OperatorDep,
    order_id: int,
    seller_url: Annotated[str, Form(max_length=512)],
) -> Response:
    """Download the delivery from the seller's node, check its hash on the chain, decrypt it on this node with
    this node's key and check the data against the dataset's content hash."""
    node = ctx.node
    dataset = market.order_context(node.contracts, order_id)[2]
    out = node.participant.paths.received / f"dataset-{dataset.token_id}"
    receipt = market.fetch_and_receive(
        node.contracts, node.participant, order_id, _peer(ctx, node_url(seller_url)), out
    )
    return redirect(
        request,
        f"/my/orders/{order_id}",
        f"Downloaded and decrypted {size(receipt.size)} on this node; both hashes match the chain "
        f"(kept as {receipt.path.name}). Next: confirm the order, or dispute it if the data is not as described.",
    )


@router.post("/my/orders/{order_id}/settle")
def settle(
    request: Request,
    ctx: ContextDep,
    user: OperatorDep,
    order_id: int,
    action: Annotated[str, Form(pattern="^(confirm|refund|release|expire)$")],
) -> Response:
    """Confirm a delivery (the seller is paid, the dataset is yours), take a refund of an undelivered order,
    release an unconfirmed one to the seller, or close a use-right whose window ended."""
    node = ctx.node
    node.contracts.market.order(order_id)
    with node.acting():
        if action == "confirm":
            market.confirm(node.contracts, node.participant, order_id)
            text = "Confirmed: the seller is paid, the collateral is owed back, the dataset is yours. Next: rate it."
        elif action == "refund":
            market.refund(node.contracts, node.participant, order_id)
            text = "Refunded: withdraw your money on the Balance page."
        elif action == "release":
            market.release(node.contracts, node.participant, order_id)
            text = "Released to the seller: withdraw on the Balance page."
        else:
            market.expire_use_right(node.contracts, node.participant, order_id)
            text = "Closed: the unused credit is owed back to the buyer."
    return redirect(request, f"/my/orders/{order_id}", text)


@router.post("/my/orders/{order_id}/dispute")
def dispute(
    request: Request,
    ctx: ContextDep,
    user: OperatorDep,
    order_id: int,
    reason: Annotated[str, Form(min_length=3, max_length=1_000)],
) -> Response:
    """Dispute a delivered order: the platform arbitrates from the fingerprints and the evidence."""
    node = ctx.node
    node.contracts.market.order(order_id)
    with node.acting():
        market.dispute(node.contracts, node.participant, order_id, reason)
    return redirect(
        request,
        f"/my/orders/{order_id}",
        "Disputed: the platform will rule. Your reason stays on this node; its hash is on the chain.",
    )


@router.post("/my/orders/{order_id}/rate")
def rate(
    request: Request,
    ctx: ContextDep,
    user: OperatorDep,
    order_id: int,
    score: Annotated[int, Form(ge=1, le=5)],
) -> Response:
    """Rate the other party of a completed order (1 to 5)."""
    node = ctx.node
    with node.acting():
        rated, _ = reputation.rate_counterparty(node.contracts, node.participant, order_id, score)
    return redirect(request, f"/my/orders/{order_id}", f"Rated {rated} {score} out of 5.")


@router.post("/my/orders/{order_id}/query")
def query(
    request: Request,
    ctx: ContextDep,
    user: OperatorDep,
    order_id: int,
    seller_url: Annotated[str, Form(max_length=512)],
    spec: Annotated[str, Form(max_length=20_000)],
) -> Response:
    """Sign the order's next query (EIP-712) with this node's key, send it to the seller's node and check the
    answer against the result hash recorded on the chain."""
    node = ctx.node
    try:
        doc = json.loads(spec)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"the query is not JSON: {exc.msg} at line {exc.lineno}") from None
    question = QuerySpec.from_dict(doc)
    url = node_url(seller_url)
    try:
        checked = use_rights.ask(node.contracts, node.participant, order_id, question, _peer(ctx, url))
    except DatagoraError as exc:
        detail = " ".join(str(getattr(exc, "detail", exc)).split())
        if not detail.startswith("privacy budget:"):
            raise
        view = _order_view(ctx, order_id)
        view.update(seller_url=url, spec=spec, budget=_remote_budget(ctx, order_id, url))
        view["refusal"] = (
            "Refused: your organisation's privacy budget on this dataset is spent, so the seller's node answers no "
            f"more queries on it (nothing was charged). The seller's node said: {detail}"
        )
        return render(request, "buyer/order.html", view, status=403)
    result = checked.answer.result.to_dict()
    view = _order_view(ctx, order_id)
    view["budget"] = _remote_budget(ctx, order_id, url)
    view["answer"] = {
        "columns": result.get("columns", []),
        "rows": result.get("rows", []),
        "other": {k: v for k, v in result.items() if k not in ("columns", "rows", "privacy")},
        "privacy": result.get("privacy"),
        "verified": checked.verified,
        "index": checked.request.index,
        "queries_left": checked.queries_left,
        "result_hash": "0x" + checked.answer.result.result_hash().hex(),
        "tx_hash": checked.answer.tx.tx_hash,
    }
    view["seller_url"] = url
    view["spec"] = spec
    return render(request, "buyer/order.html", view)
