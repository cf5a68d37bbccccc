"""Loyalty points spent at the shop's checkout (the shop of ``datagora.services.shop``, its ``Discount`` hook):
the customer spends 600 points of the brand with their own key against their cart, the shop's quote takes the
brand's rate off the cart's total, the customer pays the discounted amount; points spent on another cart do not
count, and points worth the whole cart are refused before anything is signed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account

from datagora.domain.errors import ValidationError
from datagora.index import open_engine
from datagora.services import points, shop
from datagora.storage.shop_store import ShopStore
from tests.world import ETHER, World

pytestmark = pytest.mark.parametrize("world_base", ["embedded"], indirect=True, scope="module")

CSV = """sku,name,category,price_eth,stock,description
CUFF,Silver cufflinks,accessories,0.5,10,Pair
"""
POINT_VALUE = 10**14
"""Wei one point takes off: 0.0001 ETH, so 600 points take 0.06 ETH."""


@pytest.fixture
def service(world: World, tmp_path: Path) -> Iterator[shop.ShopService]:
    engine = open_engine(f"sqlite:///{tmp_path / 'index.db'}")
    store = ShopStore(tmp_path / "shop.sqlite")
    yield shop.ShopService(world.contracts, world.seller.account, shop.parse_catalogue(CSV), store, engine)
    engine.dispose()


def test_points_spent_on_the_cart_lower_what_the_customer_pays(world: World, service: shop.ShopService) -> None:
    c = world.contracts
    shop.open_shop(c, world.seller.account, bond=5 * ETHER, delivery_window=86_400, confirm_window=86_400)
    parties = [world.seller.address, world.platform.address, world.supervisor.address]
    brand, _ = points.register_brand(c, world.platform.account, "Cufflinks & Co", world.seller.address, parties)
    c.points.set_issuer(world.seller.account, brand, world.seller.address)
    points.set_point_value(c, world.seller.account, brand, POINT_VALUE)
    mallory = Account.create()
    world.chain.fund(mallory.address, 3 * ETHER)
    points.issue(c, world.seller.account, brand, mallory.address, 2_600, b"\x02" * 32)

    service.add(mallory.address, "CUFF", 1)
    cart = service.cart(mallory.address)
    points.spend_at_checkout(c, mallory, brand, service.address, cart.cart_id, 600)
    discount = points.points_discount(c, brand, service.address)
    quote = service.quote(mallory.address, discount=discount)
    assert (quote.discount, quote.amount) == (600 * POINT_VALUE, ETHER // 2 - 600 * POINT_VALUE)
    before = world.chain.balance(mallory.address)
    shop.pay(c, mallory, quote)
    spent_wei = before - world.chain.balance(mallory.address)
    assert quote.value <= spent_wei < quote.value + ETHER // 100  # the discounted price, collateral and gas
    assert c.points.balance(brand, mallory.address) == 2_000

    # points worth the whole next cart are refused before the shop signs anything
    service.add(mallory.address, "CUFF", 1)
    nxt = service.cart(mallory.address)
    assert nxt.cart_id != cart.cart_id
    assert service.quote(mallory.address, discount=discount).discount == 0  # the first cart's points stay there
    points.set_point_value(c, world.seller.account, brand, ETHER)
    points.spend_at_checkout(c, mallory, brand, service.address, nxt.cart_id, 1)
    with pytest.raises(ValidationError, match="worth more than the cart"):
        service.quote(mallory.address, discount=discount)
