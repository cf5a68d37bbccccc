"""The shop node of the shopping-cart paper (Shrestha, Joshi, Vassileva, *Customer Data Sharing Platform: A
Blockchain-Based Shopping Cart*): a catalogue loaded from a CSV file, a cart per signed-in customer kept in the
node's own SQLite store, checkout in ether through ``Shop.vy`` (the shop node prices the cart and signs an EIP-712
``CartQuote``; the customer pays from their own account, with the double-deposit collateral), the order history
read from the event index, delivery by the shop, confirmation or refund by the customer.

Two sides:

- :class:`ShopService` runs on the shop's node with the seller's key: catalogue, carts, quotes, delivery,
  the shop's orders.
- :func:`pay`, :func:`confirm`, :func:`refund` run with the customer's own key (their customer node or the
  CLI); a browser wallet sends the same calls built by :meth:`ShopService.wallet_call`.

Amounts are wei (``int``), times Unix seconds. The cart's order hash is keccak256 of the canonical JSON of
(chain id, Shop contract, seller, customer, cart id, lines, discount): the same cart gives the same hash in two
browser tabs, so the contract refuses its second payment ("shop: order already paid") and the pages check it
before a wallet is asked to send anything.
"""

from __future__ import annotations

import csv
import io
import re
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING

from eth_account.signers.local import LocalAccount

from datagora.chain.contracts import Contracts
from datagora.crypto.hashing import keccak256
from datagora.domain.canonical import canonical_json
from datagora.domain.errors import Conflict, InsufficientFunds, NotFoundError, TransactionReverted, ValidationError
from datagora.domain.models import OrderState, ShopOrder, TxResult
from datagora.storage.shop_store import ShopStore, StoredQuote

if TYPE_CHECKING:  # the engine is the index adapter's; the service only reads its shop_orders table
    from sqlalchemy import Engine

    from datagora.services.node import Node

WEI_PER_ETH = 10**18
CATALOGUE_COLUMNS = ("sku", "name", "category", "price_eth", "stock", "description")
"""The catalogue CSV's header (UTF-8, comma-separated, one product per row)."""
SKU = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
MAX_QUANTITY = 1_000
"""Most units of one product in a cart."""
MAX_LINES = 100
QUOTE_TTL = 15 * 60
"""Seconds a signed quote stays valid."""
DEFAULT_COLLATERAL_BPS = 10_000
"""The seed's double deposit: each side stakes as much as the order is worth."""
DEFAULT_DELIVERY_WINDOW = 7 * 86_400
DEFAULT_CONFIRM_WINDOW = 7 * 86_400
PAY_GAS = 250_000
"""Gas a ``Shop.pay`` needs at most (measured 133,377 on the embedded EVM), for the balance check."""


class CatalogueError(ValidationError):
    """A catalogue CSV that cannot be used: each problem with its line number."""


class CartAlreadyPaid(Conflict):
    """The cart was paid already (in another tab or window): a second payment is refused."""


# -- catalogue ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Product:
    """One catalogue row: ``price_wei`` per unit, ``stock`` units on hand when the catalogue was loaded."""

    sku: str
    name: str
    category: str
    price_wei: int
    stock: int
    description: str = ""


@dataclass(frozen=True)
class Catalogue:
    """The products by SKU, in the file's order, and where they came from."""

    products: dict[str, Product]
    source: str = ""

    def get(self, sku: str) -> Product:
        """The product ``sku``; :class:`NotFoundError` when the shop does not sell it."""
        try:
            return self.products[sku]
        except KeyError:
            raise NotFoundError(f"this shop sells no product {sku!r}") from None

    def __len__(self) -> int:
        return len(self.products)

    @property
    def categories(self) -> list[str]:
        return sorted({p.category for p in self.products.values()})


def price_in_wei(text: str) -> int:
    """``"0.05"`` (ETH, up to 18 decimals, > 0) → wei; :class:`ValueError` otherwise."""
    raw = text.strip()
    if not re.fullmatch(r"\d+(\.\d+)?", raw):
        raise ValueError(f"{text!r} is not an amount in ETH (write it like 0.05)")
    if "." in raw and len(raw.split(".")[1]) > 18:
        raise ValueError(f"{text!r} has more than 18 decimals (1 wei is 0.000000000000000001 ETH)")
    try:
        wei = int(Decimal(raw) * WEI_PER_ETH)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not an amount in ETH (write it like 0.05)") from None
    if wei <= 0:
        raise ValueError("a price must be more than 0 ETH")
    if wei >= 2**96:
        raise ValueError(f"{text!r} ETH is more than the shop contract accepts for an order")
    return wei


def parse_catalogue(text: str, source: str = "catalogue") -> Catalogue:
    """Read a catalogue CSV (header :data:`CATALOGUE_COLUMNS`; ``description`` may be empty). Raises
    :class:`CatalogueError` listing every bad row ("catalogue.csv line 7: …", at most 20) and when there is no
    product."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in CATALOGUE_COLUMNS if c not in header and c != "description"]
    if missing:
        raise CatalogueError(
            f"{source}: the header must name the columns {', '.join(CATALOGUE_COLUMNS)}; missing: {', '.join(missing)}"
        )
    problems: list[str] = []
    products: dict[str, Product] = {}
    for row in reader:
        line = reader.line_num
        values = {(k or "").strip(): (v or "").strip() if isinstance(v, str) else "" for k, v in row.items()}
        if None in row:
            problems.append(f"{source} line {line}: more values than columns (quote a value holding a comma)")
            continue
        sku, name = values.get("sku", ""), values.get("name", "")
        if not SKU.match(sku):
            problems.append(f"{source} line {line}: sku {sku!r} must be 1-40 letters, digits, '-', '_' or '.'")
            continue
        if sku in products:
            problems.append(f"{source} line {line}: sku {sku!r} appears twice")
            continue
        if not name or len(name) > 200:
            problems.append(f"{source} line {line}: name must be 1-200 characters")
            continue
        try:
            price = price_in_wei(values.get("price_eth", ""))
        except ValueError as exc:
            problems.append(f"{source} line {line}: price_eth: {exc}")
            continue
        stock_text = values.get("stock", "")
        if not stock_text.isdigit() or int(stock_text) > 10**9:
            problems.append(f"{source} line {line}: stock {stock_text!r} must be a whole number of units (0 or more)")
            continue
        category = values.get("category", "") or "other"
        products[sku] = Product(sku, name, category[:80], price, int(stock_text), values.get("description", "")[:1000])
    if problems:
        shown = problems[:20] + ([f"… and {len(problems) - 20} more"] if len(problems) > 20 else [])
        raise CatalogueError("; ".join(shown))
    if not products:
        raise CatalogueError(f"{source}: no product (the file has a header but no rows)")
    return Catalogue(products, source)


def load_catalogue(path: Path) -> Catalogue:
    """Read the catalogue CSV at ``path`` (see :func:`parse_catalogue`). :class:`CatalogueError` when the file is
    missing, not UTF-8 text, or has bad rows."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CatalogueError(f"no catalogue file at {path}") from None
    except (UnicodeDecodeError, IsADirectoryError):
        raise CatalogueError(f"{path} is not a CSV text file (UTF-8)") from None
    return parse_catalogue(text, Path(path).name)


def shipped_catalogue() -> Path:
    """The product CSV shipped with Datagora (``scenarios/data/shop_products.csv``, see its README)."""
    return Path(__file__).resolve().parents[1] / "scenarios" / "data" / "shop_products.csv"


# -- carts and quotes -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CartLine:
    product: Product
    quantity: int

    @property
    def subtotal(self) -> int:
        """Wei."""
        return self.product.price_wei * self.quantity


@dataclass(frozen=True)
class Cart:
    """A customer's open cart: ``cart_id`` (32 hex digits) and its lines; ``total`` in wei."""

    customer: str
    cart_id: str
    lines: tuple[CartLine, ...]

    @property
    def total(self) -> int:
        return sum(line.subtotal for line in self.lines)

    @property
    def items(self) -> int:
        return sum(line.quantity for line in self.lines)


Discount = Callable[[Cart], int]
"""The checkout's plug-in point (loyalty points, vouchers): given the priced cart, the wei to take off its total
(0 ≤ discount < total). Whoever supplies it has already secured what backs it (e.g. points spent on the
``Points`` contract against this cart's id); the quote records the discount and the price the customer pays."""


@dataclass(frozen=True)
class Quote:
    """A signed checkout: the cart's ``order_hash`` (32 bytes), the ``customer`` who may pay it, the seller,
    ``lines`` ``(sku, name, quantity, unit price in wei)``, ``amount`` to pay in wei (after ``discount``),
    each side's ``collateral`` in wei, ``expiry`` (Unix seconds), the seller's 65-byte EIP-712 ``signature``."""

    order_hash: bytes
    customer: str
    seller: str
    cart_id: str
    lines: tuple[tuple[str, str, int, int], ...]
    amount: int
    discount: int
    collateral: int
    expiry: int
    signature: bytes

    @property
    def value(self) -> int:
        """Wei the customer sends: the amount plus their collateral (returned when they confirm delivery)."""
        return self.amount + self.collateral

    @property
    def order_id(self) -> str:
        return "0x" + self.order_hash.hex()


@dataclass(frozen=True)
class OrderView:
    """A shop order as the index has it, with the lines the shop quoted for it (empty when this node did not
    sign the quote): amounts in wei, ``deadline`` and ``paid_at`` in Unix seconds, ``state`` paid | delivered |
    completed | refunded, ``outcome`` confirmed | released | not-delivered once settled."""

    order_hash: str
    buyer: str
    seller: str
    amount: int
    collateral: int
    state: str
    deadline: int
    paid_at: int
    paid_tx: str
    delivery_hash: str | None = None
    outcome: str | None = None
    seller_credit: int | None = None
    buyer_credit: int | None = None
    lines: tuple[tuple[str, str, int, int], ...] = ()
    discount: int = 0
    paid_block: int = 0
    """The block the payment is in."""

    def next_step(self, now: int, viewer: str) -> str:
        """What happens next, in plain words, for ``viewer`` (the buyer, the seller or anyone)."""
        buyer = viewer.lower() == self.buyer.lower()
        if self.state == "paid":
            if now > self.deadline:
                return "not delivered in time: the buyer can take a refund"
            return "waiting for the shop to deliver" if buyer else "to deliver"
        if self.state == "delivered":
            if now > self.deadline:
                return "not confirmed in time: anyone can release the payment to the shop"
            return "delivered: confirm that it arrived" if buyer else "waiting for the customer's confirmation"
        if self.state == "refunded":
            return "refunded to the buyer"
        return "completed"


@dataclass(frozen=True)
class ShopStatus:
    """The shop's terms and bond on chain: collateral in basis points, windows in seconds, bond and pending
    withdrawal in wei."""

    seller: str
    open: bool
    collateral_bps: int
    delivery_window: int
    confirm_window: int
    bond: int
    owed: int


@dataclass
class ShopService:
    """The shop on its node: ``contracts``, the seller's key (``seller``, the node's operator), the catalogue, the
    store of carts and quotes, and the node's index engine (``engine``; sync it before reading orders).
    ``clock`` gives Unix seconds (the chain's time decides deadlines; this one only stamps rows)."""

    contracts: Contracts
    seller: LocalAccount
    catalogue: Catalogue
    store: ShopStore
    engine: Engine | None = None
    quote_ttl: int = QUOTE_TTL
    clock: Callable[[], float] = time.time
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def address(self) -> str:
        return str(self.seller.address)

    def _now(self) -> int:
        return int(self.clock())

    # -- catalogue and stock --

    def available(self, sku: str) -> int:
        """Units of ``sku`` still for sale (stock minus units in paid orders)."""
        return max(0, self.catalogue.get(sku).stock - self.store.sold().get(sku, 0))

    def stock(self) -> dict[str, int]:
        """Units still for sale per SKU."""
        sold = self.store.sold()
        return {sku: max(0, p.stock - sold.get(sku, 0)) for sku, p in self.catalogue.products.items()}

    # -- carts --

    def cart(self, customer: str) -> Cart:
        """``customer``'s open cart. A cart whose quote has been paid on chain is closed first (its order is in
        the history) and a new, empty one opened."""
        self._close_if_paid(customer)
        cart_id = self.store.cart_id(customer, self._now())
        lines = []
        for sku, quantity in self.store.lines(customer):
            product = self.catalogue.products.get(sku)
            if product is not None:  # a product the catalogue no longer has drops out of the cart
                lines.append(CartLine(product, quantity))
        return Cart(customer.lower(), cart_id, tuple(lines))

    def add(self, customer: str, sku: str, quantity: int = 1) -> Cart:
        """Add ``quantity`` units of ``sku`` to the cart. :class:`ValidationError` for a quantity below 1, more
        than :data:`MAX_QUANTITY` in the cart, or more than the stock left; :class:`NotFoundError` for an
        unknown product."""
        if quantity < 1:
            raise ValidationError("add at least 1 unit")
        product = self.catalogue.get(sku)
        current = {line.product.sku: line.quantity for line in self.cart(customer).lines}
        return self.set_quantity(customer, product.sku, current.get(product.sku, 0) + quantity)

    def set_quantity(self, customer: str, sku: str, quantity: int) -> Cart:
        """Set the units of ``sku`` in the cart (0 removes it). Same errors as :meth:`add`."""
        product = self.catalogue.get(sku)
        if quantity < 0 or quantity > MAX_QUANTITY:
            raise ValidationError(f"a cart holds 0 to {MAX_QUANTITY:,} units of one product")
        cart = self.cart(customer)
        if quantity > 0:
            left = self.available(sku)
            if quantity > left:
                raise ValidationError(
                    f"only {left} of {product.name!r} left in stock" if left else f"{product.name!r} is sold out"
                )
            if len(cart.lines) >= MAX_LINES and all(line.product.sku != sku for line in cart.lines):
                raise ValidationError(f"a cart holds at most {MAX_LINES} different products")
        self.store.set_quantity(customer, sku, quantity, self._now())
        return self.cart(customer)

    def remove(self, customer: str, sku: str) -> Cart:
        """Take ``sku`` out of the cart."""
        return self.set_quantity(customer, sku, 0)

    def _close_if_paid(self, customer: str) -> None:
        cart_id = self.store.cart_id(customer, self._now())
        for quote in self.store.quotes_of_cart(customer, cart_id):
            if self._paid_on_chain(quote.order_hash):
                self.store.mark_paid(quote.order_hash)
                self.store.close_cart(customer, cart_id)
                return

    def _paid_on_chain(self, order_hash: str) -> bool:
        try:
            self.contracts.shop.order(bytes.fromhex(order_hash.removeprefix("0x")))
        except NotFoundError:
            return False
        return True

    # -- checkout --

    def order_hash(self, cart: Cart, discount: int = 0) -> bytes:
        """The order hash of ``cart`` (see the module docstring): the same content of the same cart, the same
        hash."""
        body = {
            "chain": self.contracts.chain.chain_id,
            "shop": self.contracts.shop.address.lower(),
            "seller": self.address.lower(),
            "customer": cart.customer.lower(),
            "cart": cart.cart_id,
            "lines": [[line.product.sku, line.quantity, str(line.product.price_wei)] for line in cart.lines],
            "discount": str(discount),
        }
        return keccak256(canonical_json(body))

    def quote(self, customer: str, *, discount: Discount | None = None) -> Quote:
        """Price ``customer``'s cart and sign its EIP-712 ``CartQuote`` (valid :attr:`quote_ttl` seconds).

        ``discount`` is the plug-in point for loyalty points or vouchers (:data:`Discount`): called with the priced
        cart, it returns the wei taken off. Raises :class:`ValidationError` for an empty cart, a product out of
        stock, a discount outside [0, total) or a shop that is not open on chain; :class:`CartAlreadyPaid` when
        this cart's order is paid already."""
        cart = self.cart(customer)
        if not cart.lines:
            raise ValidationError("the cart is empty: add a product first")
        for line in cart.lines:
            left = self.available(line.product.sku)
            if line.quantity > left:
                raise ValidationError(
                    f"only {left} of {line.product.name!r} left in stock: change the quantity in the cart"
                )
        off = 0 if discount is None else int(discount(cart))
        if not 0 <= off < cart.total:
            raise ValidationError("a discount must be at least 0 and less than the cart's total")
        bps, _delivery, _confirm, opened = self.contracts.shop.terms(self.address)
        if not opened:
            raise ValidationError("this shop is not open on chain yet (its seller has not set its terms)")
        order_hash = self.order_hash(cart, off)
        hex_hash = "0x" + order_hash.hex()
        if self._paid_on_chain(hex_hash):
            raise CartAlreadyPaid(
                "this cart has already been paid (in another tab or window): see your orders. Nothing more was taken"
            )
        amount = cart.total - off
        expiry = self.contracts.chain.now() + self.quote_ttl
        signature = self.contracts.shop.quote(self.seller, order_hash, customer, amount, expiry)
        lines = tuple(
            (line.product.sku, line.product.name, line.quantity, line.product.price_wei) for line in cart.lines
        )
        collateral = amount * bps // 10_000
        self.store.put_quote(
            StoredQuote(
                hex_hash,
                customer,
                cart.cart_id,
                lines,
                amount,
                off,
                collateral,
                expiry,
                "0x" + signature.hex(),
                self._now(),
                False,
            )
        )
        return Quote(
            order_hash, customer.lower(), self.address, cart.cart_id, lines, amount, off, collateral, expiry, signature
        )

    def stored_quote(self, order_hash: str, customer: str) -> Quote:
        """The quote this shop signed for ``order_hash`` for ``customer``; :class:`NotFoundError` otherwise."""
        stored = self.store.quote(order_hash)
        if stored is None or stored.customer != customer.lower():
            raise NotFoundError(f"this shop signed no checkout {order_hash} for {customer}")
        return Quote(
            bytes.fromhex(stored.order_hash.removeprefix("0x")),
            stored.customer,
            self.address,
            stored.cart_id,
            stored.lines,
            stored.amount,
            stored.discount,
            stored.collateral,
            stored.expiry,
            bytes.fromhex(stored.signature.removeprefix("0x")),
        )

    def payment_check(self, quote: Quote) -> None:
        """What the pages check before a wallet is asked to send the payment: :class:`CartAlreadyPaid` when the
        cart's order exists, :class:`ValidationError` when the quote expired, :class:`InsufficientFunds` when
        the customer's account cannot pay (see :func:`check_balance`)."""
        if self._paid_on_chain(quote.order_id):
            self.store.mark_paid(quote.order_id)
            raise CartAlreadyPaid(
                "this cart has already been paid (in another tab or window), so this payment was not sent and no "
                "ether left your account. Your order is in your orders"
            )
        if self.contracts.chain.now() > quote.expiry:
            raise ValidationError("this checkout has expired: go back to the cart and check out again")
        check_balance(self.contracts, quote.customer, quote)

    def wallet_call(self, quote: Quote) -> dict[str, str]:
        """The ``Shop.pay`` call of ``quote`` for the customer's browser wallet (EIP-1193 ``eth_sendTransaction``
        params without ``from``), after :meth:`payment_check`."""
        self.payment_check(quote)
        return self.contracts.shop.call(
            "pay", quote.order_hash, self.address, quote.amount, quote.expiry, quote.signature, value=quote.value
        )

    def record_paid(self, order_hash: str) -> bool:
        """After a payment: mark the quote paid and close its cart when the chain has the order. Returns whether
        the order is on chain."""
        if not self._paid_on_chain(order_hash):
            return False
        quote = self.store.mark_paid(order_hash)
        if quote is not None:
            self.store.close_cart(quote.customer, quote.cart_id)
        return True

    # -- the seller's side --

    def status(self) -> ShopStatus:
        """Terms, bond and what the contract owes the seller."""
        bps, delivery, confirm_window, opened = self.contracts.shop.terms(self.address)
        return ShopStatus(
            self.address,
            opened,
            bps,
            delivery,
            confirm_window,
            self.contracts.shop.bond(self.address),
            self.contracts.shop.pending(self.address),
        )

    def deliver(self, order_hash: str, note: str) -> TxResult:
        """Declare ``order_hash`` delivered: ``note`` (the shipping note, e.g. carrier and tracking number, 1-500
        characters) stays with the shop; its keccak256 goes on chain as the delivery hash. Reverts: "shop: order
        not paid", "shop: not seller", "shop: delivery deadline passed"."""
        text = note.strip()
        if not text or len(text) > 500:
            raise ValidationError("write a delivery note of 1 to 500 characters (e.g. the carrier and tracking number)")
        return self.contracts.shop.deliver(self.seller, _order_bytes(order_hash), keccak256(text.encode()))

    def orders(
        self,
        *,
        buyer: str | None = None,
        after_block: int | None = None,
        order_hashes: Collection[str] | None = None,
    ) -> list[OrderView]:
        """This shop's orders from the index, newest first, each with the lines this node quoted. Filters
        (combined with AND): ``buyer``'s only, those paid in a block after ``after_block``, those among
        ``order_hashes`` (0x-hex)."""
        from sqlalchemy import select

        from datagora.index.schema import events, shop_orders

        if self.engine is None:
            raise ValidationError("this shop has no event index to read orders from")
        query = (
            select(shop_orders, events.c.timestamp)
            .join(events, (events.c.tx_hash == shop_orders.c.paid_tx) & (events.c.name == "OrderPaid"), isouter=True)
            .where(shop_orders.c.seller == self.address.lower())
        )
        if buyer is not None:
            query = query.where(shop_orders.c.buyer == buyer.lower())
        if after_block is not None:
            query = query.where(shop_orders.c.paid_block > after_block)
        if order_hashes is not None:
            query = query.where(shop_orders.c.order_hash.in_([h.lower() for h in order_hashes]))
        query = query.order_by(shop_orders.c.paid_block.desc())
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        out: list[OrderView] = []
        seen: set[str] = set()
        for r in rows:
            if r["order_hash"] in seen:
                continue
            seen.add(r["order_hash"])
            stored = self.store.quote(r["order_hash"])
            out.append(
                OrderView(
                    order_hash=r["order_hash"],
                    buyer=r["buyer"],
                    seller=r["seller"],
                    amount=int(r["amount"]),
                    collateral=int(r["collateral"]),
                    state=r["state"],
                    deadline=int(r["deadline"]),
                    paid_at=int(r["timestamp"] or 0),
                    paid_tx=r["paid_tx"],
                    delivery_hash=r["delivery_hash"],
                    outcome=r["outcome"],
                    seller_credit=None if r["seller_credit"] is None else int(r["seller_credit"]),
                    buyer_credit=None if r["buyer_credit"] is None else int(r["buyer_credit"]),
                    lines=stored.lines if stored is not None else (),
                    discount=stored.discount if stored is not None else 0,
                    paid_block=int(r["paid_block"]),
                )
            )
        return out

    def order(self, order_hash: str) -> OrderView:
        """One order of this shop from the index; :class:`NotFoundError` when it has none."""
        for view in self.orders():
            if view.order_hash == order_hash.lower():
                return view
        raise NotFoundError(f"this shop has no order {order_hash}")


def _order_bytes(order_hash: str | bytes) -> bytes:
    if isinstance(order_hash, bytes):
        if len(order_hash) != 32:
            raise ValidationError("an order hash is 32 bytes")
        return order_hash
    raw = order_hash.strip().removeprefix("0x")
    if not re.fullmatch(r"[0-9a-fA-F]{64}", raw):
        raise ValidationError(f"{order_hash!r} is not an order hash (0x followed by 64 hexadecimal digits)")
    return bytes.fromhex(raw)


def open_shop(
    contracts: Contracts,
    seller: LocalAccount,
    *,
    bond: int,
    collateral_bps: int = DEFAULT_COLLATERAL_BPS,
    delivery_window: int = DEFAULT_DELIVERY_WINDOW,
    confirm_window: int = DEFAULT_CONFIRM_WINDOW,
) -> list[TxResult]:
    """Open (or re-term) the seller's shop on chain and add ``bond`` wei to its bond (0: none). The seller must be
    a member of an audited organisation ("shop: seller not audited")."""
    txs = [contracts.shop.set_terms(seller, collateral_bps, delivery_window, confirm_window)]
    if bond:
        txs.append(contracts.shop.deposit_bond(seller, bond))
    return txs


# -- the customer's side --------------------------------------------------------------------------------------


def check_balance(contracts: Contracts, customer: str, quote: Quote) -> None:
    """:class:`InsufficientFunds` when ``customer`` holds less than the quote's value plus the gas of the
    payment, in words: what the account holds, what the order needs, and why."""
    held = contracts.chain.balance(customer)
    gas = PAY_GAS * _gas_price(contracts)
    if held < quote.value + gas:
        raise InsufficientFunds(
            f"your account holds {_eth(held)}, but this order needs {_eth(quote.value)} "
            f"({_eth(quote.amount)} for the items and a deposit of {_eth(quote.collateral)} that comes back when you "
            f"confirm delivery) plus about {_eth(gas)} for gas. Nothing was sent: add ether to your account or "
            "remove something from the cart"
        )


def _gas_price(contracts: Contracts) -> int:
    return contracts.chain.max_fee_per_gas()


def _eth(wei: int) -> str:
    text = f"{Decimal(wei) / WEI_PER_ETH:.6f}".rstrip("0").rstrip(".")
    return f"{text} ETH"


def pay(contracts: Contracts, customer: LocalAccount, quote: Quote) -> TxResult:
    """Pay ``quote`` from the customer's own account (amount + collateral). Checks first that the cart is not paid
    (:class:`CartAlreadyPaid`: nothing sent) and the balance (:class:`InsufficientFunds`: nothing sent); a race
    the chain decides still reverts with "shop: order already paid", raised as :class:`CartAlreadyPaid`."""
    if quote.customer.lower() != str(customer.address).lower():
        raise ValidationError("this checkout was priced for another account")
    try:
        contracts.shop.order(quote.order_hash)
    except NotFoundError:
        pass
    else:
        raise CartAlreadyPaid("this cart has already been paid: nothing was sent and no ether left your account")
    check_balance(contracts, str(customer.address), quote)
    try:
        return contracts.shop.pay(customer, quote.order_hash, quote.seller, quote.amount, quote.expiry, quote.signature)
    except TransactionReverted as exc:
        if "order already paid" in str(exc):
            raise CartAlreadyPaid(
                "this cart was paid at the same moment from elsewhere: the shop contract refused this second "
                "payment and kept none of its ether (only the gas was spent)"
            ) from exc
        raise


def confirm(contracts: Contracts, customer: LocalAccount, order_hash: str | bytes) -> TxResult:
    """The customer confirms delivery: the shop is paid, both deposits come back. Reverts "shop: order not
    delivered", "shop: not buyer"."""
    return contracts.shop.confirm(customer, _order_bytes(order_hash))


def refund(contracts: Contracts, caller: LocalAccount, order_hash: str | bytes) -> TxResult:
    """After the delivery deadline of an undelivered order, anyone refunds it: the buyer is owed the amount, its
    deposit and the shop's. Reverts "shop: order not paid", "shop: delivery window open"."""
    return contracts.shop.refund(caller, _order_bytes(order_hash))


def withdraw(contracts: Contracts, account: LocalAccount) -> TxResult | None:
    """Pay out what the Shop owes ``account`` (None when nothing is owed)."""
    if contracts.shop.pending(str(account.address)) == 0:
        return None
    return contracts.shop.withdraw(account)


def chain_order(contracts: Contracts, order_hash: str | bytes) -> ShopOrder:
    """The order as the contract has it; :class:`NotFoundError` when the cart was never paid."""
    return contracts.shop.order(_order_bytes(order_hash))


__all__ = [
    "CATALOGUE_COLUMNS",
    "Cart",
    "CartAlreadyPaid",
    "CartLine",
    "Catalogue",
    "CatalogueError",
    "Discount",
    "OrderState",
    "OrderView",
    "Product",
    "Quote",
    "ShopService",
    "ShopStatus",
    "check_balance",
    "confirm",
    "load_catalogue",
    "open_shop",
    "open_shop_service",
    "parse_catalogue",
    "pay",
    "price_in_wei",
    "refund",
    "shipped_catalogue",
    "withdraw",
]


def open_shop_service(node: Node, catalogue: Path) -> ShopService:
    """The shop of ``node`` selling the products of the CSV ``catalogue`` (checked now: :class:`CatalogueError`),
    its carts in the operator's ``shop.sqlite``, its orders read from the node's index."""
    return ShopService(
        node.contracts,
        node.participant.account,
        load_catalogue(catalogue),
        ShopStore(node.participant.paths.shop),
        node.engine,
    )
