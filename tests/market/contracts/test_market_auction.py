"""Market.vy English auction: `bid` with soft close, `settle`.

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
    LISTING_CLOSED,
    LISTING_PENDING,
    STATUS_SUSPENDED,
    ZERO_ADDRESS,
    Deployment,
    assert_event,
    assert_no_event,
)
from tests.market.contracts.market_helpers import (
    AUCTION_EXTENSION,
    COLLATERAL,
    DELIVERY_WINDOW,
    DURATION,
    FUZZ,
    INCREMENT,
    RESERVE,
    Currency,
    auction,
    call_list,
)

# --- auction: bid / settle ----------------------------------------------------------------------------------


def test_bid_escrows_and_outbid_bidder_is_refunded(d: Deployment, cur: Currency) -> None:
    _, listing_id = auction(d, cur)
    bob_before, carol_before = cur.held(d.bob), cur.held(d.carol)
    with d.env.prank(d.bob.address):
        d.market.bid(listing_id, RESERVE, value=cur.value(RESERVE + COLLATERAL))
    assert_event(
        d.market, "BidPlaced", listing_id=listing_id, bidder=d.bob.address, amount=RESERVE, outbid=ZERO_ADDRESS
    )
    end_time = d.market.auctions(listing_id).end_time
    assert tuple(d.market.auctions(listing_id)) == (end_time, INCREMENT, d.bob.address, RESERVE)
    assert cur.held(d.bob) == bob_before - RESERVE - COLLATERAL
    assert cur.escrowed() == COLLATERAL + RESERVE + COLLATERAL

    second = RESERVE + INCREMENT
    with d.env.prank(d.carol.address):
        d.market.bid(listing_id, second, value=cur.value(second + COLLATERAL))
    assert_event(
        d.market, "BidPlaced", listing_id=listing_id, bidder=d.carol.address, amount=second, outbid=d.bob.address
    )
    assert tuple(d.market.auctions(listing_id)) == (end_time, INCREMENT, d.carol.address, second)
    assert cur.pending(d.bob) == RESERVE + COLLATERAL
    assert cur.held(d.carol) == carol_before - second - COLLATERAL
    assert cur.escrowed() == COLLATERAL + second + COLLATERAL
    d.assert_solvent(*cur.tokens)


def test_bidder_may_raise_its_own_bid(d: Deployment) -> None:
    _, listing_id = auction(d)
    d.bid(d.bob, listing_id, RESERVE)
    d.bid(d.bob, listing_id, RESERVE + INCREMENT)
    assert_event(
        d.market,
        "BidPlaced",
        listing_id=listing_id,
        bidder=d.bob.address,
        amount=RESERVE + INCREMENT,
        outbid=d.bob.address,
    )
    assert d.pending(d.bob) == RESERVE + COLLATERAL


@pytest.mark.parametrize("kind", ["fixed", "negotiated"])
def test_bid_rejects_listing_not_an_auction(d: Deployment, kind: str) -> None:
    listing_id = call_list(d, kind, d.publish(d.alice))
    with d.env.prank(d.bob.address), boa.reverts("market: not an auction"):
        d.market.bid(listing_id, RESERVE, value=RESERVE)


def test_bid_rejects_at_the_auction_end(d: Deployment) -> None:
    _, listing_id = auction(d)
    d.env.time_travel(seconds=DURATION - 1)
    d.bid(d.bob, listing_id, RESERVE)  # last second: the end moves AUCTION_EXTENSION seconds after it
    d.env.time_travel(seconds=AUCTION_EXTENSION)
    with d.env.prank(d.carol.address), boa.reverts("market: auction ended"):
        d.market.bid(listing_id, 2 * RESERVE, value=2 * RESERVE + COLLATERAL)


def test_auction_extension_is_ten_minutes(d: Deployment) -> None:
    assert d.market.AUCTION_EXTENSION() == AUCTION_EXTENSION == 600


@pytest.mark.parametrize("before_end", [1, AUCTION_EXTENSION // 2, AUCTION_EXTENSION - 1])
def test_bid_in_the_last_minutes_extends_the_auction(d: Deployment, before_end: int) -> None:
    """Soft close: a bid less than AUCTION_EXTENSION seconds before the end moves the end to that long after the
    bid, so an outbid bidder can still answer; settling before the new end is refused."""
    _, listing_id = auction(d)
    d.env.time_travel(seconds=DURATION - before_end)
    d.bid(d.bob, listing_id, RESERVE)
    new_end = d.env.timestamp + AUCTION_EXTENSION
    assert_event(d.market, "AuctionExtended", listing_id=listing_id, end_time=new_end)
    assert d.market.auctions(listing_id).end_time == new_end
    d.env.time_travel(seconds=before_end)  # past the original end
    with boa.reverts("market: auction not ended"):
        d.market.settle(listing_id)
    d.bid(d.carol, listing_id, RESERVE + INCREMENT)  # the answer, itself within the window: extends again
    assert_event(d.market, "AuctionExtended", listing_id=listing_id, end_time=d.env.timestamp + AUCTION_EXTENSION)
    d.env.time_travel(seconds=AUCTION_EXTENSION)
    assert d.market.settle(listing_id) == 1
    assert d.market.order(1).buyer == d.carol.address


@pytest.mark.parametrize("before_end", [AUCTION_EXTENSION, AUCTION_EXTENSION + 1, DURATION])
def test_bid_before_the_last_minutes_keeps_the_end(d: Deployment, before_end: int) -> None:
    _, listing_id = auction(d)
    end_time = d.market.auctions(listing_id).end_time
    d.env.time_travel(seconds=DURATION - before_end)
    d.bid(d.bob, listing_id, RESERVE)
    assert_no_event(d.market, "AuctionExtended")
    assert d.market.auctions(listing_id).end_time == end_time


@FUZZ
@given(offsets=st.lists(st.integers(min_value=0, max_value=2 * AUCTION_EXTENSION), min_size=1, max_size=6))
def test_soft_close_fuzz(d: Deployment, offsets: list[int]) -> None:
    """Whatever the bids' timing, the end is never earlier than AUCTION_EXTENSION after the last bid nor earlier
    than the original end, and never moves unless a bid came within AUCTION_EXTENSION of it."""
    with d.env.anchor():
        _, listing_id = auction(d)
        end_time = original_end = d.market.auctions(listing_id).end_time
        d.env.time_travel(seconds=DURATION - AUCTION_EXTENSION)
        amount = RESERVE
        for i, offset in enumerate(offsets):
            if d.env.timestamp + offset >= end_time:
                break
            d.env.time_travel(seconds=offset)
            d.bid((d.bob, d.carol)[i % 2], listing_id, amount)
            if end_time - d.env.timestamp < AUCTION_EXTENSION:
                end_time = d.env.timestamp + AUCTION_EXTENSION
            assert d.market.auctions(listing_id).end_time == end_time
            assert end_time - d.env.timestamp >= AUCTION_EXTENSION and end_time >= original_end
            amount += INCREMENT
        d.env.time_travel(seconds=end_time - d.env.timestamp - 1)
        with boa.reverts("market: auction not ended"):
            d.market.settle(listing_id)
        d.env.time_travel(seconds=1)
        d.market.settle(listing_id)
        d.assert_solvent()


def test_bid_rejects_cancelled_auction(d: Deployment) -> None:
    _, listing_id = auction(d)
    with d.env.prank(d.alice.address):
        d.market.cancel(listing_id)
    with d.env.prank(d.bob.address), boa.reverts("market: listing not active"):
        d.market.bid(listing_id, RESERVE, value=RESERVE + COLLATERAL)


@pytest.mark.parametrize(
    ("who", "message"),
    [("alice", "market: own listing"), ("erin", "market: buyer not audited"), ("mallory", "market: buyer not audited")],
)
def test_bid_rejects_ineligible_bidder(d: Deployment, who: str, message: str) -> None:
    _, listing_id = auction(d)
    with d.env.prank(getattr(d, who).address), boa.reverts(message):
        d.market.bid(listing_id, RESERVE, value=RESERVE + COLLATERAL)


def test_bid_rejects_seller_suspended(d: Deployment) -> None:
    _, listing_id = auction(d)
    d.set_status(d.acme_id, STATUS_SUSPENDED)
    with d.env.prank(d.bob.address), boa.reverts("market: seller not audited"):
        d.market.bid(listing_id, RESERVE, value=RESERVE + COLLATERAL)


def test_bid_rejects_below_reserve(d: Deployment) -> None:
    _, listing_id = auction(d)
    with d.env.prank(d.bob.address), boa.reverts("market: below reserve"):
        d.market.bid(listing_id, RESERVE - 1, value=RESERVE - 1 + COLLATERAL)


@pytest.mark.parametrize("raise_by", [0, INCREMENT - 1])
def test_bid_rejects_raise_below_the_increment(d: Deployment, raise_by: int) -> None:
    _, listing_id = auction(d)
    d.bid(d.bob, listing_id, RESERVE)
    amount = RESERVE + raise_by
    with d.env.prank(d.carol.address), boa.reverts("market: bid too low"):
        d.market.bid(listing_id, amount, value=amount + COLLATERAL)


@pytest.mark.parametrize("value", [RESERVE, RESERVE + COLLATERAL + 1])
def test_bid_rejects_wrong_value(d: Deployment, value: int) -> None:
    _, listing_id = auction(d)
    with d.env.prank(d.bob.address), boa.reverts("market: wrong value"):
        d.market.bid(listing_id, RESERVE, value=value)


def test_bid_rejects_ether_for_a_token_auction(d: Deployment, demo_token: Any) -> None:
    d.approve(demo_token, d.bob)
    _, listing_id = auction(d, Currency(d, demo_token), collateral=0)
    with d.env.prank(d.bob.address), boa.reverts("market: wrong value"):
        d.market.bid(listing_id, RESERVE, value=RESERVE)


def test_bid_rejects_token_returning_false(d: Deployment, false_token: Any) -> None:
    _, listing_id = auction(d, Currency(d, false_token), collateral=0)
    false_token.set_refuse(True)
    with d.env.prank(d.bob.address), boa.reverts("escrow: token transfer failed"):
        d.market.bid(listing_id, RESERVE)


def test_settle_turns_the_highest_bid_into_an_order(d: Deployment, cur: Currency) -> None:
    token_id, listing_id = auction(d, cur)
    d.bid(d.bob, listing_id, RESERVE)
    d.bid(d.carol, listing_id, RESERVE + INCREMENT)
    d.env.time_travel(seconds=DURATION)  # exactly at the end
    with d.env.prank(d.mallory.address):
        order_id = d.market.settle(listing_id)

    amount = RESERVE + INCREMENT
    assert_event(d.market, "AuctionSettled", listing_id=listing_id, winner=d.carol.address, amount=amount, order_id=1)
    assert_event(
        d.market,
        "OrderPaid",
        order_id=1,
        listing_id=listing_id,
        buyer=d.carol.address,
        amount=amount,
        fee_bps=FEE_BPS,
        collateral=COLLATERAL,
        queries=0,
        deadline=d.env.timestamp + DELIVERY_WINDOW,
    )
    assert order_id == 1
    assert d.market.listing(listing_id).state == LISTING_PENDING
    assert (d.market.order(1).buyer, d.market.order(1).amount) == (d.carol.address, amount)
    assert cur.escrowed() == amount + 2 * COLLATERAL
    assert cur.pending(d.bob) == RESERVE + COLLATERAL
    assert d.catalog.ownerOf(token_id) == d.market.address
    d.assert_solvent(*cur.tokens)


def test_settle_without_bids_closes_and_returns_token_and_collateral(d: Deployment, cur: Currency) -> None:
    token_id, listing_id = auction(d, cur)
    d.env.time_travel(seconds=DURATION)
    with d.env.prank(d.mallory.address):
        order_id = d.market.settle(listing_id)
    assert_event(d.market, "AuctionSettled", listing_id=listing_id, winner=ZERO_ADDRESS, amount=0, order_id=0)
    assert_no_event(d.market, "OrderPaid")
    assert order_id == 0
    assert d.market.listing(listing_id).state == LISTING_CLOSED
    assert d.catalog.ownerOf(token_id) == d.alice.address
    assert (cur.pending(d.alice), cur.escrowed()) == (COLLATERAL, 0)
    d.assert_solvent(*cur.tokens)


@pytest.mark.parametrize("kind", ["fixed", "negotiated"])
def test_settle_rejects_listing_not_an_auction(d: Deployment, kind: str) -> None:
    listing_id = call_list(d, kind, d.publish(d.alice))
    with boa.reverts("market: not an auction"):
        d.market.settle(listing_id)


def test_settle_rejects_listing_not_active(d: Deployment) -> None:
    _, listing_id = auction(d)
    d.bid(d.bob, listing_id, RESERVE)
    d.env.time_travel(seconds=DURATION)
    d.market.settle(listing_id)
    with boa.reverts("market: listing not active"):
        d.market.settle(listing_id)


def test_settle_rejects_before_the_end(d: Deployment) -> None:
    _, listing_id = auction(d)
    d.env.time_travel(seconds=DURATION - 1)
    with boa.reverts("market: auction not ended"):
        d.market.settle(listing_id)


# --- fuzz ---------------------------------------------------------------------------------------------------


@FUZZ
@given(
    bids=st.lists(
        st.tuples(st.sampled_from(["bob", "carol", "alice", "erin"]), st.integers(min_value=-2, max_value=3)),
        min_size=1,
        max_size=8,
    ),
    collateral=st.sampled_from([0, COLLATERAL]),
)
def test_auction_bid_sequence_fuzz(d: Deployment, bids: list[tuple[str, int]], collateral: int) -> None:
    """Any sequence of bids: each is accepted iff eligible, at least the reserve and at least the highest
    plus the increment; outbid escrow becomes withdrawable; settle makes an order of the highest bid."""
    with d.env.anchor():
        _, listing_id = auction(d, collateral=collateral)
        highest: tuple[str, int] | None = None
        owed = {"bob": 0, "carol": 0}
        for who, step in bids:
            # steps -2..3 around the smallest acceptable bid: below it, at it, or 1..3 increments above
            floor = RESERVE if highest is None else highest[1] + INCREMENT
            amount = floor - 1 if step < 0 else floor + step * INCREMENT
            if step == -2 and highest is not None:
                amount = highest[1] + INCREMENT // 2
            bidder = getattr(d, who)
            expected_error = None
            if who == "alice":
                expected_error = "market: own listing"
            elif who == "erin":
                expected_error = "market: buyer not audited"
            elif highest is None and amount < RESERVE:
                expected_error = "market: below reserve"
            elif highest is not None and amount < highest[1] + INCREMENT:
                expected_error = "market: bid too low" if amount >= RESERVE else "market: below reserve"
            if expected_error:
                with d.env.prank(bidder.address), boa.reverts(expected_error):
                    d.market.bid(listing_id, amount, value=amount + collateral)
                continue
            d.bid(bidder, listing_id, amount)
            if highest is not None:
                owed[highest[0]] += highest[1] + collateral
            highest = (who, amount)
            assert d.market.auctions(listing_id).highest_bid == amount
        for who, amount in owed.items():
            assert d.pending(getattr(d, who)) == amount
        held = 0 if highest is None else highest[1] + collateral
        assert d.market.escrowed(ETHER) == collateral + held
        d.assert_solvent()
        d.env.time_travel(seconds=DURATION)
        order_id = d.market.settle(listing_id)
        if highest is None:
            assert order_id == 0
            assert d.pending(d.alice) == collateral
        else:
            order = d.market.order(order_id)
            assert (order.buyer, order.amount) == (getattr(d, highest[0]).address, highest[1])
        d.assert_solvent()
