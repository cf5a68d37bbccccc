"""Market.vy: fixed-price escrow sale of data NFTs (Wu et al. section III.A steps 9-24).

Default sale in these tests: Alice (Acme) sells to Bob (Beta) at 1 ether, delivery window 3,600 s, confirm
window 7,200 s, platform fee 250 bps.
"""

from __future__ import annotations

from typing import Any

import boa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.contracts.contract_kit import (
    FEE_BPS,
    LISTING_ACTIVE,
    LISTING_CANCELLED,
    LISTING_CLOSED,
    LISTING_PENDING,
    LISTING_SOLD,
    MAX_FEE_BPS,
    MAX_WINDOW,
    MIN_WINDOW,
    ORDER_COMPLETED,
    ORDER_DELIVERED,
    ORDER_PAID,
    ORDER_REFUNDED,
    STATUS_AUDITED,
    STATUS_SUSPENDED,
    STATUS_TO_AUDIT,
    ZERO_ADDRESS,
    ZERO_BYTES32,
    Deployment,
    assert_event,
    assert_no_event,
    digest,
    make_account,
)

PRICE = 10**18
FEE = PRICE * FEE_BPS // 10_000
DELIVERY_WINDOW = 3_600
CONFIRM_WINDOW = 7_200
DELIVERY_HASH = digest("ciphertext")

FUZZ = settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def assert_solvent(d: Deployment, *accounts: Any) -> None:
    """The market holds exactly what is escrowed plus what is owed (over the given accounts, platform included)."""
    owed = sum(d.pending(a) for a in {a.address for a in (d.platform, *accounts)})
    assert d.balance(d.market) == d.market.escrowed() + owed


def paid(d: Deployment, seller: Any = None, buyer: Any = None, price: int = PRICE) -> tuple[int, int, int]:
    """A Paid order (token id, listing id, order id); Alice sells to Bob by default."""
    return d.sale(
        seller or d.alice,
        buyer or d.bob,
        price,
        delivery_window=DELIVERY_WINDOW,
        confirm_window=CONFIRM_WINDOW,
    )


def delivered(d: Deployment, **kwargs: Any) -> tuple[int, int, int]:
    token_id, listing_id, order_id = paid(d, **kwargs)
    d.deliver(order_id, DELIVERY_HASH)
    return token_id, listing_id, order_id


# --- deployment ---------------------------------------------------------------------------------------------


def test_deployment(d: Deployment) -> None:
    m = d.market
    assert m.owner() == d.platform.address
    assert m.fee_bps() == FEE_BPS
    assert m.REGISTRY() == d.registry.address
    assert m.CATALOG() == d.catalog.address
    assert (m.MAX_FEE_BPS(), m.MIN_WINDOW(), m.MAX_WINDOW()) == (MAX_FEE_BPS, MIN_WINDOW, MAX_WINDOW)
    assert (m.listing_count(), m.order_count(), m.escrowed()) == (0, 0, 0)


@pytest.mark.parametrize("fee_bps", [0, MAX_FEE_BPS])
def test_constructor_accepts_fee_bounds(d: Deployment, market_deployer: Any, fee_bps: int) -> None:
    with d.env.prank(d.platform.address):
        market = market_deployer.deploy(d.registry.address, d.catalog.address, fee_bps)
    assert_event(market, "OwnershipTransferred", previous_owner=ZERO_ADDRESS, new_owner=d.platform.address)
    assert market.fee_bps() == fee_bps


def test_constructor_rejects_fee_too_high(d: Deployment, market_deployer: Any) -> None:
    with d.env.prank(d.platform.address), boa.reverts("market: fee too high"):
        market_deployer.deploy(d.registry.address, d.catalog.address, MAX_FEE_BPS + 1)


# --- list ---------------------------------------------------------------------------------------------------


def test_list_takes_custody_of_the_token(d: Deployment) -> None:
    token_id = d.publish(d.alice)
    with d.env.prank(d.alice.address):
        listing_id = d.market.list(token_id, PRICE, DELIVERY_WINDOW, CONFIRM_WINDOW)

    assert_event(
        d.market,
        "Listed",
        listing_id=1,
        token_id=token_id,
        seller=d.alice.address,
        price=PRICE,
        delivery_window=DELIVERY_WINDOW,
        confirm_window=CONFIRM_WINDOW,
    )
    (transfer,) = [e for e in d.market.get_logs() if type(e).__name__ == "Transfer"]
    assert (transfer.sender, transfer.receiver, transfer.token_id) == (d.alice.address, d.market.address, token_id)
    assert listing_id == 1
    assert d.market.listing_count() == 1
    assert tuple(d.market.listings(1)) == (
        d.alice.address,
        token_id,
        PRICE,
        DELIVERY_WINDOW,
        CONFIRM_WINDOW,
        LISTING_ACTIVE,
    )
    assert d.catalog.ownerOf(token_id) == d.market.address


@pytest.mark.parametrize(("delivery_window", "confirm_window"), [(MIN_WINDOW, MIN_WINDOW), (MAX_WINDOW, MAX_WINDOW)])
def test_list_accepts_window_bounds(d: Deployment, delivery_window: int, confirm_window: int) -> None:
    token_id = d.publish(d.alice)
    listing_id = d.list_token(d.alice, token_id, 1, delivery_window, confirm_window)
    listing = d.market.listings(listing_id)
    assert (listing.price, listing.delivery_window, listing.confirm_window) == (1, delivery_window, confirm_window)


@pytest.mark.parametrize("status", [STATUS_SUSPENDED, STATUS_TO_AUDIT])
def test_list_rejects_seller_not_audited(d: Deployment, status: int) -> None:
    token_id = d.publish(d.alice)
    d.set_status(d.acme_id, status)
    with d.env.prank(d.alice.address), boa.reverts("market: seller not audited"):
        d.market.list(token_id, PRICE, DELIVERY_WINDOW, CONFIRM_WINDOW)


@pytest.mark.parametrize("holder", ["dave", "erin", "mallory"])
def test_list_rejects_unaudited_holder_of_a_token(d: Deployment, holder: str) -> None:
    """A data NFT given to a non-audited account cannot be sold on by it."""
    account = getattr(d, holder)
    token_id = d.publish(d.alice)
    with d.env.prank(d.alice.address):
        d.catalog.transferFrom(d.alice.address, account.address, token_id)
    with d.env.prank(account.address), boa.reverts("market: seller not audited"):
        d.market.list(token_id, PRICE, DELIVERY_WINDOW, CONFIRM_WINDOW)


def test_list_rejects_token_of_someone_else(d: Deployment) -> None:
    token_id = d.publish(d.alice)
    with d.env.prank(d.bob.address), boa.reverts("market: not token owner"):
        d.market.list(token_id, PRICE, DELIVERY_WINDOW, CONFIRM_WINDOW)


def test_list_rejects_token_already_listed(d: Deployment) -> None:
    token_id, _ = d.publish_and_list(d.alice)
    with d.env.prank(d.alice.address), boa.reverts("market: not token owner"):
        d.market.list(token_id, PRICE, DELIVERY_WINDOW, CONFIRM_WINDOW)


def test_list_rejects_unknown_token(d: Deployment) -> None:
    with d.env.prank(d.alice.address), boa.reverts("erc721: invalid token ID"):
        d.market.list(42, PRICE, DELIVERY_WINDOW, CONFIRM_WINDOW)


def test_list_rejects_zero_price(d: Deployment) -> None:
    token_id = d.publish(d.alice)
    with d.env.prank(d.alice.address), boa.reverts("market: zero price"):
        d.market.list(token_id, 0, DELIVERY_WINDOW, CONFIRM_WINDOW)


@pytest.mark.parametrize("window", [0, MIN_WINDOW - 1, MAX_WINDOW + 1, 2**256 - 1])
def test_list_rejects_bad_delivery_window(d: Deployment, window: int) -> None:
    token_id = d.publish(d.alice)
    with d.env.prank(d.alice.address), boa.reverts("market: bad delivery window"):
        d.market.list(token_id, PRICE, window, CONFIRM_WINDOW)


@pytest.mark.parametrize("window", [0, MIN_WINDOW - 1, MAX_WINDOW + 1, 2**256 - 1])
def test_list_rejects_bad_confirm_window(d: Deployment, window: int) -> None:
    token_id = d.publish(d.alice)
    with d.env.prank(d.alice.address), boa.reverts("market: bad confirm window"):
        d.market.list(token_id, PRICE, DELIVERY_WINDOW, window)


def test_list_without_approval_reverts_and_keeps_nothing(d: Deployment) -> None:
    token_id = d.publish(d.alice, approve_market=False)
    with d.env.prank(d.alice.address), boa.reverts("erc721: caller is not token owner or approved"):
        d.market.list(token_id, PRICE, DELIVERY_WINDOW, CONFIRM_WINDOW)
    assert d.market.listing_count() == 0
    assert d.catalog.ownerOf(token_id) == d.alice.address


# --- cancel -------------------------------------------------------------------------------------------------


def test_cancel_returns_the_token(d: Deployment) -> None:
    token_id, listing_id = d.publish_and_list(d.alice)
    with d.env.prank(d.alice.address):
        d.market.cancel(listing_id)

    assert_event(d.market, "ListingCancelled", listing_id=listing_id, token_id=token_id, seller=d.alice.address)
    assert d.market.listings(listing_id).state == LISTING_CANCELLED
    assert d.catalog.ownerOf(token_id) == d.alice.address
    assert d.list_token(d.alice, token_id) == listing_id + 1  # can be listed again


def test_cancel_works_for_suspended_seller(d: Deployment) -> None:
    """Suspension must not trap the NFT in the market."""
    token_id, listing_id = d.publish_and_list(d.alice)
    d.set_status(d.acme_id, STATUS_SUSPENDED)
    with d.env.prank(d.alice.address):
        d.market.cancel(listing_id)
    assert d.catalog.ownerOf(token_id) == d.alice.address


@pytest.mark.parametrize("who", ["bob", "carol", "platform"])
def test_cancel_rejects_not_seller(d: Deployment, who: str) -> None:
    _, listing_id = d.publish_and_list(d.alice)
    with d.env.prank(getattr(d, who).address), boa.reverts("market: not seller"):
        d.market.cancel(listing_id)


def test_cancel_rejects_unknown_listing(d: Deployment) -> None:
    with d.env.prank(d.alice.address), boa.reverts("market: not seller"):
        d.market.cancel(7)


def test_cancel_rejects_cancelled_listing(d: Deployment) -> None:
    _, listing_id = d.publish_and_list(d.alice)
    with d.env.prank(d.alice.address):
        d.market.cancel(listing_id)
        with boa.reverts("market: listing not active"):
            d.market.cancel(listing_id)


@pytest.mark.parametrize("stage", ["pending", "sold", "closed"])
def test_cancel_rejects_listing_with_an_order(d: Deployment, stage: str) -> None:
    _, listing_id, order_id = paid(d)
    if stage == "sold":
        d.deliver(order_id)
        d.confirm(order_id)
    elif stage == "closed":
        d.env.time_travel(seconds=DELIVERY_WINDOW + 1)
        d.market.refund(order_id)
    with d.env.prank(d.alice.address), boa.reverts("market: listing not active"):
        d.market.cancel(listing_id)


# --- buy ----------------------------------------------------------------------------------------------------


def test_buy_escrows_the_payment(d: Deployment) -> None:
    _, listing_id = d.publish_and_list(d.alice, PRICE, delivery_window=DELIVERY_WINDOW, confirm_window=CONFIRM_WINDOW)
    bob_before = d.balance(d.bob)
    now = d.env.timestamp
    with d.env.prank(d.bob.address):
        order_id = d.market.buy(listing_id, value=PRICE)

    assert_event(
        d.market,
        "OrderPaid",
        order_id=1,
        listing_id=listing_id,
        buyer=d.bob.address,
        price=PRICE,
        fee=FEE,
        delivery_deadline=now + DELIVERY_WINDOW,
    )
    assert order_id == 1
    assert d.market.order_count() == 1
    assert tuple(d.market.orders(1)) == (
        listing_id,
        d.bob.address,
        FEE,
        now + DELIVERY_WINDOW,
        ORDER_PAID,
        ZERO_BYTES32,
    )
    assert d.market.listings(listing_id).state == LISTING_PENDING
    assert d.market.escrowed() == PRICE
    assert d.balance(d.market) == PRICE
    assert d.balance(d.bob) == bob_before - PRICE
    assert d.catalog.ownerOf(d.market.listings(listing_id).token_id) == d.market.address


def test_buy_by_member_of_the_same_organisation(d: Deployment) -> None:
    _, listing_id = d.publish_and_list(d.alice)
    assert d.buy(d.carol, listing_id) == 1


def test_buy_rejects_own_listing(d: Deployment) -> None:
    _, listing_id = d.publish_and_list(d.alice)
    with d.env.prank(d.alice.address), boa.reverts("market: own listing"):
        d.market.buy(listing_id, value=PRICE)


@pytest.mark.parametrize("value", [0, 1, PRICE - 1, PRICE + 1, 2 * PRICE])
def test_buy_rejects_wrong_price(d: Deployment, value: int) -> None:
    _, listing_id = d.publish_and_list(d.alice)
    bob_before = d.balance(d.bob)
    with d.env.prank(d.bob.address), boa.reverts("market: wrong price"):
        d.market.buy(listing_id, value=value)
    assert d.balance(d.bob) == bob_before
    assert d.balance(d.market) == 0
    assert d.market.listings(listing_id).state == LISTING_ACTIVE


@pytest.mark.parametrize("buyer", ["dave", "erin", "mallory", "platform", "supervisor"])
def test_buy_rejects_buyer_not_audited(d: Deployment, buyer: str) -> None:
    _, listing_id = d.publish_and_list(d.alice)
    with d.env.prank(getattr(d, buyer).address), boa.reverts("market: buyer not audited"):
        d.market.buy(listing_id, value=PRICE)


def test_buy_rejects_suspended_buyer(d: Deployment) -> None:
    _, listing_id = d.publish_and_list(d.alice)
    d.set_status(d.beta_id, STATUS_SUSPENDED)
    with d.env.prank(d.bob.address), boa.reverts("market: buyer not audited"):
        d.market.buy(listing_id, value=PRICE)


def test_buy_rejects_seller_suspended_after_listing(d: Deployment) -> None:
    _, listing_id = d.publish_and_list(d.alice)
    d.set_status(d.acme_id, STATUS_SUSPENDED)
    with d.env.prank(d.bob.address), boa.reverts("market: seller not audited"):
        d.market.buy(listing_id, value=PRICE)
    d.set_status(d.acme_id, STATUS_AUDITED)
    assert d.buy(d.bob, listing_id) == 1


@pytest.mark.parametrize("listing_id", [0, 1, 2**256 - 1])
def test_buy_rejects_unknown_listing(d: Deployment, listing_id: int) -> None:
    with d.env.prank(d.bob.address), boa.reverts("market: listing not active"):
        d.market.buy(listing_id, value=0)


@pytest.mark.parametrize("stage", ["pending", "cancelled", "sold", "closed"])
def test_buy_rejects_listing_not_active(d: Deployment, stage: str) -> None:
    _, listing_id = d.publish_and_list(d.alice)
    if stage == "cancelled":
        with d.env.prank(d.alice.address):
            d.market.cancel(listing_id)
    else:
        order_id = d.buy(d.bob, listing_id)
        if stage == "sold":
            d.deliver(order_id)
            d.confirm(order_id)
        elif stage == "closed":
            d.env.time_travel(seconds=3_601)
            d.market.refund(order_id)
    with d.env.prank(d.carol.address), boa.reverts("market: listing not active"):
        d.market.buy(listing_id, value=PRICE)


# --- deliver ------------------------------------------------------------------------------------------------


def test_deliver_commits_the_hash_and_starts_the_confirm_window(d: Deployment) -> None:
    _, _, order_id = paid(d)
    d.env.time_travel(seconds=100)
    now = d.env.timestamp
    with d.env.prank(d.alice.address):
        d.market.deliver(order_id, DELIVERY_HASH)

    assert_event(
        d.market,
        "Delivered",
        order_id=order_id,
        seller=d.alice.address,
        delivery_hash=DELIVERY_HASH,
        confirm_deadline=now + CONFIRM_WINDOW,
    )
    order = d.market.orders(order_id)
    assert (order.state, order.deadline, order.delivery_hash) == (ORDER_DELIVERED, now + CONFIRM_WINDOW, DELIVERY_HASH)
    assert d.market.escrowed() == PRICE


def test_deliver_at_the_delivery_deadline(d: Deployment) -> None:
    _, _, order_id = paid(d)
    deadline = d.market.orders(order_id).deadline
    d.env.time_travel(seconds=deadline - d.env.timestamp)
    assert d.env.timestamp == deadline
    d.deliver(order_id, DELIVERY_HASH)
    assert d.market.orders(order_id).state == ORDER_DELIVERED


def test_deliver_rejects_after_the_delivery_deadline(d: Deployment) -> None:
    _, _, order_id = paid(d)
    d.env.time_travel(seconds=DELIVERY_WINDOW + 1)
    with d.env.prank(d.alice.address), boa.reverts("market: delivery deadline passed"):
        d.market.deliver(order_id, DELIVERY_HASH)


@pytest.mark.parametrize("who", ["bob", "carol", "platform", "mallory"])
def test_deliver_rejects_not_seller(d: Deployment, who: str) -> None:
    _, _, order_id = paid(d)
    with d.env.prank(getattr(d, who).address), boa.reverts("market: not seller"):
        d.market.deliver(order_id, DELIVERY_HASH)


def test_deliver_rejects_empty_delivery_hash(d: Deployment) -> None:
    _, _, order_id = paid(d)
    with d.env.prank(d.alice.address), boa.reverts("market: empty delivery hash"):
        d.market.deliver(order_id, ZERO_BYTES32)


@pytest.mark.parametrize("stage", ["unknown", "delivered", "completed", "refunded"])
def test_deliver_rejects_order_not_paid(d: Deployment, stage: str) -> None:
    _, _, order_id = paid(d)
    if stage == "unknown":
        order_id += 1
    elif stage in ("delivered", "completed"):
        d.deliver(order_id)
        if stage == "completed":
            d.confirm(order_id)
    else:
        d.env.time_travel(seconds=DELIVERY_WINDOW + 1)
        d.market.refund(order_id)
    with d.env.prank(d.alice.address), boa.reverts("market: order not paid"):
        d.market.deliver(order_id, DELIVERY_HASH)


# --- confirm ------------------------------------------------------------------------------------------------


def test_confirm_pays_seller_and_platform_and_hands_over_the_token(d: Deployment) -> None:
    token_id, listing_id, order_id = delivered(d)
    with d.env.prank(d.bob.address):
        d.market.confirm(order_id)

    assert_event(
        d.market,
        "Confirmed",
        order_id=order_id,
        buyer=d.bob.address,
        token_id=token_id,
        seller_amount=PRICE - FEE,
        fee=FEE,
        by_deadline=False,
    )
    (transfer,) = [e for e in d.market.get_logs() if type(e).__name__ == "Transfer"]
    assert (transfer.sender, transfer.receiver, transfer.token_id) == (d.market.address, d.bob.address, token_id)
    assert d.market.orders(order_id).state == ORDER_COMPLETED
    assert d.market.listings(listing_id).state == LISTING_SOLD
    assert d.catalog.ownerOf(token_id) == d.bob.address
    assert d.market.escrowed() == 0
    assert d.pending(d.alice) == PRICE - FEE
    assert d.pending(d.platform) == FEE
    assert d.pending(d.bob) == 0
    assert_solvent(d, d.alice, d.bob)


def test_confirm_after_the_confirm_deadline_if_not_yet_released(d: Deployment) -> None:
    _, _, order_id = delivered(d)
    d.env.time_travel(seconds=CONFIRM_WINDOW + 1_000)
    d.confirm(order_id)
    (event,) = [e for e in d.market.get_logs() if type(e).__name__ == "Confirmed"]
    assert event.by_deadline is False


@pytest.mark.parametrize("who", ["alice", "carol", "platform", "mallory"])
def test_confirm_rejects_not_buyer(d: Deployment, who: str) -> None:
    _, _, order_id = delivered(d)
    with d.env.prank(getattr(d, who).address), boa.reverts("market: not buyer"):
        d.market.confirm(order_id)


def test_confirm_rejects_unknown_order(d: Deployment) -> None:
    with d.env.prank(d.bob.address), boa.reverts("market: not buyer"):
        d.market.confirm(1)


def test_confirm_rejects_order_not_yet_delivered(d: Deployment) -> None:
    _, _, order_id = paid(d)
    with d.env.prank(d.bob.address), boa.reverts("market: order not delivered"):
        d.market.confirm(order_id)


def test_confirm_twice_pays_once(d: Deployment) -> None:
    _, _, order_id = delivered(d)
    d.confirm(order_id)
    with d.env.prank(d.bob.address), boa.reverts("market: order not delivered"):
        d.market.confirm(order_id)
    assert d.pending(d.alice) == PRICE - FEE
    assert d.pending(d.platform) == FEE


def test_confirm_rejects_refunded_order(d: Deployment) -> None:
    _, _, order_id = paid(d)
    d.env.time_travel(seconds=DELIVERY_WINDOW + 1)
    d.market.refund(order_id)
    with d.env.prank(d.bob.address), boa.reverts("market: order not delivered"):
        d.market.confirm(order_id)


# --- release ------------------------------------------------------------------------------------------------


def test_release_after_the_confirm_deadline_by_anyone(d: Deployment) -> None:
    token_id, listing_id, order_id = delivered(d)
    d.env.time_travel(seconds=CONFIRM_WINDOW + 1)
    with d.env.prank(d.mallory.address):
        d.market.release(order_id)

    assert_event(
        d.market,
        "Confirmed",
        order_id=order_id,
        buyer=d.bob.address,
        token_id=token_id,
        seller_amount=PRICE - FEE,
        fee=FEE,
        by_deadline=True,
    )
    assert d.market.orders(order_id).state == ORDER_COMPLETED
    assert d.market.listings(listing_id).state == LISTING_SOLD
    assert d.catalog.ownerOf(token_id) == d.bob.address
    assert (d.pending(d.alice), d.pending(d.platform), d.pending(d.mallory)) == (PRICE - FEE, FEE, 0)
    assert d.market.escrowed() == 0
    assert_solvent(d, d.alice, d.bob, d.mallory)


def test_release_rejects_at_the_confirm_deadline(d: Deployment) -> None:
    _, _, order_id = delivered(d)
    deadline = d.market.orders(order_id).deadline
    d.env.time_travel(seconds=deadline - d.env.timestamp)
    with d.env.prank(d.alice.address), boa.reverts("market: confirm deadline not passed"):
        d.market.release(order_id)
    d.env.time_travel(seconds=1)
    with d.env.prank(d.alice.address):
        d.market.release(order_id)


@pytest.mark.parametrize("stage", ["unknown", "paid", "completed", "refunded"])
def test_release_rejects_order_not_delivered(d: Deployment, stage: str) -> None:
    _, _, order_id = paid(d)
    if stage == "unknown":
        order_id += 1
    elif stage == "completed":
        d.deliver(order_id)
        d.confirm(order_id)
    elif stage == "refunded":
        d.env.time_travel(seconds=DELIVERY_WINDOW + 1)
        d.market.refund(order_id)
    d.env.time_travel(seconds=MAX_WINDOW + 1)
    with d.env.prank(d.alice.address), boa.reverts("market: order not delivered"):
        d.market.release(order_id)


# --- refund -------------------------------------------------------------------------------------------------


def test_refund_after_the_delivery_deadline_by_anyone(d: Deployment) -> None:
    token_id, listing_id, order_id = paid(d)
    d.env.time_travel(seconds=DELIVERY_WINDOW + 1)
    with d.env.prank(d.mallory.address):
        d.market.refund(order_id)

    assert_event(d.market, "Refunded", order_id=order_id, buyer=d.bob.address, amount=PRICE)
    (transfer,) = [e for e in d.market.get_logs() if type(e).__name__ == "Transfer"]
    assert (transfer.sender, transfer.receiver, transfer.token_id) == (d.market.address, d.alice.address, token_id)
    assert d.market.orders(order_id).state == ORDER_REFUNDED
    assert d.market.listings(listing_id).state == LISTING_CLOSED
    assert d.catalog.ownerOf(token_id) == d.alice.address
    assert d.pending(d.bob) == PRICE  # the fee is not charged on a refund
    assert d.pending(d.platform) == 0
    assert d.market.escrowed() == 0
    assert_solvent(d, d.alice, d.bob)
    assert d.list_token(d.alice, token_id) == listing_id + 1  # the seller may offer it again


def test_refund_rejects_at_the_delivery_deadline(d: Deployment) -> None:
    _, _, order_id = paid(d)
    deadline = d.market.orders(order_id).deadline
    d.env.time_travel(seconds=deadline - d.env.timestamp)
    with boa.reverts("market: delivery deadline not passed"):
        d.market.refund(order_id)
    d.env.time_travel(seconds=1)
    d.market.refund(order_id)
    assert d.market.orders(order_id).state == ORDER_REFUNDED


def test_refund_rejects_before_the_delivery_deadline(d: Deployment) -> None:
    _, _, order_id = paid(d)
    with d.env.prank(d.bob.address), boa.reverts("market: delivery deadline not passed"):
        d.market.refund(order_id)


@pytest.mark.parametrize("stage", ["unknown", "delivered", "completed", "refunded"])
def test_refund_rejects_order_not_paid(d: Deployment, stage: str) -> None:
    _, _, order_id = paid(d)
    if stage == "unknown":
        order_id += 1
    elif stage in ("delivered", "completed"):
        d.deliver(order_id)
        if stage == "completed":
            d.confirm(order_id)
    d.env.time_travel(seconds=MAX_WINDOW + 1)
    if stage == "refunded":
        d.market.refund(order_id)
    with d.env.prank(d.bob.address), boa.reverts("market: order not paid"):
        d.market.refund(order_id)


# --- withdraw -----------------------------------------------------------------------------------------------


def test_withdraw_pays_the_seller(d: Deployment) -> None:
    _, _, order_id = delivered(d)
    d.confirm(order_id)
    alice_before = d.balance(d.alice)
    with d.env.prank(d.alice.address):
        d.market.withdraw()

    assert_event(d.market, "Withdrawn", account=d.alice.address, amount=PRICE - FEE)
    assert d.balance(d.alice) == alice_before + PRICE - FEE
    assert d.pending(d.alice) == 0
    assert d.balance(d.market) == FEE
    assert_solvent(d, d.alice, d.bob)


def test_withdraw_pays_the_platform_fee(d: Deployment) -> None:
    _, _, order_id = delivered(d)
    d.confirm(order_id)
    platform_before = d.balance(d.platform)
    with d.env.prank(d.platform.address):
        d.market.withdraw()
    assert_event(d.market, "Withdrawn", account=d.platform.address, amount=FEE)
    assert d.balance(d.platform) == platform_before + FEE


def test_withdraw_pays_the_refunded_buyer(d: Deployment) -> None:
    _, _, order_id = paid(d)
    bob_before_refund = d.balance(d.bob) + PRICE
    d.env.time_travel(seconds=DELIVERY_WINDOW + 1)
    d.market.refund(order_id)
    with d.env.prank(d.bob.address):
        d.market.withdraw()
    assert_event(d.market, "Withdrawn", account=d.bob.address, amount=PRICE)
    assert d.balance(d.bob) == bob_before_refund
    assert d.balance(d.market) == 0


def test_withdraw_sums_everything_owed(d: Deployment) -> None:
    prices = [10**17, 3 * 10**17, 7]
    for price in prices:
        _, _, order_id = delivered(d, price=price)
        d.confirm(order_id)
    expected = sum(p - p * FEE_BPS // 10_000 for p in prices)
    assert d.pending(d.alice) == expected
    with d.env.prank(d.alice.address):
        d.market.withdraw()
    assert_event(d.market, "Withdrawn", account=d.alice.address, amount=expected)


@pytest.mark.parametrize("who", ["alice", "bob", "platform", "mallory"])
def test_withdraw_rejects_nothing_owed(d: Deployment, who: str) -> None:
    with d.env.prank(getattr(d, who).address), boa.reverts("market: nothing to withdraw"):
        d.market.withdraw()


def test_withdraw_twice_pays_once(d: Deployment) -> None:
    _, _, order_id = delivered(d)
    d.confirm(order_id)
    with d.env.prank(d.alice.address):
        d.market.withdraw()
        balance = d.balance(d.alice)
        with boa.reverts("market: nothing to withdraw"):
            d.market.withdraw()
    assert d.balance(d.alice) == balance


# --- set_fee ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("new_fee", [0, 1, 500, MAX_FEE_BPS])
def test_set_fee(d: Deployment, new_fee: int) -> None:
    with d.env.prank(d.platform.address):
        d.market.set_fee(new_fee)
    assert_event(d.market, "FeeChanged", old_fee_bps=FEE_BPS, new_fee_bps=new_fee)
    assert d.market.fee_bps() == new_fee


@pytest.mark.parametrize("who", ["supervisor", "alice", "mallory"])
def test_set_fee_rejects_non_owner(d: Deployment, who: str) -> None:
    with d.env.prank(getattr(d, who).address), boa.reverts("ownable: caller is not the owner"):
        d.market.set_fee(0)


@pytest.mark.parametrize("new_fee", [MAX_FEE_BPS + 1, 10_000, 2**256 - 1])
def test_set_fee_rejects_fee_too_high(d: Deployment, new_fee: int) -> None:
    with d.env.prank(d.platform.address), boa.reverts("market: fee too high"):
        d.market.set_fee(new_fee)


def test_fee_is_fixed_at_purchase(d: Deployment) -> None:
    _, _, order_id = paid(d)
    with d.env.prank(d.platform.address):
        d.market.set_fee(MAX_FEE_BPS)
    d.deliver(order_id)
    d.confirm(order_id)
    assert d.pending(d.platform) == FEE
    assert d.pending(d.alice) == PRICE - FEE
    _, _, second = paid(d)
    assert d.market.orders(second).fee == PRICE * MAX_FEE_BPS // 10_000


@pytest.mark.parametrize(
    ("fee_bps", "price", "fee"),
    [
        (0, PRICE, 0),
        (MAX_FEE_BPS, PRICE, PRICE // 10),
        (FEE_BPS, 1, 0),  # rounds down: tiny prices carry no fee
        (MAX_FEE_BPS, 9, 0),
        (MAX_FEE_BPS, 10, 1),
        (FEE_BPS, 39, 0),
        (FEE_BPS, 40, 1),
        (1, 10_000, 1),
        (MAX_FEE_BPS, 10**30 + 7, 10**29),
    ],
)
def test_fee_arithmetic(d: Deployment, fee_bps: int, price: int, fee: int) -> None:
    with d.env.prank(d.platform.address):
        d.market.set_fee(fee_bps)
    d.env.set_balance(d.bob.address, price)
    token_id, _, order_id = delivered(d, price=price)
    assert d.market.orders(order_id).fee == fee
    d.confirm(order_id)
    assert_event(
        d.market,
        "Confirmed",
        order_id=order_id,
        buyer=d.bob.address,
        token_id=token_id,
        seller_amount=price - fee,
        fee=fee,
        by_deadline=False,
    )
    assert d.pending(d.alice) == price - fee
    assert d.pending(d.platform) == fee
    assert_solvent(d, d.alice, d.bob)


@FUZZ
@given(
    fee_bps=st.integers(min_value=0, max_value=MAX_FEE_BPS),
    price=st.integers(min_value=1, max_value=10**30),
    release=st.booleans(),
)
def test_fee_arithmetic_fuzz(d: Deployment, fee_bps: int, price: int, release: bool) -> None:
    """fee == price * fee_bps // 10_000 and seller + fee == price, whether confirmed or released."""
    with d.env.anchor():
        with d.env.prank(d.platform.address):
            d.market.set_fee(fee_bps)
        d.env.set_balance(d.bob.address, price)
        _, _, order_id = delivered(d, price=price)
        if release:
            d.env.time_travel(seconds=CONFIRM_WINDOW + 1)
            d.market.release(order_id)
        else:
            d.confirm(order_id)
        fee = price * fee_bps // 10_000
        assert (d.pending(d.alice), d.pending(d.platform)) == (price - fee, fee)
        assert d.balance(d.market) == price
        for account in (d.alice, d.platform):
            if d.pending(account):
                with d.env.prank(account.address):
                    d.market.withdraw()
        assert d.balance(d.market) == 0
        assert d.balance(d.bob) == 0


# --- transfer_ownership -------------------------------------------------------------------------------------


def test_transfer_ownership_moves_fee_collection(d: Deployment) -> None:
    _, _, first = delivered(d)
    d.confirm(first)  # fee owed to the old platform account
    _, _, second = delivered(d)  # paid before the transfer, completed after
    treasury = make_account("treasury")
    with d.env.prank(d.platform.address):
        d.market.transfer_ownership(treasury.address)

    assert_event(d.market, "OwnershipTransferred", previous_owner=d.platform.address, new_owner=treasury.address)
    assert d.market.owner() == treasury.address
    d.confirm(second)
    assert d.pending(treasury) == FEE  # fees go to whoever owns the market at completion
    assert d.pending(d.platform) == FEE  # what was owed before stays owed
    with d.env.prank(d.platform.address):
        d.market.withdraw()
        with boa.reverts("ownable: caller is not the owner"):
            d.market.set_fee(0)
    with d.env.prank(treasury.address):
        d.market.set_fee(0)


def test_transfer_ownership_rejects_non_owner(d: Deployment) -> None:
    with d.env.prank(d.alice.address), boa.reverts("ownable: caller is not the owner"):
        d.market.transfer_ownership(d.alice.address)


def test_transfer_ownership_rejects_zero_address(d: Deployment) -> None:
    with d.env.prank(d.platform.address), boa.reverts("ownable: new owner is the zero address"):
        d.market.transfer_ownership(ZERO_ADDRESS)


# --- suspension: new business stops, money and tokens never get stuck --------------------------------------


def test_suspended_organisation_can_neither_publish_list_nor_buy(d: Deployment) -> None:
    token_id = d.publish(d.alice)
    _, bob_listing = d.publish_and_list(d.bob)
    d.set_status(d.acme_id, STATUS_SUSPENDED)
    with boa.reverts("catalog: publisher not audited"):
        d.publish(d.carol)
    with d.env.prank(d.alice.address), boa.reverts("market: seller not audited"):
        d.market.list(token_id, PRICE, DELIVERY_WINDOW, CONFIRM_WINDOW)
    with d.env.prank(d.carol.address), boa.reverts("market: buyer not audited"):
        d.market.buy(bob_listing, value=PRICE)


@pytest.mark.parametrize("suspended", ["seller", "buyer", "both"])
def test_paid_order_completes_and_pays_out_after_suspension(d: Deployment, suspended: str) -> None:
    token_id, _, order_id = paid(d)
    if suspended in ("seller", "both"):
        d.set_status(d.acme_id, STATUS_SUSPENDED)
    if suspended in ("buyer", "both"):
        d.set_status(d.beta_id, STATUS_SUSPENDED)
    d.deliver(order_id)
    d.confirm(order_id)
    assert d.catalog.ownerOf(token_id) == d.bob.address
    alice_before = d.balance(d.alice)
    with d.env.prank(d.alice.address):
        d.market.withdraw()
    assert d.balance(d.alice) == alice_before + PRICE - FEE


@pytest.mark.parametrize("suspended", ["seller", "buyer", "both"])
def test_paid_order_is_refunded_and_paid_back_after_suspension(d: Deployment, suspended: str) -> None:
    token_id, _, order_id = paid(d)
    if suspended in ("seller", "both"):
        d.set_status(d.acme_id, STATUS_SUSPENDED)
    if suspended in ("buyer", "both"):
        d.set_status(d.beta_id, STATUS_SUSPENDED)
    d.env.time_travel(seconds=DELIVERY_WINDOW + 1)
    d.market.refund(order_id)
    assert d.catalog.ownerOf(token_id) == d.alice.address
    bob_before = d.balance(d.bob)
    with d.env.prank(d.bob.address):
        d.market.withdraw()
    assert d.balance(d.bob) == bob_before + PRICE


def test_delivered_order_is_released_after_suspension(d: Deployment) -> None:
    token_id, _, order_id = delivered(d)
    d.set_status(d.acme_id, STATUS_SUSPENDED)
    d.set_status(d.beta_id, STATUS_SUSPENDED)
    d.env.time_travel(seconds=CONFIRM_WINDOW + 1)
    d.market.release(order_id)
    assert d.catalog.ownerOf(token_id) == d.bob.address
    with d.env.prank(d.alice.address):
        d.market.withdraw()
    with d.env.prank(d.platform.address):
        d.market.withdraw()
    assert d.balance(d.market) == 0


def test_buyer_can_resell_a_purchased_dataset(d: Deployment) -> None:
    token_id, _, order_id = delivered(d)
    d.confirm(order_id)
    with d.env.prank(d.bob.address):
        d.catalog.setApprovalForAll(d.market.address, True)
    listing_id = d.list_token(d.bob, token_id, 2 * PRICE)
    order_id = d.buy(d.alice, listing_id)
    d.deliver(order_id)
    d.confirm(order_id)
    assert d.catalog.ownerOf(token_id) == d.alice.address
    assert d.pending(d.bob) == 2 * PRICE - 2 * FEE
    assert_no_event(d.market, "Refunded")
