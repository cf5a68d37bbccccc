"""The shop node's service (``datagora.services.shop``) on the embedded chain: the catalogue CSV and its errors,
carts that survive a restart, checkout signed by the shop and paid by the customer from their own account, the
order history read from the index, delivery, confirmation, refund after the deadline, the same cart paid from
two tabs, an account that cannot pay, and the discount plug-in point."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from datagora.domain.errors import InsufficientFunds, NotFoundError, TransactionReverted, ValidationError
from datagora.domain.models import OrderState
from datagora.index import EventIndexer, open_engine
from datagora.services import shop
from datagora.storage.shop_store import ShopStore
from tests.world import ETHER, World

EMBEDDED = pytest.mark.parametrize("world_base", ["embedded"], indirect=True, scope="module")

CSV = """sku,name,category,price_eth,stock,description
BEANS,Espresso beans 1 kg,coffee,0.25,10,Dark roast
MUG,Stoneware mug,tableware,0.05,3,
"""
DAY = 86_400


@dataclass
class Shopfront:
    world: World
    service: shop.ShopService
    indexer: EventIndexer
    customer: LocalAccount
    home: Path

    def sync(self) -> None:
        self.indexer.sync()


@pytest.fixture
def sf(world: World, tmp_path: Path) -> Iterator[Shopfront]:
    catalogue = shop.parse_catalogue(CSV, "test.csv")
    engine = open_engine(f"sqlite:///{tmp_path / 'index.db'}")
    store = ShopStore(tmp_path / "shop.sqlite")
    service = shop.ShopService(world.contracts, world.seller.account, catalogue, store, engine)
    shop.open_shop(world.contracts, world.seller.account, bond=5 * ETHER, delivery_window=DAY, confirm_window=DAY)
    customer = Account.create()
    world.chain.fund(customer.address, 3 * ETHER)
    yield Shopfront(world, service, EventIndexer(world.contracts, engine), customer, tmp_path)
    engine.dispose()


def test_catalogue_rows_and_prices() -> None:
    cat = shop.parse_catalogue(CSV)
    assert list(cat.products) == ["BEANS", "MUG"]
    assert cat.get("BEANS").price_wei == ETHER // 4 and cat.get("MUG").stock == 3
    assert shop.price_in_wei("0.000000000000000001") == 1
    shipped = shop.load_catalogue(shop.shipped_catalogue())
    assert len(shipped) >= 30 and all(p.price_wei > 0 for p in shipped.products.values())


@pytest.mark.parametrize(
    ("row", "words"),
    [
        ("X,Thing,misc,abc,1,", "line 2: price_eth: 'abc' is not an amount in ETH"),
        ("X,Thing,misc,0.0000000000000000001,1,", "more than 18 decimals"),
        ("X,Thing,misc,0,1,", "more than 0 ETH"),
        ("X,Thing,misc,0.1,-2,", "stock '-2' must be a whole number"),
        ("bad sku!,Thing,misc,0.1,1,", "sku 'bad sku!'"),
        (",Thing,misc,0.1,1,", "sku ''"),
        ("X,,misc,0.1,1,", "name must be 1-200 characters"),
        ("X,Thing,misc,0.1,1,a,b", "more values than columns"),
    ],
)
def test_catalogue_bad_rows_are_named(row: str, words: str) -> None:
    with pytest.raises(shop.CatalogueError, match=re.escape(words)):
        shop.parse_catalogue(CSV.splitlines()[0] + "\n" + row + "\n")


def test_catalogue_header_duplicates_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(shop.CatalogueError, match="missing: price_eth, stock"):
        shop.parse_catalogue("sku,name,category\nA,B,C\n")
    with pytest.raises(shop.CatalogueError, match="sku 'BEANS' appears twice"):
        shop.parse_catalogue(CSV + "BEANS,Again,coffee,1,1,\n")
    with pytest.raises(shop.CatalogueError, match="no product"):
        shop.parse_catalogue(CSV.splitlines()[0] + "\n")
    with pytest.raises(shop.CatalogueError, match="no catalogue file"):
        shop.load_catalogue(tmp_path / "absent.csv")


@EMBEDDED
def test_cart_survives_a_restart_and_checks_stock(sf: Shopfront) -> None:
    who = sf.customer.address
    sf.service.add(who, "BEANS", 2)
    sf.service.add(who, "MUG")
    sf.service.add(who, "BEANS")
    with pytest.raises(ValidationError, match="only 3 of 'Stoneware mug' left in stock"):
        sf.service.add(who, "MUG", 3)
    with pytest.raises(NotFoundError, match="sells no product 'TEA'"):
        sf.service.add(who, "TEA")
    restarted = shop.ShopService(
        sf.world.contracts,
        sf.world.seller.account,
        sf.service.catalogue,
        ShopStore(sf.home / "shop.sqlite"),
        sf.service.engine,
    )
    cart = restarted.cart(who)
    assert [(line.product.sku, line.quantity) for line in cart.lines] == [("BEANS", 3), ("MUG", 1)]
    assert cart.total == 3 * ETHER // 4 + ETHER // 20 and cart.cart_id == sf.service.cart(who).cart_id
    assert restarted.remove(who, "MUG").items == 3


@EMBEDDED
def test_checkout_pay_deliver_confirm_from_the_index(sf: Shopfront) -> None:
    c, who = sf.world.contracts, sf.customer.address
    sf.service.add(who, "BEANS", 2)
    quote = sf.service.quote(who)
    assert quote.amount == ETHER // 2 and quote.collateral == ETHER // 2 and quote.value == ETHER
    assert sf.service.quote(who).order_hash == quote.order_hash  # the same cart, the same order
    before = sf.world.chain.balance(who)
    paid = shop.pay(c, sf.customer, quote)
    assert [e.name for e in paid.events] == ["OrderPaid"]
    assert before - sf.world.chain.balance(who) >= quote.value
    assert sf.service.cart(who).lines == () and sf.service.available("BEANS") == 8
    sf.sync()
    (order,) = sf.service.orders(buyer=who)
    assert (order.state, order.amount, order.lines[0][:3]) == ("paid", ETHER // 2, ("BEANS", "Espresso beans 1 kg", 2))
    assert order.paid_at > 0 and order.next_step(sf.world.chain.now(), who) == "waiting for the shop to deliver"
    with pytest.raises(ValidationError, match="delivery note"):
        sf.service.deliver(order.order_hash, "  ")
    sf.service.deliver(order.order_hash, "Royal Mail, tracking RM123456789GB")
    with pytest.raises(TransactionReverted, match="shop: not buyer"):
        shop.confirm(c, sf.world.buyer.account, order.order_hash)
    shop.confirm(c, sf.customer, order.order_hash)
    sf.sync()
    done = sf.service.order(order.order_hash)
    assert (done.state, done.outcome, done.seller_credit, done.buyer_credit) == (
        "completed",
        "confirmed",
        ETHER // 2,
        ETHER // 2,
    )
    assert c.shop.pending(sf.service.address) == ETHER // 2 and c.shop.pending(who) == ETHER // 2
    assert shop.withdraw(c, sf.customer) is not None and c.shop.pending(who) == 0


@EMBEDDED
def test_same_cart_from_two_tabs_second_payment_refused(sf: Shopfront) -> None:
    c, who = sf.world.contracts, sf.customer.address
    sf.service.add(who, "MUG")
    tab_a, tab_b = sf.service.quote(who), sf.service.quote(who)
    assert tab_a.order_hash == tab_b.order_hash
    shop.pay(c, sf.customer, tab_a)
    held = sf.world.chain.balance(who)
    with pytest.raises(shop.CartAlreadyPaid, match=r"already been paid.*no ether left your account"):
        shop.pay(c, sf.customer, tab_b)
    with pytest.raises(shop.CartAlreadyPaid, match="already been paid"):
        sf.service.wallet_call(tab_b)
    assert sf.world.chain.balance(who) == held  # nothing sent, not even gas
    # the contract itself refuses the race the pre-check cannot see
    with pytest.raises(TransactionReverted, match="shop: order already paid"):
        c.shop.pay(sf.customer, tab_b.order_hash, tab_b.seller, tab_b.amount, tab_b.expiry, tab_b.signature)


@EMBEDDED
def test_insufficient_balance_is_said_before_sending(sf: Shopfront) -> None:
    poor = Account.create()
    sf.world.chain.fund(poor.address, ETHER // 10)
    sf.service.add(poor.address, "BEANS")
    quote = sf.service.quote(poor.address)
    with pytest.raises(InsufficientFunds, match=r"holds 0\.1 ETH, but this order needs 0\.5 ETH \(0\.25 ETH for the"):
        shop.pay(sf.world.contracts, poor, quote)
    assert sf.world.chain.balance(poor.address) == ETHER // 10
    with pytest.raises(InsufficientFunds, match="Nothing was sent"):
        sf.service.wallet_call(quote)


@EMBEDDED
def test_wallet_call_pays_like_the_customer_node(sf: Shopfront) -> None:
    who = sf.customer.address
    sf.service.add(who, "MUG", 2)
    quote = sf.service.quote(who)
    call = sf.service.wallet_call(quote)
    assert call["to"] == sf.world.contracts.shop.address and int(call["value"], 16) == quote.value
    receipt = sf.world.chain.transact(
        sf.customer, to=call["to"], data=bytes.fromhex(call["data"][2:]), value=quote.value
    )
    assert receipt["status"] == 1 and sf.service.record_paid(quote.order_id)
    assert sf.world.contracts.shop.order(quote.order_hash).state is OrderState.PAID


@EMBEDDED
def test_refund_after_the_delivery_deadline(sf: Shopfront) -> None:
    c, who = sf.world.contracts, sf.customer.address
    sf.service.add(who, "MUG")
    quote = sf.service.quote(who)
    shop.pay(c, sf.customer, quote)
    with pytest.raises(TransactionReverted, match="shop: delivery window open"):
        shop.refund(c, sf.customer, quote.order_id)
    sf.world.chain.advance_time(DAY + 1)
    shop.refund(c, sf.customer, quote.order_id)
    sf.sync()
    order = sf.service.order(quote.order_id)
    assert (order.state, order.outcome, order.buyer_credit) == ("refunded", "not-delivered", 3 * ETHER // 20)


@EMBEDDED
def test_discount_hook_and_closed_shop(sf: Shopfront) -> None:
    who = sf.customer.address
    sf.service.add(who, "BEANS")
    quote = sf.service.quote(who, discount=lambda cart: cart.total // 5)
    assert (quote.amount, quote.discount) == (ETHER // 5, ETHER // 20)
    assert quote.order_hash != sf.service.quote(who).order_hash
    with pytest.raises(ValidationError, match="less than the cart's total"):
        sf.service.quote(who, discount=lambda cart: cart.total)
    with pytest.raises(ValidationError, match="cart is empty"):
        sf.service.quote(Account.create().address)
    closed = shop.ShopService(
        sf.world.contracts, sf.world.buyer.account, sf.service.catalogue, ShopStore(sf.home / "other.sqlite")
    )
    closed.add(who, "BEANS")
    with pytest.raises(ValidationError, match="not open on chain"):
        closed.quote(who)
