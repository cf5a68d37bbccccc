"""The shop of a node started with ``datagora serve --shop CATALOG.csv`` (the shopping-cart paper: Shrestha,
Joshi, Vassileva), under ``/store`` (the pages are at ``/shop``). Any signed-in account is a customer: its cart,
its checkout (a quote the shop signs; the customer pays ``Shop.pay`` from its own account) and its orders. The
node's operator (the seller) sees every order and marks them delivered. Every route answers 404 on a node that is
not a shop. See ``datagora.services.shop``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, status
from pydantic import Field

from datagora.api.deps import NodeDep, OperatorDep, SessionDep
from datagora.api.schemas import TEXT_PATTERN, Out, Strict, TxOut
from datagora.domain.errors import NotFoundError
from datagora.services import shop, shop_history
from datagora.services.node import Node

router = APIRouter(prefix="/store", tags=["shop"])

SKU_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$"
ORDER_PATTERN = r"^0x[0-9a-fA-F]{64}$"
NOT_A_SHOP: dict[int | str, dict[str, Any]] = {404: {"description": "This node is not a shop"}}


def require_shop(node: NodeDep) -> shop.ShopService:
    if node.shop is None:
        raise NotFoundError("this node is not a shop (start it with datagora serve --shop CATALOG.csv)")
    return node.shop


ShopDep = Annotated[shop.ShopService, Depends(require_shop)]
SkuPath = Annotated[str, Path(pattern=SKU_PATTERN, description="A product's SKU.")]
OrderPath = Annotated[str, Path(pattern=ORDER_PATTERN, description="An order hash, 0x + 64 hex digits.")]


class ProductOut(Out):
    sku: str
    name: str
    category: str
    description: str
    price_wei: int = Field(description="Price of one unit in wei.")
    available: int = Field(description="Units still for sale.")


class ShopOut(Out):
    seller: str
    shop_contract: str
    chain_id: int
    open: bool
    collateral_bps: int = Field(description="Deposit each side stakes, in basis points of the order (10000 = 100 %).")
    delivery_window: int = Field(description="Seconds the shop has to deliver after payment.")
    confirm_window: int = Field(description="Seconds the customer has to confirm after delivery.")
    bond: int = Field(description="The seller's free bond in wei.")
    products: list[ProductOut]


class CartLineOut(Out):
    sku: str
    name: str
    quantity: int
    price_wei: int
    subtotal_wei: int


class CartOut(Out):
    customer: str
    cart_id: str
    lines: list[CartLineOut]
    total_wei: int


class CartItemIn(Strict):
    sku: str = Field(pattern=SKU_PATTERN)
    quantity: int = Field(default=1, ge=1, le=shop.MAX_QUANTITY)


class QuantityIn(Strict):
    quantity: int = Field(ge=0, le=shop.MAX_QUANTITY, description="0 removes the product from the cart.")


class QuoteOut(Out):
    order_hash: str
    customer: str
    seller: str
    shop_contract: str
    chain_id: int
    amount_wei: int = Field(description="The price the customer pays (after any discount).")
    discount_wei: int
    collateral_wei: int = Field(description="The customer's deposit, returned when it confirms delivery.")
    value_wei: int = Field(description="What Shop.pay must send: amount + collateral.")
    expiry: int = Field(description="Unix seconds until which the quote may be paid.")
    signature: str = Field(description="The seller's EIP-712 signature of CartQuote(orderHash, buyer, amount, expiry).")
    lines: list[CartLineOut]


class OrderOut(Out):
    order_hash: str
    buyer: str
    seller: str
    amount_wei: int
    collateral_wei: int
    state: str = Field(description="paid, delivered, completed or refunded.")
    deadline: int = Field(description="Unix seconds: to deliver while paid, to confirm once delivered.")
    paid_at: int
    paid_tx: str
    delivery_hash: str | None
    outcome: str | None
    lines: list[CartLineOut]


class DeliveryIn(Strict):
    note: str = Field(
        min_length=1,
        max_length=500,
        pattern=TEXT_PATTERN,
        description="The shipping note (carrier, tracking number); only its hash goes on chain.",
    )


class DeliveryOut(Out):
    order_hash: str
    delivery_hash: str
    tx: TxOut


def _lines(lines: tuple[tuple[str, str, int, int], ...]) -> list[CartLineOut]:
    return [CartLineOut(sku=s, name=n, quantity=q, price_wei=p, subtotal_wei=q * p) for s, n, q, p in lines]


def _cart(cart: shop.Cart) -> CartOut:
    return CartOut(
        customer=cart.customer,
        cart_id=cart.cart_id,
        lines=_lines(tuple((li.product.sku, li.product.name, li.quantity, li.product.price_wei) for li in cart.lines)),
        total_wei=cart.total,
    )


def _order(o: shop.OrderView) -> OrderOut:
    return OrderOut(
        order_hash=o.order_hash,
        buyer=o.buyer,
        seller=o.seller,
        amount_wei=o.amount,
        collateral_wei=o.collateral,
        state=o.state,
        deadline=o.deadline,
        paid_at=o.paid_at,
        paid_tx=o.paid_tx,
        delivery_hash=o.delivery_hash,
        outcome=o.outcome,
        lines=_lines(o.lines),
    )


@router.get("", response_model=ShopOut, responses=NOT_A_SHOP)
def shop_info(service: ShopDep) -> ShopOut:
    """The shop: its seller, terms and bond on chain, and the catalogue with the units left. No sign-in."""
    s = service.status()
    stock = service.stock()
    return ShopOut(
        seller=s.seller,
        shop_contract=service.contracts.shop.address,
        chain_id=service.contracts.chain.chain_id,
        open=s.open,
        collateral_bps=s.collateral_bps,
        delivery_window=s.delivery_window,
        confirm_window=s.confirm_window,
        bond=s.bond,
        products=[
            ProductOut(
                sku=p.sku,
                name=p.name,
                category=p.category,
                description=p.description,
                price_wei=p.price_wei,
                available=stock[p.sku],
            )
            for p in service.catalogue.products.values()
        ],
    )


@router.get("/cart", response_model=CartOut, responses=NOT_A_SHOP)
def cart(service: ShopDep, session: SessionDep) -> CartOut:
    """The signed-in customer's cart (kept by the shop node; it survives a restart)."""
    return _cart(service.cart(session.address))


@router.post("/cart/items", response_model=CartOut, responses={**NOT_A_SHOP, 422: {"description": "Out of stock"}})
def add_to_cart(body: CartItemIn, service: ShopDep, session: SessionDep) -> CartOut:
    """Add units of a product to the signed-in customer's cart."""
    return _cart(service.add(session.address, body.sku, body.quantity))


@router.put("/cart/items/{sku}", response_model=CartOut, responses=NOT_A_SHOP)
def set_quantity(sku: SkuPath, body: QuantityIn, service: ShopDep, session: SessionDep) -> CartOut:
    """Set the units of a product in the cart (0 removes it)."""
    return _cart(service.set_quantity(session.address, sku, body.quantity))


@router.post(
    "/checkout",
    status_code=status.HTTP_201_CREATED,
    response_model=QuoteOut,
    responses={
        **NOT_A_SHOP,
        409: {"description": "This cart has been paid already"},
        422: {"description": "The cart is empty, a product is out of stock, or the shop is not open on chain"},
    },
)
def checkout(request: Request, service: ShopDep, session: SessionDep) -> QuoteOut:
    """Price the signed-in customer's cart and sign its quote. The customer then calls ``Shop.pay(order_hash,
    seller, amount_wei, expiry, signature)`` with ``value_wei`` from its own account. The same cart gives the
    same order hash: a cart can be paid once."""
    quote = service.quote(session.address, discount=_discount(request))
    return QuoteOut(
        order_hash=quote.order_id,
        customer=quote.customer,
        seller=quote.seller,
        shop_contract=service.contracts.shop.address,
        chain_id=service.contracts.chain.chain_id,
        amount_wei=quote.amount,
        discount_wei=quote.discount,
        collateral_wei=quote.collateral,
        value_wei=quote.value,
        expiry=quote.expiry,
        signature="0x" + quote.signature.hex(),
        lines=_lines(quote.lines),
    )


def _discount(request: Request) -> shop.Discount | None:
    """The checkout's discount step, when one is installed (``app.state.shop_discount``, e.g. loyalty points)."""
    hook: shop.Discount | None = getattr(request.app.state, "shop_discount", None)
    return hook


@router.get("/orders", response_model=list[OrderOut], responses=NOT_A_SHOP)
def orders(node: NodeDep, service: ShopDep, session: SessionDep) -> list[OrderOut]:
    """The signed-in customer's orders, newest first (the operator's: every order of the shop)."""
    _sync(node)
    buyer = None if node.is_operator(session.address) else session.address
    return [_order(o) for o in service.orders(buyer=buyer)]


@router.post(
    "/orders/{order_hash}/delivery",
    status_code=status.HTTP_201_CREATED,
    response_model=DeliveryOut,
    responses={**NOT_A_SHOP, 409: {"description": "The contract refused (not paid, deadline passed)"}},
)
def deliver(order_hash: OrderPath, body: DeliveryIn, node: NodeDep, service: ShopDep, _: OperatorDep) -> DeliveryOut:
    """Mark an order delivered with its shipping note (only the note's keccak256 goes on chain). Operator only."""
    with node.acting():
        tx = service.deliver(order_hash, body.note)
    from datagora.crypto.hashing import keccak256

    return DeliveryOut(
        order_hash=order_hash.lower(),
        delivery_hash="0x" + keccak256(body.note.strip().encode()).hex(),
        tx=TxOut.of(tx),
    )


def _sync(node: Node) -> None:
    if node.sync_index() is not None:
        shop_history.after_sync(node)  # paid orders join their customers' purchase-history streams
