"""Shop orders feed the customer's purchase-history stream (``datagora.services.shop_history``) on the embedded
chain: a paid order is appended to the customer's encrypted JSON-LD purchase history and published as a stream
item; a partner with the customer's consent for purchase history receives the new history and checks it against
the chain; each order is fed once; after the customer erases their purchase history the next order starts a new
history without the erased orders. The issue's bad input on the same setup: each refusal a sentence, nothing
lost."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from datagora.domain.errors import AccessDenied
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
class Setup:
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
def setup(world: World, tmp_path: Path) -> Iterator[Setup]:
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
    yield Setup(
        world,
        service,
        shop_participant,
        customer,
        EventIndexer(c, shop_engine),
        EventIndexer(c, partner_engine),
    )
    shop_engine.dispose()
    partner_engine.dispose()


def _skus(document: dict[str, Any]) -> list[tuple[str, int]]:
    return [
        (o["orderedItem"]["orderedItem"]["sku"], o["orderedItem"]["orderQuantity"]) for o in document["itemListElement"]
    ]


@EMBEDDED
def test_paid_orders_reach_a_consented_partner_in_the_purchase_history(setup: Setup) -> None:
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


@EMBEDDED
def test_after_erasure_a_new_order_starts_a_new_history(setup: Setup) -> None:
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
def test_orders_this_node_did_not_quote_and_nodes_without_a_shop_are_left_alone(setup: Setup) -> None:
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
def test_every_bad_request_is_refused_in_words_and_nothing_is_lost(setup: Setup) -> None:
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
