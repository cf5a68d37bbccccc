"""The shop's pages on a node started with ``datagora serve --shop CATALOG.csv`` (the shopping-cart paper:
Shrestha, Joshi, Vassileva): the catalogue, a signed-in customer's cart, checkout (the shop signs the quote; the
customer's browser wallet pays ``Shop.pay`` from their own account), their orders with confirmation and refund
(again from their wallet), and for the shop's operator every order to deliver and the shop's bond.

The wallet is asked to send only after the node has checked the cart is not paid yet (another tab) and the
account holds enough ether; each refusal is a sentence on the page and nothing is sent.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, Response

from datagora.domain.errors import DatagoraError, NotFoundError, ValidationError
from datagora.services import shop, shop_history
from datagora.services.node import Node
from datagora.web.deps import ContextDep, NavItem, OperatorDep, SignedInDep, UserDep, everyone
from datagora.web.errors import plain_message
from datagora.web.render import redirect, render

router = APIRouter(tags=["shop pages"], include_in_schema=False)


def _is_shop(node: Node) -> bool:
    return node.shop is not None


NAV: list[NavItem] = [
    NavItem("Shop", "/shop", everyone, _is_shop),
    NavItem("My orders", "/shop/orders", everyone, _is_shop),
]
ORDER = re.compile(r"^0x[0-9a-fA-F]{64}$")
SKU = Annotated[str, Form(max_length=40)]


def _shop(ctx: Any) -> shop.ShopService:
    service: shop.ShopService | None = ctx.node.shop
    if service is None:
        raise NotFoundError("this node is not a shop (its operator starts it with datagora serve --shop CATALOG.csv)")
    return service


def _order(order_hash: str) -> str:
    if not ORDER.match(order_hash):
        raise NotFoundError(f"{order_hash[:80]!r} is not an order of this shop")
    return order_hash.lower()


@router.get("/shop")
def catalogue(request: Request, ctx: ContextDep, user: UserDep, category: str = "") -> Response:
    """The catalogue: every product with its price in ETH and the units left; signed-in customers add to cart."""
    service = _shop(ctx)
    products = [p for p in service.catalogue.products.values() if not category or p.category == category]
    cart = service.cart(user.address) if user is not None else None
    return render(
        request,
        "shop/catalogue.html",
        {
            "products": products,
            "stock": service.stock(),
            "categories": service.catalogue.categories,
            "category": category,
            "cart": cart,
            "status": service.status(),
        },
    )


@router.post("/shop/cart/add")
def add_to_cart(
    request: Request,
    ctx: ContextDep,
    user: SignedInDep,
    sku: SKU,
    quantity: Annotated[int, Form(ge=1, le=shop.MAX_QUANTITY)] = 1,
) -> Response:
    """Add units of a product to the signed-in customer's cart."""
    service = _shop(ctx)
    cart = service.add(user.address, sku, quantity)
    name = service.catalogue.get(sku).name
    return redirect(request, "/shop", f"Added {quantity} × {name} to your cart ({cart.items} items).")


@router.get("/shop/cart")
def cart_page(request: Request, ctx: ContextDep, user: SignedInDep) -> Response:
    """The signed-in customer's cart: quantities, subtotals, total, check out."""
    service = _shop(ctx)
    return render(request, "shop/cart.html", {"cart": service.cart(user.address), "stock": service.stock()})


@router.post("/shop/cart/set")
def set_quantity(
    request: Request,
    ctx: ContextDep,
    user: SignedInDep,
    sku: SKU,
    quantity: Annotated[int, Form(ge=0, le=shop.MAX_QUANTITY)],
) -> Response:
    """Change the units of a product in the cart (0 removes it)."""
    service = _shop(ctx)
    service.set_quantity(user.address, sku, quantity)
    return redirect(request, "/shop/cart", "Cart updated." if quantity else "Removed from your cart.")


@router.get("/shop/checkout")
def checkout(request: Request, ctx: ContextDep, user: SignedInDep) -> Response:
    """Price the cart and have the shop sign it; show what the customer's wallet will pay, or why it cannot."""
    service = _shop(ctx)
    quote = service.quote(user.address, discount=ctx.extra.get("shop_discount"))
    problem = None
    try:
        service.payment_check(quote)
    except DatagoraError as exc:
        problem = plain_message(exc)
    balance = ctx.node.chain.balance(user.address)
    return render(
        request,
        "shop/checkout.html",
        {"quote": quote, "problem": problem, "balance": balance, "status": service.status()},
    )


@router.post("/shop/checkout/{order_hash}/call")
def payment_call(request: Request, ctx: ContextDep, user: SignedInDep, order_hash: str) -> Response:
    """JSON for the page's script: ``{"tx": {to, data, value}}`` for the wallet to send, or ``{"error": "…"}``
    when the cart is paid already, the quote expired or the account cannot pay (nothing is to be sent)."""
    service = _shop(ctx)
    quote = service.stored_quote(_order(order_hash), user.address)
    try:
        tx = service.wallet_call(quote)
    except DatagoraError as exc:
        return JSONResponse({"error": plain_message(exc)}, status_code=409, headers={"Cache-Control": "no-store"})
    return JSONResponse({"tx": tx, "from": user.address}, headers={"Cache-Control": "no-store"})


@router.post("/shop/checkout/{order_hash}/sent")
def payment_sent(
    request: Request,
    ctx: ContextDep,
    user: SignedInDep,
    order_hash: str,
    tx_hash: Annotated[str, Form(max_length=66)] = "",
) -> Response:
    """After the wallet sent the payment: the order page when the chain has it, else a note that it is on its way."""
    service = _shop(ctx)
    key = _order(order_hash)
    service.stored_quote(key, user.address)
    if service.record_paid(key):
        ctx.node.sync_index(force=True)
        shop_history.after_sync(ctx.node)  # the order joins the customer's purchase-history stream
        return redirect(request, "/shop/orders", f"Paid: order {key[:10]}… is with the shop. Thank you!")
    return redirect(
        request,
        "/shop/orders",
        f"Your payment was sent{f' (transaction {tx_hash[:12]}…)' if tx_hash else ''}; the order appears here once "
        "the chain includes it.",
        "info",
    )


@router.get("/shop/orders")
def orders(request: Request, ctx: ContextDep, user: SignedInDep) -> Response:
    """The signed-in customer's orders (the operator: every order of the shop, with delivery forms and the bond)."""
    service = _shop(ctx)
    if ctx.node.sync_index() is not None:
        shop_history.after_sync(ctx.node)  # orders paid elsewhere (CLI, another wallet) join purchase histories
    operator = ctx.node.is_operator(user.address)
    views = service.orders(buyer=None if operator else user.address)
    return render(
        request,
        "shop/orders.html",
        {
            "orders": views,
            "operator": operator,
            "now": ctx.node.chain.now(),
            "status": service.status(),
            "viewer": user.address,
        },
    )


@router.post("/shop/orders/{order_hash}/call")
def order_call(
    request: Request,
    ctx: ContextDep,
    user: SignedInDep,
    order_hash: str,
    action: Annotated[str, Form(pattern="^(confirm|refund)$")],
) -> Response:
    """JSON for the page's script: the customer's ``confirm`` or ``refund`` call for their wallet."""
    service = _shop(ctx)
    key = _order(order_hash)
    ctx.node.sync_index()
    view = service.order(key)
    if view.buyer != user.address.lower():
        return JSONResponse({"error": "Only the customer who paid this order can do this."}, status_code=403)
    return JSONResponse(
        {"tx": service.contracts.shop.call(action, bytes.fromhex(key[2:])), "from": user.address},
        headers={"Cache-Control": "no-store"},
    )


@router.post("/shop/orders/{order_hash}/done")
def order_done(
    request: Request,
    ctx: ContextDep,
    user: SignedInDep,
    order_hash: str,
    action: Annotated[str, Form(pattern="^(confirm|refund)$")],
) -> Response:
    """After the wallet sent a confirmation or refund: back to the orders with what happened."""
    service = _shop(ctx)
    key = _order(order_hash)
    ctx.node.sync_index(force=True)
    state = service.order(key).state
    done = {"confirm": state == "completed", "refund": state == "refunded"}[action]
    words = {
        "confirm": "Delivery confirmed: the shop is paid and your deposit is yours to withdraw.",
        "refund": "Refunded: your payment and both deposits are yours to withdraw.",
    }
    if done:
        return redirect(request, "/shop/orders", words[action])
    return redirect(request, "/shop/orders", "Sent; the order changes here once the chain includes it.", "info")


@router.post("/shop/orders/{order_hash}/deliver")
def deliver(
    request: Request,
    ctx: ContextDep,
    _: OperatorDep,
    order_hash: str,
    note: Annotated[str, Form(max_length=500)],
) -> Response:
    """The shop's operator marks an order delivered with its shipping note (the note's hash goes on chain)."""
    service = _shop(ctx)
    with ctx.node.acting():
        service.deliver(_order(order_hash), note)
    ctx.node.sync_index(force=True)
    return redirect(request, "/shop/orders", f"Order {order_hash[:10]}… marked delivered.")


@router.post("/shop/open")
def open_on_chain(
    request: Request,
    ctx: ContextDep,
    _: OperatorDep,
    bond: Annotated[str, Form(max_length=40)],
    deposit: Annotated[int, Form(ge=0, le=100)] = 100,
    days: Annotated[int, Form(ge=1, le=365)] = 7,
) -> Response:
    """The shop's operator opens the shop on chain: deposit in percent, days to deliver and to confirm, bond."""
    service = _shop(ctx)
    try:
        wei = shop.price_in_wei(bond)
    except ValueError as exc:
        raise ValidationError(f"bond: {exc}") from None
    with ctx.node.acting():
        shop.open_shop(
            service.contracts,
            service.seller,
            bond=wei,
            collateral_bps=deposit * 100,
            delivery_window=days * 86_400,
            confirm_window=days * 86_400,
        )
    return redirect(request, "/shop/orders", f"The shop is open, with a bond of {bond.strip()} ETH.")


@router.post("/shop/bond")
def add_bond(
    request: Request, ctx: ContextDep, _: OperatorDep, amount: Annotated[str, Form(max_length=40)]
) -> Response:
    """The shop's operator adds ether to the bond each order's deposit is locked from."""
    service = _shop(ctx)
    try:
        wei = shop.price_in_wei(amount)
    except ValueError as exc:
        raise ValidationError(f"bond: {exc}") from None
    with ctx.node.acting():
        service.contracts.shop.deposit_bond(service.seller, wei)
    return redirect(request, "/shop/orders", f"Added {amount.strip()} ETH to the shop's bond.")
