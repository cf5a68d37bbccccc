"""The shop's API (``/store``) on the embedded chain: the catalogue without sign-in, a customer's cart, a quote
the customer pays from its own account, the order history, delivery by the operator only, the same cart refused a
second time, and 404 on a node that is not a shop. A paid order reaches the customer's purchase-history stream
once the node reads the orders."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient

from datagora.api import create_app
from datagora.api.client import NodeClient, RemoteError
from datagora.api.settings import Settings
from datagora.services import consent, shop, shop_history, streams
from datagora.services.node import open_node
from tests.kits.node_fixtures import EMBEDDED, FakeClock
from tests.world import ETHER, World

pytestmark = EMBEDDED
CSV = "sku,name,category,price_eth,stock,description\nBEANS,Espresso beans 1 kg,coffee,0.25,10,Dark roast\n"


@dataclass
class ShopApi:
    world: World
    http: TestClient
    customer: LocalAccount

    def client(self, account: LocalAccount) -> NodeClient:
        return NodeClient("http://shop.test", account, http=self.http)


@pytest.fixture
def api(world: World, tmp_path: Path) -> Iterator[ShopApi]:
    catalogue = tmp_path / "catalogue.csv"
    catalogue.write_text(CSV)
    node = open_node(world.contracts, world.seller, f"sqlite:///{tmp_path / 'seller.db'}")
    node.shop = shop.open_shop_service(node, catalogue)
    shop.open_shop(world.contracts, world.seller.account, bond=2 * ETHER)
    app = create_app(node, settings=Settings(siwe_domain="shop.test", index_interval=0), clock=FakeClock(time.time()))
    customer = Account.create()
    world.chain.fund(customer.address, 2 * ETHER)
    with TestClient(app, base_url="http://shop.test") as http:
        yield ShopApi(world, http, customer)
    node.close()


def test_catalogue_cart_checkout_pay_orders_deliver(api: ShopApi) -> None:
    info = api.http.get("/store").json()
    assert info["open"] and info["collateral_bps"] == 10_000 and info["products"][0]["available"] == 10
    me = api.client(api.customer)
    cart = me.json("POST", "/store/cart/items", json={"sku": "BEANS", "quantity": 2})
    assert cart["total_wei"] == ETHER // 2 and cart["lines"][0]["quantity"] == 2
    quote = me.json("POST", "/store/checkout")
    assert quote["value_wei"] == ETHER and quote["shop_contract"] == api.world.contracts.shop.address
    c = api.world.contracts
    c.shop.pay(
        api.customer,
        bytes.fromhex(quote["order_hash"][2:]),
        quote["seller"],
        quote["amount_wei"],
        quote["expiry"],
        bytes.fromhex(quote["signature"][2:]),
    )
    (order,) = me.json("GET", "/store/orders")
    assert (order["order_hash"], order["state"], order["lines"][0]["sku"]) == (quote["order_hash"], "paid", "BEANS")
    assert me.json("GET", "/store/cart")["lines"] == []
    # reading the orders synced the index, and the shop node fed the order into the purchase-history stream
    (item_id,) = consent.published_items(c, api.customer.address, streams.PURCHASE_HISTORY)
    item = c.streams.item(item_id)
    assert item.publisher == api.world.seller.address and not item.erased
    assert c.streams.stream_id(shop_history.stream_name(api.world.seller.address)) > 0
    with pytest.raises(RemoteError) as refused:
        me.json("POST", f"/store/orders/{quote['order_hash']}/delivery", json={"note": "parcel"})
    assert refused.value.status == 403
    seller = api.client(api.world.seller.account)
    done = seller.json("POST", f"/store/orders/{quote['order_hash']}/delivery", json={"note": "DHL 123"})
    assert done["tx"]["gas_used"] > 0
    assert [o["state"] for o in seller.json("GET", "/store/orders")] == ["delivered"]


def test_same_cart_twice_and_bad_input(api: ShopApi) -> None:
    me = api.client(api.customer)
    me.json("POST", "/store/cart/items", json={"sku": "BEANS"})
    first = me.json("POST", "/store/checkout")
    api.world.contracts.shop.pay(
        api.customer,
        bytes.fromhex(first["order_hash"][2:]),
        first["seller"],
        first["amount_wei"],
        first["expiry"],
        bytes.fromhex(first["signature"][2:]),
    )
    with pytest.raises(RemoteError) as empty:
        me.json("POST", "/store/checkout")
    assert empty.value.status == 422 and "cart is empty" in empty.value.detail
    for body, status in (({"sku": "NOPE"}, 404), ({"sku": "BEANS", "quantity": 99}, 422), ({"sku": "a b"}, 422)):
        with pytest.raises(RemoteError) as bad:
            me.json("POST", "/store/cart/items", json=body)
        assert bad.value.status == status
    assert api.http.get("/store/cart").status_code == 401


def test_not_a_shop(world: World, tmp_path: Path) -> None:
    node = open_node(world.contracts, world.buyer, f"sqlite:///{tmp_path / 'buyer.db'}")
    app = create_app(node, settings=Settings(siwe_domain="buyer.test", index_interval=0))
    with TestClient(app, base_url="http://buyer.test") as http:
        answer = http.get("/store")
        assert answer.status_code == 404 and "not a shop" in answer.json()["detail"]
    node.close()


def test_pages_for_a_visitor_and_on_a_node_that_is_no_shop(api: ShopApi, world: World, tmp_path: Path) -> None:
    page = api.http.get("/shop", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "Espresso beans 1 kg" in page.text and "0.25 ETH" in page.text
    assert 'href="/shop/orders"' in page.text and "Sign in with your Ethereum account" in page.text
    cart = api.http.get("/shop/cart", headers={"Accept": "text/html"}, follow_redirects=False)
    assert cart.status_code == 303 and cart.headers["location"].endswith("/signin?next=/shop/cart")
    node = open_node(world.contracts, world.buyer, f"sqlite:///{tmp_path / 'plain.db'}")
    app = create_app(node, settings=Settings(siwe_domain="plain.test", index_interval=0))
    with TestClient(app, base_url="http://plain.test") as http:
        landing = http.get("/", headers={"Accept": "text/html"})
        assert landing.status_code == 200 and 'href="/shop"' not in landing.text
        missing = http.get("/shop", headers={"Accept": "text/html"})
        assert missing.status_code == 404 and "not a shop" in missing.text
    node.close()
