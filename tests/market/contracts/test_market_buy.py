"""Market.vy buying at the fixed price: `buy`.

Every external state-changing function has a success test (event with every argument, and its effects) and
one failure test per guard (exact revert message). Helpers and the default sale: market_helpers.py.
"""

from __future__ import annotations

from typing import Any

import boa
import pytest

from tests.kits.contract_kit import (
    FEE_BPS,
    LISTING_ACTIVE,
    LISTING_PENDING,
    ORDER_PAID,
    OUTCOME_CONFIRMED,
    OUTCOME_NOT_DELIVERED,
    STATUS_AUDITED,
    STATUS_SUSPENDED,
    Deployment,
    assert_event,
)
from tests.market.contracts.market_helpers import (
    COLLATERAL,
    DELIVERY_WINDOW,
    PRICE,
    WINDOWS,
    Currency,
    call_list,
    reach,
)

# --- buy (fixed price) --------------------------------------------------------------------------------------


def test_buy_escrows_price_and_collateral(d: Deployment, cur: Currency) -> None:
    token_id = d.publish(d.alice)
    listing_id = d.list_token(d.alice, token_id, collateral=COLLATERAL, payment_token=cur.address, **WINDOWS)
    bob_before = cur.held(d.bob)
    now = d.env.timestamp
    with d.env.prank(d.bob.address):
        order_id = d.market.buy(listing_id, value=cur.value(PRICE + COLLATERAL))

    assert_event(
        d.market,
        "OrderPaid",
        order_id=1,
        listing_id=listing_id,
        buyer=d.bob.address,
        amount=PRICE,
        fee_bps=FEE_BPS,
        collateral=COLLATERAL,
        queries=0,
        deadline=now + DELIVERY_WINDOW,
    )
    assert (order_id, d.market.order_count()) == (1, 1)
    assert tuple(d.market.order(1)) == (
        listing_id,
        d.bob.address,
        PRICE,
        ORDER_PAID,
        FEE_BPS,
        now + DELIVERY_WINDOW,
        0,
        0,
    )
    assert tuple(d.market.order_parties(1)) == (d.bob.address, d.alice.address, ORDER_PAID, False, True)
    assert d.market.order(1).queries_total == 0  # the organisations bit is not a query count
    assert d.market.listing(listing_id).state == LISTING_PENDING
    assert cur.escrowed() == PRICE + 2 * COLLATERAL
    assert cur.held(d.market) == PRICE + 2 * COLLATERAL
    assert cur.held(d.bob) == bob_before - PRICE - COLLATERAL
    assert d.catalog.ownerOf(token_id) == d.market.address
    d.assert_solvent(*cur.tokens)


def test_buy_by_member_of_the_same_organisation(d: Deployment) -> None:
    _, listing_id = d.publish_and_list(d.alice)
    assert d.buy(d.carol, listing_id) == 1


@pytest.mark.parametrize("kind", ["negotiated", "auction", "unknown"])
def test_buy_rejects_listing_not_a_fixed_price_sale(d: Deployment, kind: str) -> None:
    token_id = d.publish(d.alice)
    listing_id = 99 if kind == "unknown" else call_list(d, kind, token_id)
    with d.env.prank(d.bob.address), boa.reverts("market: not a fixed-price sale"):
        d.market.buy(listing_id, value=PRICE)


@pytest.mark.parametrize("stage", ["pending", "cancelled", "sold", "closed"])
def test_buy_rejects_listing_not_active(d: Deployment, stage: str) -> None:
    _, listing_id = d.publish_and_list(d.alice)
    if stage == "cancelled":
        with d.env.prank(d.alice.address):
            d.market.cancel(listing_id)
    else:
        order_id = d.buy(d.bob, listing_id)
        if stage != "pending":
            reach(d, order_id, OUTCOME_CONFIRMED if stage == "sold" else OUTCOME_NOT_DELIVERED)
    with d.env.prank(d.carol.address), boa.reverts("market: listing not active"):
        d.market.buy(listing_id, value=PRICE)


def test_buy_rejects_own_listing(d: Deployment) -> None:
    _, listing_id = d.publish_and_list(d.alice)
    with d.env.prank(d.alice.address), boa.reverts("market: own listing"):
        d.market.buy(listing_id, value=PRICE)


@pytest.mark.parametrize("buyer", ["dave", "erin", "mallory", "platform", "supervisor"])
def test_buy_rejects_buyer_not_audited(d: Deployment, buyer: str) -> None:
    _, listing_id = d.publish_and_list(d.alice)
    with d.env.prank(getattr(d, buyer).address), boa.reverts("market: buyer not audited"):
        d.market.buy(listing_id, value=PRICE)


def test_buy_rejects_seller_suspended_after_listing(d: Deployment) -> None:
    _, listing_id = d.publish_and_list(d.alice)
    d.set_status(d.acme_id, STATUS_SUSPENDED)
    with d.env.prank(d.bob.address), boa.reverts("market: seller not audited"):
        d.market.buy(listing_id, value=PRICE)
    d.set_status(d.acme_id, STATUS_AUDITED)
    assert d.buy(d.bob, listing_id) == 1


@pytest.mark.parametrize("value", [0, PRICE, PRICE + COLLATERAL - 1, PRICE + COLLATERAL + 1])
def test_buy_rejects_wrong_value(d: Deployment, value: int) -> None:
    _, listing_id = d.publish_and_list(d.alice, collateral=COLLATERAL)
    bob_before = d.balance(d.bob)
    with d.env.prank(d.bob.address), boa.reverts("market: wrong value"):
        d.market.buy(listing_id, value=value)
    assert d.balance(d.bob) == bob_before
    assert d.market.listing(listing_id).state == LISTING_ACTIVE


def test_buy_rejects_ether_for_a_token_listing(d: Deployment, demo_token: Any) -> None:
    d.approve(demo_token, d.bob)
    _, listing_id = d.publish_and_list(d.alice, payment_token=demo_token.address)
    with d.env.prank(d.bob.address), boa.reverts("market: wrong value"):
        d.market.buy(listing_id, value=PRICE)


def test_buy_rejects_token_returning_false(d: Deployment, false_token: Any) -> None:
    _, listing_id = d.publish_and_list(d.alice, payment_token=false_token.address)  # no collateral to pull
    false_token.set_refuse(True)
    with d.env.prank(d.bob.address), boa.reverts("escrow: token transfer failed"):
        d.market.buy(listing_id)


def test_buy_rejects_fee_on_transfer_token(d: Deployment, fee_token: Any) -> None:
    _, listing_id = d.publish_and_list(d.alice, payment_token=fee_token.address)
    with d.env.prank(d.bob.address), boa.reverts("escrow: token transfer short"):
        d.market.buy(listing_id)
    assert d.market.escrowed(fee_token.address) == 0


def test_buy_rejects_payment_without_allowance(d: Deployment, demo_token: Any) -> None:
    _, listing_id = d.publish_and_list(d.alice, payment_token=demo_token.address)
    with d.env.prank(d.bob.address), boa.reverts("erc20: insufficient allowance"):
        d.market.buy(listing_id)
