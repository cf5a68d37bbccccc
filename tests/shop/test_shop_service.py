"""The shop node's service (``datagora.services.shop``) on the embedded chain: the catalogue CSV and its errors,
carts that survive a restart, checkout signed by the shop and paid by the customer from their own account, the
order history read from the index, delivery, confirmation, refund after the deadline, the same cart paid from
two tabs, an account that cannot pay, and the discount plug-in point.

Paid orders feed the customer's purchase-history stream (``datagora.services.shop_history``): a paid order is
appended to the customer's encrypted JSON-LD purchase history and published as a stream item; a partner with the
customer's consent for purchase history receives the new history and checks it against the chain; each order is
fed once; after the customer erases their purchase history the next order starts a new history without the
erased orders. The issue's bad input on the same setup: each refusal a sentence, nothing lost."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from sqlalchemy import event as sqlalchemy_event

from datagora.domain.errors import (
    AccessDenied,
    InsufficientFunds,
    NotFoundError,
    TransactionReverted,
    ValidationError,
)
from datagora.domain.models import OrderState
from datagora.domain.refusals import access_refusal_sentence
from datagora.index import EventIndexer, open_engine
from datagora.services import consent, registry, shop, shop_history, streams
from datagora.services.participant import Participant
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


# -- paid orders in the purchase-history stream -------------------------------------------------------------


@dataclass
class HistorySetup:
    world: World
    service: shop.ShopService
    shop: Participant
    customer: Participant
    shop_index: EventIndexer
    partner_index: EventIndexer

    def buy(self, sku: str, quantity: int = 1) -> str:
        self.service.add(self.customer.address, sku, quantity)
        quote = self.service.quote(self.customer.address)
        shop.pay(self.world.contracts, self.customer.account, quote)
        self.shop_index.sync()
        return quote.order_id

    def received(self, purpose: str = "Marketing") -> tuple[consent.AccessRequest, dict[str, Any]]:
        """The partner asks for the newest purchase-history item and reads it."""
        self.partner_index.sync()
        key = streams.item_key(self.customer.address, streams.PURCHASE_HISTORY)
        newest = streams.items(self.partner_index.engine, key=key, include_erased=False)[-1]
        asked = consent.request(
            self.world.contracts, self.partner_index.engine, self.world.buyer.account, newest.item_id, purpose
        )
        assert asked.granted, asked.sentence
        delivery = consent.deliver(self.world.contracts, self.shop, asked.tx.tx_hash)
        return asked, json.loads(consent.receive(self.world.contracts, self.world.buyer, delivery))


@pytest.fixture
def setup(world: World, tmp_path: Path) -> Iterator[HistorySetup]:
    world.chain.fixed_gas = 8_000_000  # no gas estimation (a replayed binary search per transaction on this chain)
    c = world.contracts
    shop_participant = Participant("shop", world.seller.account, tmp_path / "shop")
    shop_engine = open_engine(f"sqlite:///{tmp_path / 'shop-index.db'}")
    partner_engine = open_engine(f"sqlite:///{tmp_path / 'partner-index.db'}")
    service = shop.ShopService(
        c, world.seller.account, shop.parse_catalogue(CSV), ShopStore(tmp_path / "shop.sqlite"), shop_engine
    )
    shop.open_shop(c, world.seller.account, bond=5 * ETHER, delivery_window=DAY, confirm_window=DAY)
    customer = Participant("customer", Account.create(), tmp_path / "customer")
    world.chain.fund(customer.address, 5 * ETHER)
    registry.register_customer(c, customer)
    c.reward_token.mint(world.platform.account, world.buyer.address, 20 * ETHER)
    consent.fund_rewards(c, world.buyer.account, 20 * ETHER)
    consent.grant(
        c,
        customer.account,
        streams.PURCHASE_HISTORY,
        world.orgs["buyer"],
        "Marketing",
        c.chain.now() + 30 * DAY,
        ETHER,
    )
    yield HistorySetup(
        world,
        service,
        shop_participant,
        customer,
        EventIndexer(c, shop_engine),
        EventIndexer(c, partner_engine),
    )
    shop_engine.dispose()
    partner_engine.dispose()
    world.chain.fixed_gas = None


def _skus(document: dict[str, Any]) -> list[tuple[str, int]]:
    return [
        (o["orderedItem"]["orderedItem"]["sku"], o["orderedItem"]["orderQuantity"]) for o in document["itemListElement"]
    ]


@EMBEDDED
def test_paid_orders_reach_a_consented_partner_in_the_purchase_history(setup: HistorySetup) -> None:
    c = setup.world.contracts
    first = setup.buy("MUG", 2)
    assert shop_history.feed(setup.service, setup.shop) != []
    assert shop_history.feed(setup.service, setup.shop) == []  # each order is fed once
    asked, document = setup.received()
    assert asked.reward == ETHER and c.consent.pending(setup.customer.address) == ETHER
    assert document["@type"] == "ItemList" and document["about"]["identifier"] == setup.customer.address
    assert _skus(document) == [("MUG", 2)]
    (order,) = document["itemListElement"]
    assert order["orderNumber"] == first and order["price"] == "0.1" and order["priceCurrency"] == "ETH"
    assert order["orderDate"].startswith("20")

    second = setup.buy("BEANS")
    (update,) = shop_history.feed(setup.service, setup.shop)
    assert (update.added, update.orders) == ((second,), 2)
    item = c.streams.item(update.item.item_id)
    assert item.publisher == setup.world.seller.address and not item.erased
    assert c.streams.stream_id(shop_history.stream_name(setup.world.seller.address)) == update.item.stream_id
    _, document = setup.received()
    assert _skus(document) == [("MUG", 2), ("BEANS", 1)]
    assert [o["orderNumber"] for o in document["itemListElement"]] == [first, second]


class OrderReads:
    """Counts the orders the feed reads through the real index and shop store: each order row read from the
    index looks up its quote in the store once; ``statements`` are the SQL statements that read ``shop_orders``."""

    def __init__(self, service: shop.ShopService, monkeypatch: pytest.MonkeyPatch) -> None:
        self.orders = 0
        self.statements: list[str] = []
        real = service.store.quote

        def counted(order_hash: str) -> Any:
            self.orders += 1
            return real(order_hash)

        monkeypatch.setattr(service.store, "quote", counted)
        assert service.engine is not None
        sqlalchemy_event.listen(service.engine, "before_cursor_execute", self._statement)
        self.engine = service.engine

    def _statement(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "shop_orders" in statement:
            self.statements.append(statement)

    def reset(self) -> None:
        self.orders = 0
        self.statements.clear()

    def close(self) -> None:
        sqlalchemy_event.remove(self.engine, "before_cursor_execute", self._statement)


def _history_items(setup: HistorySetup) -> int:
    setup.shop_index.sync()
    key = streams.item_key(setup.customer.address, streams.PURCHASE_HISTORY)
    return len(streams.items(setup.shop_index.engine, key=key))


@EMBEDDED
def test_the_feed_reads_only_orders_paid_since_the_last_one(
    setup: HistorySetup, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = setup.buy("MUG", 2)
    assert shop_history.feed(setup.service, setup.shop) != []
    reads = OrderReads(setup.service, monkeypatch)
    try:
        versions = _history_items(setup)
        assert shop_history.feed(setup.service, setup.shop) == []
        assert reads.orders == 0 and len(reads.statements) == 1 and "paid_block >" in reads.statements[0]
        assert _history_items(setup) == versions  # no new version published

        reads.reset()
        second = setup.buy("BEANS")
        (update,) = shop_history.feed(setup.service, setup.shop)
        assert (update.added, update.orders) == ((second,), 2)
        assert reads.orders == 2  # the new order, then the one already in this customer's history
        assert _history_items(setup) == versions + 1
        _, document = setup.received()
        assert [o["orderNumber"] for o in document["itemListElement"]] == [first, second]
    finally:
        reads.close()


@EMBEDDED
def test_a_restarted_node_keeps_the_feed_cursor(setup: HistorySetup, monkeypatch: pytest.MonkeyPatch) -> None:
    setup.buy("MUG")
    (fed,) = shop_history.feed(setup.service, setup.shop)
    root = setup.shop.paths.root
    engine = open_engine(f"sqlite:///{root.parent / 'shop-index.db'}")  # the node's files, opened afresh
    restarted = shop.ShopService(
        setup.world.contracts,
        setup.world.seller.account,
        setup.service.catalogue,
        ShopStore(root.parent / "shop.sqlite"),
        engine,
    )
    participant = Participant("shop", setup.world.seller.account, root)
    reads = OrderReads(restarted, monkeypatch)
    try:
        assert shop_history.feed(restarted, participant) == [] and reads.orders == 0

        # A reorganisation that replaced the cursor's block: every order is read again, none published twice.
        record = participant.load_record(shop_history.CURSOR_KIND, setup.world.seller.address.lower())
        participant.save_record(
            shop_history.CURSOR_KIND, setup.world.seller.address.lower(), {**record, "hash": "0x" + "00" * 32}
        )
        assert shop_history.feed(restarted, participant) == [] and reads.orders == 1
        reads.reset()
        assert shop_history.feed(restarted, participant) == [] and reads.orders == 0  # the cursor is back
        assert fed.orders == 1
    finally:
        reads.close()
        engine.dispose()


@EMBEDDED
def test_after_erasure_a_new_order_starts_a_new_history(setup: HistorySetup) -> None:
    setup.buy("MUG")
    (fed,) = shop_history.feed(setup.service, setup.shop)
    erased = consent.erase(setup.world.contracts, setup.shop, setup.customer.address, streams.PURCHASE_HISTORY)
    assert erased.key_destroyed and erased.item_ids == [fed.item.item_id]
    assert shop_history.feed(setup.service, setup.shop) == []  # the erased order is not published again
    later = setup.buy("BEANS", 3)
    (update,) = shop_history.feed(setup.service, setup.shop)
    assert (update.added, update.orders) == ((later,), 1)
    _, document = setup.received()
    assert _skus(document) == [("BEANS", 3)]


@EMBEDDED
def test_orders_this_node_did_not_quote_and_nodes_without_a_shop_are_left_alone(setup: HistorySetup) -> None:
    setup.buy("MUG")
    other = shop.ShopService(
        setup.world.contracts,
        setup.world.seller.account,
        setup.service.catalogue,
        ShopStore(setup.shop.paths.root / "other-shop.sqlite"),
        setup.service.engine,
    )
    assert shop_history.feed(other, setup.shop) == []  # no quote, no lines: nothing to tell about
    key = streams.item_key(setup.customer.address, streams.PURCHASE_HISTORY)
    assert streams.items(setup.shop_index.engine, key=key) == []


@EMBEDDED
def test_every_bad_request_is_refused_in_words_and_nothing_is_lost(setup: HistorySetup) -> None:
    """The issue's bad input, each a clear sentence, no ether, no reward token and no data lost: too little ether,
    the same cart paid from two tabs, consent for another purpose, revoked consent, expired consent, a partner
    asking for an erased category."""
    w, c = setup.world, setup.world.contracts
    who = setup.customer.address

    poor = Participant("poor", Account.create(), setup.shop.paths.root / "poor")
    w.chain.fund(poor.address, ETHER // 100)
    setup.service.add(poor.address, "BEANS")
    with pytest.raises(shop.InsufficientFunds, match=r"your account holds 0\.01 ETH, but this order needs 0\.5 ETH"):
        shop.pay(c, poor.account, setup.service.quote(poor.address))
    assert w.chain.balance(poor.address) == ETHER // 100

    setup.service.add(who, "MUG")
    tab_a, tab_b = setup.service.quote(who), setup.service.quote(who)
    shop.pay(c, setup.customer.account, tab_a)
    held = w.chain.balance(who)
    with pytest.raises(shop.CartAlreadyPaid, match="no ether left your account"):
        shop.pay(c, setup.customer.account, tab_b)
    assert w.chain.balance(who) == held
    setup.shop_index.sync()
    (fed,) = shop_history.feed(setup.service, setup.shop)

    def refused(purpose: str, reason: str) -> None:
        setup.partner_index.sync()
        deposit, owed = c.consent.deposit_of(w.buyer.address), c.consent.pending(who)
        asked = consent.request(c, setup.partner_index.engine, w.buyer.account, fed.item.item_id, purpose)
        assert asked.refusal is not None and asked.refusal.name == reason and asked.reward == 0
        assert asked.sentence == access_refusal_sentence(asked.refusal)
        assert (c.consent.deposit_of(w.buyer.address), c.consent.pending(who)) == (deposit, owed)
        with pytest.raises(AccessDenied):
            consent.deliver(c, setup.shop, asked.tx.tx_hash)

    refused("Research and development", "WRONG_PURPOSE")
    marketing = c.consent.latest_consent(
        who, streams.PURCHASE_HISTORY, w.orgs["buyer"], consent.check_purpose("Marketing")
    )
    consent.revoke(c, setup.customer.account, marketing)
    refused("Marketing", "REVOKED")
    consent.grant(
        c, setup.customer.account, streams.PURCHASE_HISTORY, w.orgs["buyer"], "Marketing", c.chain.now() + DAY, ETHER
    )
    w.chain.advance_time(2 * DAY)
    refused("Marketing", "EXPIRED")
    consent.grant(
        c, setup.customer.account, streams.PURCHASE_HISTORY, w.orgs["buyer"], "Marketing", c.chain.now() + DAY, ETHER
    )
    consent.erase(c, setup.shop, who, streams.PURCHASE_HISTORY)
    refused("Marketing", "ITEM_ERASED")
