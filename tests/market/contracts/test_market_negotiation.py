"""Market.vy negotiation: offers and counter-offers (`make_offer`, `counter_offer`, `accept_offer`, `accept_counter`,
`reject_offer`, `withdraw_offer`).

Every external state-changing function has a success test (event with every argument, and its effects) and
one failure test per guard (exact revert message); the hypothesis tests fuzz the arithmetic. Helpers and the
default sale: market_helpers.py.
"""

from __future__ import annotations

from typing import Any

import boa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.kits.contract_kit import (
    ETHER,
    FEE_BPS,
    LISTING_ACTIVE,
    LISTING_PENDING,
    MAX_WINDOW,
    OFFER_ACCEPTED,
    OFFER_COUNTERED,
    OFFER_OPEN,
    OFFER_REJECTED,
    OFFER_WITHDRAWN,
    ORDER_PAID,
    STATUS_SUSPENDED,
    Deployment,
    assert_event,
)
from tests.market.contracts.market_helpers import (
    COLLATERAL,
    DELIVERY_WINDOW,
    FUZZ,
    PRICE,
    WINDOWS,
    Currency,
    call_list,
    countered,
    negotiable,
    offer,
)

# --- negotiation: make_offer / counter_offer / accept_offer / accept_counter / reject_offer / withdraw_offer


def test_make_offer_escrows_amount_and_collateral(d: Deployment, cur: Currency) -> None:
    _, listing_id = negotiable(d, cur)
    bob_before = cur.held(d.bob)
    expiry = d.env.timestamp + 86_400
    amount = PRICE * 9 // 10
    with d.env.prank(d.bob.address):
        offer_id = d.market.make_offer(listing_id, amount, expiry, value=cur.value(amount + COLLATERAL))

    assert_event(
        d.market, "OfferMade", offer_id=1, listing_id=listing_id, buyer=d.bob.address, amount=amount, expiry=expiry
    )
    assert (offer_id, d.market.offer_count()) == (1, 1)
    assert tuple(d.market.offers(1)) == (listing_id, d.bob.address, amount, 0, expiry, OFFER_OPEN)
    assert cur.held(d.bob) == bob_before - amount - COLLATERAL
    assert cur.escrowed() == COLLATERAL + amount + COLLATERAL
    assert d.market.listing(listing_id).state == LISTING_ACTIVE  # other buyers may still offer
    assert d.make_offer(d.carol, listing_id, PRICE) == 2
    d.assert_solvent(*cur.tokens)


@pytest.mark.parametrize("expiry_offset", [1, MAX_WINDOW])
def test_make_offer_accepts_expiry_bounds(d: Deployment, expiry_offset: int) -> None:
    _, listing_id = negotiable(d)
    offer_id = d.make_offer(d.bob, listing_id, PRICE, d.env.timestamp + expiry_offset)
    assert d.market.offers(offer_id).expiry == d.env.timestamp + expiry_offset


@pytest.mark.parametrize("kind", ["fixed", "auction"])
def test_make_offer_rejects_listing_not_negotiable(d: Deployment, kind: str) -> None:
    listing_id = call_list(d, kind, d.publish(d.alice))
    with d.env.prank(d.bob.address), boa.reverts("market: not negotiable"):
        d.market.make_offer(listing_id, PRICE, d.env.timestamp + 60, value=PRICE)


def test_make_offer_rejects_listing_not_active(d: Deployment) -> None:
    _, listing_id = negotiable(d)
    with d.env.prank(d.alice.address):
        d.market.cancel(listing_id)
    with d.env.prank(d.bob.address), boa.reverts("market: listing not active"):
        d.market.make_offer(listing_id, PRICE, d.env.timestamp + 60, value=PRICE + COLLATERAL)


@pytest.mark.parametrize(
    ("who", "message"),
    [
        ("alice", "market: own listing"),
        ("erin", "market: buyer not audited"),
        ("dave", "market: buyer not audited"),
    ],
)
def test_make_offer_rejects_ineligible_buyer(d: Deployment, who: str, message: str) -> None:
    _, listing_id = negotiable(d)
    with d.env.prank(getattr(d, who).address), boa.reverts(message):
        d.market.make_offer(listing_id, PRICE, d.env.timestamp + 60, value=PRICE + COLLATERAL)


def test_make_offer_rejects_seller_suspended(d: Deployment) -> None:
    _, listing_id = negotiable(d)
    d.set_status(d.acme_id, STATUS_SUSPENDED)
    with d.env.prank(d.bob.address), boa.reverts("market: seller not audited"):
        d.market.make_offer(listing_id, PRICE, d.env.timestamp + 60, value=PRICE + COLLATERAL)


def test_make_offer_rejects_zero_amount(d: Deployment) -> None:
    _, listing_id = negotiable(d)
    with d.env.prank(d.bob.address), boa.reverts("market: zero amount"):
        d.market.make_offer(listing_id, 0, d.env.timestamp + 60, value=COLLATERAL)


@pytest.mark.parametrize("expiry_offset", [0, -1, MAX_WINDOW + 1])
def test_make_offer_rejects_bad_expiry(d: Deployment, expiry_offset: int) -> None:
    _, listing_id = negotiable(d)
    with d.env.prank(d.bob.address), boa.reverts("market: bad expiry"):
        d.market.make_offer(listing_id, PRICE, d.env.timestamp + expiry_offset, value=PRICE + COLLATERAL)


@pytest.mark.parametrize("value", [0, PRICE, PRICE + COLLATERAL + 1])
def test_make_offer_rejects_wrong_value(d: Deployment, value: int) -> None:
    _, listing_id = negotiable(d)
    with d.env.prank(d.bob.address), boa.reverts("market: wrong value"):
        d.market.make_offer(listing_id, PRICE, d.env.timestamp + 60, value=value)


def test_make_offer_rejects_ether_for_a_token_listing(d: Deployment, demo_token: Any) -> None:
    d.approve(demo_token, d.bob)
    _, listing_id = negotiable(d, Currency(d, demo_token), collateral=0)
    with d.env.prank(d.bob.address), boa.reverts("market: wrong value"):
        d.market.make_offer(listing_id, PRICE, d.env.timestamp + 60, value=PRICE)


def test_make_offer_rejects_fee_on_transfer_token(d: Deployment, fee_token: Any) -> None:
    _, listing_id = negotiable(d, Currency(d, fee_token), collateral=0)
    with d.env.prank(d.bob.address), boa.reverts("escrow: token transfer short"):
        d.market.make_offer(listing_id, PRICE, d.env.timestamp + 60)


def test_counter_offer(d: Deployment) -> None:
    listing_id, offer_id = offer(d, PRICE // 2)
    with d.env.prank(d.alice.address):
        d.market.counter_offer(offer_id, PRICE)
    assert_event(d.market, "OfferCountered", offer_id=offer_id, listing_id=listing_id, counter=PRICE)
    stored = d.market.offers(offer_id)
    assert (stored.amount, stored.counter, stored.state) == (PRICE // 2, PRICE, OFFER_COUNTERED)
    with d.env.prank(d.alice.address):  # the seller may change its counter
        d.market.counter_offer(offer_id, PRICE * 3 // 4)
    assert_event(d.market, "OfferCountered", offer_id=offer_id, listing_id=listing_id, counter=PRICE * 3 // 4)
    assert d.market.offers(offer_id).counter == PRICE * 3 // 4
    assert d.market.escrowed(ETHER) == COLLATERAL + PRICE // 2 + COLLATERAL  # nothing moves on a counter


@pytest.mark.parametrize("stage", ["unknown", "withdrawn", "rejected", "accepted"])
def test_counter_offer_rejects_offer_not_open(d: Deployment, stage: str) -> None:
    _, offer_id = offer(d)
    if stage == "unknown":
        offer_id += 1
    else:
        who, call = {
            "withdrawn": (d.bob, d.market.withdraw_offer),
            "rejected": (d.alice, d.market.reject_offer),
            "accepted": (d.alice, d.market.accept_offer),
        }[stage]
        with d.env.prank(who.address):
            call(offer_id)
    with d.env.prank(d.alice.address), boa.reverts("market: offer not open"):
        d.market.counter_offer(offer_id, 2 * PRICE)


def test_counter_offer_rejects_expired_offer(d: Deployment) -> None:
    _, offer_id = offer(d)
    d.env.time_travel(seconds=86_400 + 1)
    with d.env.prank(d.alice.address), boa.reverts("market: offer expired"):
        d.market.counter_offer(offer_id, 2 * PRICE)


@pytest.mark.parametrize("who", ["bob", "carol", "platform"])
def test_counter_offer_rejects_not_seller(d: Deployment, who: str) -> None:
    _, offer_id = offer(d)
    with d.env.prank(getattr(d, who).address), boa.reverts("market: not seller"):
        d.market.counter_offer(offer_id, 2 * PRICE)


def test_counter_offer_rejects_listing_not_active(d: Deployment) -> None:
    listing_id, offer_id = offer(d)
    with d.env.prank(d.alice.address):
        d.market.cancel(listing_id)
        with boa.reverts("market: listing not active"):
            d.market.counter_offer(offer_id, 2 * PRICE)


@pytest.mark.parametrize("counter", [0, PRICE])
def test_counter_offer_rejects_bad_counter(d: Deployment, counter: int) -> None:
    _, offer_id = offer(d, PRICE)
    with d.env.prank(d.alice.address), boa.reverts("market: bad counter"):
        d.market.counter_offer(offer_id, counter)


def test_accept_offer_opens_an_order_at_the_offered_amount(d: Deployment, cur: Currency) -> None:
    amount = PRICE * 9 // 10
    listing_id, offer_id = offer(d, amount, cur)
    with d.env.prank(d.alice.address):
        d.market.counter_offer(offer_id, PRICE)  # the seller may still take the original amount
        order_id = d.market.accept_offer(offer_id)

    assert_event(d.market, "OfferAccepted", offer_id=offer_id, order_id=1, price=amount)
    assert_event(
        d.market,
        "OrderPaid",
        order_id=1,
        listing_id=listing_id,
        buyer=d.bob.address,
        amount=amount,
        fee_bps=FEE_BPS,
        collateral=COLLATERAL,
        queries=0,
        deadline=d.env.timestamp + DELIVERY_WINDOW,
    )
    assert order_id == 1
    assert d.market.offers(offer_id).state == OFFER_ACCEPTED
    assert d.market.listing(listing_id).state == LISTING_PENDING
    assert (d.market.order(1).amount, d.market.order(1).state) == (amount, ORDER_PAID)
    assert cur.escrowed() == amount + 2 * COLLATERAL
    d.assert_solvent(*cur.tokens)


def test_accept_offer_rejects_offer_not_open(d: Deployment) -> None:
    _, offer_id = offer(d)
    with d.env.prank(d.bob.address):
        d.market.withdraw_offer(offer_id)
    with d.env.prank(d.alice.address), boa.reverts("market: offer not open"):
        d.market.accept_offer(offer_id)


def test_accept_offer_rejects_expired_offer(d: Deployment) -> None:
    _, offer_id = offer(d)
    d.env.time_travel(seconds=86_400 + 1)
    with d.env.prank(d.alice.address), boa.reverts("market: offer expired"):
        d.market.accept_offer(offer_id)


@pytest.mark.parametrize("who", ["bob", "carol", "platform"])
def test_accept_offer_rejects_not_seller(d: Deployment, who: str) -> None:
    _, offer_id = offer(d)
    with d.env.prank(getattr(d, who).address), boa.reverts("market: not seller"):
        d.market.accept_offer(offer_id)


def test_accept_offer_rejects_second_offer_once_one_is_accepted(d: Deployment) -> None:
    listing_id, first = offer(d)
    second = d.make_offer(d.carol, listing_id, 2 * PRICE)
    with d.env.prank(d.alice.address):
        d.market.accept_offer(first)
        with boa.reverts("market: listing not active"):
            d.market.accept_offer(second)
    with d.env.prank(d.carol.address):  # the losing buyer gets its escrow back
        d.market.withdraw_offer(second)
    assert d.pending(d.carol) == 2 * PRICE + COLLATERAL
    d.assert_solvent()


@pytest.mark.parametrize("direction", ["higher", "lower"])
def test_accept_counter(d: Deployment, cur: Currency, direction: str) -> None:
    """A higher counter is topped up by the buyer; a lower one leaves the difference owed back to it."""
    amount, counter = (PRICE // 2, PRICE) if direction == "higher" else (PRICE, PRICE // 2)
    listing_id, offer_id = countered(d, amount, counter, cur)
    bob_before = cur.held(d.bob)
    top_up = max(counter - amount, 0)
    with d.env.prank(d.bob.address):
        order_id = d.market.accept_counter(offer_id, counter, value=cur.value(top_up))

    assert_event(d.market, "OfferAccepted", offer_id=offer_id, order_id=1, price=counter)
    assert_event(
        d.market,
        "OrderPaid",
        order_id=1,
        listing_id=listing_id,
        buyer=d.bob.address,
        amount=counter,
        fee_bps=FEE_BPS,
        collateral=COLLATERAL,
        queries=0,
        deadline=d.env.timestamp + DELIVERY_WINDOW,
    )
    assert order_id == 1
    assert d.market.offers(offer_id).state == OFFER_ACCEPTED
    assert d.market.order(1).amount == counter
    assert cur.held(d.bob) == bob_before - top_up
    assert cur.pending(d.bob) == max(amount - counter, 0)
    assert cur.escrowed() == counter + 2 * COLLATERAL
    d.assert_solvent(*cur.tokens)


def test_accept_counter_rejects_offer_not_open(d: Deployment) -> None:
    _, offer_id = countered(d, PRICE, PRICE // 2)
    with d.env.prank(d.alice.address):
        d.market.reject_offer(offer_id)
    with d.env.prank(d.bob.address), boa.reverts("market: offer not open"):
        d.market.accept_counter(offer_id, PRICE // 2)


def test_accept_counter_rejects_expired_offer(d: Deployment) -> None:
    _, offer_id = countered(d, PRICE, PRICE // 2)
    d.env.time_travel(seconds=86_400 + 1)
    with d.env.prank(d.bob.address), boa.reverts("market: offer expired"):
        d.market.accept_counter(offer_id, PRICE // 2)


@pytest.mark.parametrize("who", ["alice", "carol"])
def test_accept_counter_rejects_not_offer_buyer(d: Deployment, who: str) -> None:
    _, offer_id = countered(d, PRICE, PRICE // 2)
    with d.env.prank(getattr(d, who).address), boa.reverts("market: not offer buyer"):
        d.market.accept_counter(offer_id, PRICE // 2)


def test_accept_counter_rejects_offer_without_counter(d: Deployment) -> None:
    _, offer_id = offer(d)
    with d.env.prank(d.bob.address), boa.reverts("market: no counter"):
        d.market.accept_counter(offer_id, 0)


def test_accept_counter_rejects_listing_not_active(d: Deployment) -> None:
    listing_id, offer_id = countered(d, PRICE, PRICE // 2)
    with d.env.prank(d.alice.address):
        d.market.cancel(listing_id)
    with d.env.prank(d.bob.address), boa.reverts("market: listing not active"):
        d.market.accept_counter(offer_id, PRICE // 2)


@pytest.mark.parametrize(("amount", "counter", "value"), [(PRICE // 2, PRICE, 0), (PRICE, PRICE // 2, 1)])
def test_accept_counter_rejects_wrong_value(d: Deployment, amount: int, counter: int, value: int) -> None:
    _, offer_id = countered(d, amount, counter)
    with d.env.prank(d.bob.address), boa.reverts("market: wrong value"):
        d.market.accept_counter(offer_id, counter, value=value)


def test_accept_counter_rejects_ether_top_up_of_a_token_offer(d: Deployment, demo_token: Any) -> None:
    d.approve(demo_token, d.alice)
    d.approve(demo_token, d.bob)
    _, offer_id = countered(d, PRICE // 2, PRICE, Currency(d, demo_token))
    with d.env.prank(d.bob.address), boa.reverts("market: wrong value"):
        d.market.accept_counter(offer_id, PRICE, value=PRICE // 2)


@pytest.mark.parametrize("expected", [PRICE // 2 - 1, PRICE // 2 + 1, PRICE, 0])
def test_accept_counter_rejects_counter_changed(d: Deployment, expected: int) -> None:
    """The buyer names the counter it accepts: any other counter (the seller countered again) is refused."""
    _, offer_id = countered(d, PRICE, PRICE // 2)
    with d.env.prank(d.bob.address), boa.reverts("market: counter changed"):
        d.market.accept_counter(offer_id, expected)


def test_accept_counter_refuses_a_front_running_counter(d: Deployment, demo_token: Any) -> None:
    """A buyer with a standing ERC-20 allowance accepts the counter it read; the seller's higher counter mined
    first makes the acceptance revert instead of charging the new price."""
    d.approve(demo_token, d.alice)
    d.approve(demo_token, d.bob)  # a standing allowance well above the counter
    cur = Currency(d, demo_token)
    _, offer_id = countered(d, PRICE // 2, 3 * PRICE // 4, cur)
    with d.env.prank(d.alice.address):
        d.market.counter_offer(offer_id, 10 * PRICE)  # the front-runner
    held = cur.held(d.bob)
    with d.env.prank(d.bob.address), boa.reverts("market: counter changed"):
        d.market.accept_counter(offer_id, 3 * PRICE // 4)
    assert cur.held(d.bob) == held and d.market.offers(offer_id).state == OFFER_COUNTERED
    d.assert_solvent(*cur.tokens)


@pytest.mark.parametrize("expired", [False, True])
def test_reject_offer_returns_the_escrow(d: Deployment, cur: Currency, expired: bool) -> None:
    listing_id, offer_id = offer(d, PRICE, cur)
    if expired:
        d.env.time_travel(seconds=86_400 + 1)
    with d.env.prank(d.alice.address):
        d.market.reject_offer(offer_id)
    assert_event(d.market, "OfferClosed", offer_id=offer_id, by=d.alice.address, rejected=True)
    assert d.market.offers(offer_id).state == OFFER_REJECTED
    assert cur.pending(d.bob) == PRICE + COLLATERAL
    assert cur.escrowed() == COLLATERAL  # the seller's collateral stays with the listing
    assert d.market.listing(listing_id).state == LISTING_ACTIVE
    d.assert_solvent(*cur.tokens)


@pytest.mark.parametrize("who", ["bob", "carol"])
def test_reject_offer_rejects_not_seller(d: Deployment, who: str) -> None:
    _, offer_id = offer(d)
    with d.env.prank(getattr(d, who).address), boa.reverts("market: not seller"):
        d.market.reject_offer(offer_id)


def test_reject_offer_rejects_offer_not_open(d: Deployment) -> None:
    _, offer_id = offer(d)
    with d.env.prank(d.alice.address):
        d.market.reject_offer(offer_id)
        with boa.reverts("market: offer not open"):
            d.market.reject_offer(offer_id)
    assert d.pending(d.bob) == PRICE + COLLATERAL  # paid back once


@pytest.mark.parametrize("by", ["buyer", "stranger-after-expiry"])
def test_withdraw_offer_returns_the_escrow(d: Deployment, cur: Currency, by: str) -> None:
    _, offer_id = countered(d, PRICE, PRICE * 2, cur)
    caller = d.bob
    if by != "buyer":
        d.env.time_travel(seconds=86_400 + 1)
        caller = d.mallory
    with d.env.prank(caller.address):
        d.market.withdraw_offer(offer_id)
    assert_event(d.market, "OfferClosed", offer_id=offer_id, by=caller.address, rejected=False)
    assert d.market.offers(offer_id).state == OFFER_WITHDRAWN
    assert (cur.pending(d.bob), cur.pending(d.mallory)) == (PRICE + COLLATERAL, 0)
    assert cur.escrowed() == COLLATERAL
    d.assert_solvent(*cur.tokens)


@pytest.mark.parametrize("who", ["alice", "carol", "mallory"])
def test_withdraw_offer_rejects_not_offer_buyer_before_expiry(d: Deployment, who: str) -> None:
    _, offer_id = offer(d)
    d.env.time_travel(seconds=86_400)  # at the expiry: still live
    with d.env.prank(getattr(d, who).address), boa.reverts("market: not offer buyer"):
        d.market.withdraw_offer(offer_id)


def test_withdraw_offer_rejects_offer_not_open(d: Deployment) -> None:
    _, offer_id = offer(d)
    with d.env.prank(d.alice.address):
        d.market.accept_offer(offer_id)
    with d.env.prank(d.bob.address), boa.reverts("market: offer not open"):
        d.market.withdraw_offer(offer_id)


# --- fuzz ---------------------------------------------------------------------------------------------------


@FUZZ
@given(
    amount=st.integers(min_value=1, max_value=10**22),
    counters=st.lists(st.integers(min_value=1, max_value=10**22), min_size=1, max_size=3),
    collateral=st.integers(min_value=0, max_value=10**21),
)
def test_negotiation_top_up_and_change_fuzz(d: Deployment, amount: int, counters: list[int], collateral: int) -> None:
    """After any counters, accepting the last one leaves exactly counter + 2 * collateral in escrow: a higher
    counter is topped up by exactly the difference, a lower one owes the difference back to the buyer."""
    with d.env.anchor():
        token_id = d.publish(d.alice)
        listing_id = d.list_negotiable(d.alice, token_id, amount, collateral, ETHER, **WINDOWS)
        offer_id = d.make_offer(d.bob, listing_id, amount)
        counter = amount
        for candidate in counters:
            with d.env.prank(d.alice.address):
                if candidate == amount:
                    with boa.reverts("market: bad counter"):
                        d.market.counter_offer(offer_id, candidate)
                    continue
                d.market.counter_offer(offer_id, candidate)
            counter = candidate
        if counter == amount:
            return
        bob_before = d.balance(d.bob)
        with d.env.prank(d.bob.address):
            order_id = d.market.accept_counter(offer_id, counter, value=max(counter - amount, 0))
        assert d.balance(d.bob) == bob_before - max(counter - amount, 0)
        assert d.pending(d.bob) == max(amount - counter, 0)
        assert d.market.order(order_id).amount == counter
        assert d.market.escrowed(ETHER) == counter + 2 * collateral
        d.assert_solvent()
