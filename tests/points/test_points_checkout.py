"""Points spent at a shop's checkout: the brand sets what a point takes off (``set_point_value``), the customer
spends points with their own key against the shop's cart (``PointsSpent`` carries the cart reference,
``spent_on`` adds it up), and the shop's discount hook turns them into wei off the cart. Refusals: not the brand's
admin, too few points, points worth the whole cart, malformed references."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from hypothesis import given, settings
from hypothesis import strategies as st

from datagora.chain.client import EmbeddedChain
from datagora.chain.contracts import Contracts
from datagora.domain.errors import TransactionReverted, ValidationError
from datagora.services import points

WEI = 10**18
SHOP = "0x" + "5a" * 20
CART = "0f" * 16


@dataclass(frozen=True)
class Cart:
    cart_id: str
    total: int


@dataclass
class Stage:
    contracts: Contracts
    admin: LocalAccount
    customer: LocalAccount
    brand: int


@pytest.fixture(scope="module")
def stage() -> Stage:
    chain = EmbeddedChain()
    platform, admin, helper, customer = (Account.create() for _ in range(4))
    for account in (platform, admin, customer):
        chain.fund(account.address, 10 * WEI)
    contracts = Contracts.deploy(chain, platform, platform, only=["BrandPoints", "Points"])
    brand, _ = points.register_brand(
        contracts, platform, "Cufflinks & Co", admin.address, [admin.address, platform.address, helper.address]
    )
    contracts.points.set_issuer(admin, brand, admin.address)
    points.issue(contracts, admin, brand, customer.address, 3_000, b"\x01" * 32)
    return Stage(contracts, admin, customer, brand)


def test_points_spent_on_a_cart_take_the_brands_rate_off_its_checkout(stage: Stage) -> None:
    c = stage.contracts
    tx = points.set_point_value(c, stage.admin, stage.brand, 10**12)  # a point takes 0.000001 ETH off
    (event,) = [e for e in tx.events if e.name == "PointValueSet"]
    assert (event.args["brand"], event.args["admin"], event.args["wei_per_point"]) == (
        stage.brand,
        stage.admin.address,
        10**12,
    )
    hook = points.points_discount(c, stage.brand, SHOP)
    assert hook(Cart(CART, WEI)) == 0  # nothing spent on this cart yet
    spent = points.spend_at_checkout(c, stage.customer, stage.brand, SHOP, CART, 600)
    (burn,) = [e for e in spent.events if e.name == "PointsSpent"]
    ref = points.cart_reference(SHOP, CART)
    assert burn.args["order_ref"] == ref and burn.args["amount"] == 600
    assert c.points.spent_on(stage.brand, ref) == 600
    assert c.points.balance(stage.brand, stage.customer.address) == 2_400
    assert hook(Cart(CART, WEI)) == 600 * 10**12
    assert hook(Cart("1f" * 16, WEI)) == 0  # another cart: those points do not count
    with pytest.raises(ValidationError, match="worth more than the cart"):
        hook(Cart(CART, 600 * 10**12))


def test_checkout_refusals(stage: Stage) -> None:
    c = stage.contracts
    with pytest.raises(TransactionReverted, match="points: not the brand admin"):
        points.set_point_value(c, stage.customer, stage.brand, 1)
    with pytest.raises(TransactionReverted, match="points: insufficient points"):
        points.spend_at_checkout(c, stage.customer, stage.brand, SHOP, "2f" * 16, 10**9)
    with pytest.raises(ValidationError):
        points.set_point_value(c, stage.admin, stage.brand, -1)
    for shop, cart in ((SHOP, "zz"), (SHOP, "0f" * 15), ("0x12", CART)):
        with pytest.raises(ValidationError):
            points.cart_reference(shop, cart)


@settings(max_examples=30, deadline=None)
@given(
    shop=st.binary(min_size=20, max_size=20),
    a=st.binary(min_size=16, max_size=16),
    b=st.binary(min_size=16, max_size=16),
)
def test_cart_references_differ_per_cart_and_are_stable(shop: bytes, a: bytes, b: bytes) -> None:
    address = "0x" + shop.hex()
    assert points.cart_reference(address, a.hex()) == points.cart_reference(
        address.upper().replace("0X", "0x"), a.hex()
    )
    assert (points.cart_reference(address, a.hex()) == points.cart_reference(address, b.hex())) == (a == b)
